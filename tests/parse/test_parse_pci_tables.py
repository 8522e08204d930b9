"""lspci's pci.ids-name table and host/pciids.py name the same Mellanox ids: they must agree.

The lspci table is keyed by pci.ids' own bracketed spelling ("... Virtual Function") and lists
only names pci.ids prints, so it is not derived from pciids (that would add guesses); this test
keeps the two from drifting apart instead.
"""

from __future__ import annotations

from dualnet.host import pciids
from dualnet.parse import lspci


def _pciids_spelling(device_id: str) -> str:
    model, is_vf = pciids.MLX_DEVICES[device_id]
    return model[: -len(" VF")] + " Virtual Function" if is_vf else model


def test_every_lspci_model_names_the_pciids_device() -> None:
    table = lspci._MELLANOX_MODELS
    assert table, "lspci has no Mellanox model table"
    for name, device_id in table.items():
        assert device_id in pciids.MLX_DEVICES, f"{name}: {device_id} unknown to pciids"
        assert _pciids_spelling(device_id) == name


def test_integrated_parts_are_known_devices() -> None:
    for part, device_id in lspci._MELLANOX_PARTS.items():
        model, _ = pciids.MLX_DEVICES[device_id]
        assert model.split()[0] in part  # "BlueField-2" in "MT42822 BlueField-2 integrated ..."
