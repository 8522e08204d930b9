"""One table of Mellanox device ids (host/pciids.MLX) serves discovery, lspci and the planner;
these checks pin what each reads from it to the ids formats.md §5.8 names."""

from __future__ import annotations

from dualnet.host import pciids
from dualnet.parse.lspci import parse_lspci


def test_lspci_names_map_to_their_ids() -> None:
    # Spellings plain `lspci` prints (pci.ids), read off real captures in tests/corpus.
    assert pciids.mlx_device_id_from_lspci("ConnectX-7") == "1021"
    assert pciids.mlx_device_id_from_lspci("ConnectX-4 Lx Virtual Function") == "1016"
    assert pciids.mlx_device_id_from_lspci("ConnectX Family mlx5Gen Virtual Function") == "101e"
    assert (
        pciids.mlx_device_id_from_lspci(
            "MT43244 BlueField-3 integrated ConnectX-7 network controller"
        )
        == "a2dc"
    )
    assert pciids.mlx_device_id_from_lspci("ConnectX-42") is None


def test_every_lspci_name_is_a_known_device_of_the_same_kind() -> None:
    for device_id, dev in pciids.MLX.items():
        if dev.lspci_name is None:
            continue
        assert pciids.mlx_device_id_from_lspci(dev.lspci_name) == device_id
        assert dev.is_vf == ("Virtual Function" in dev.lspci_name), device_id


def test_vf_ids_are_vfs_and_pfs_have_them() -> None:
    for device_id, dev in pciids.MLX.items():
        if dev.vf_id is not None:
            assert not dev.is_vf and pciids.MLX[dev.vf_id].is_vf, device_id
    assert pciids.mlx_vf_id("1021") == "101e" and pciids.mlx_vf_id("1017") == "1018"


def test_lspci_reads_the_id_from_the_shared_table() -> None:
    line = "0000:01:00.0 Ethernet controller: Mellanox Technologies MT2910 Family [ConnectX-7]"
    (nic,) = parse_lspci(line).nics
    assert (nic.vendor_id, nic.device_id, nic.model) == ("15b3", "1021", "ConnectX-7")
