"""PCI ids dualnet names: Mellanox/NVIDIA NICs (formats.md section 5.8, from pci.ids and the
mlx5_core id table), a few common non-RDMA NICs, and NVIDIA data-center GPUs."""

from __future__ import annotations

MELLANOX = "15b3"
NVIDIA = "10de"
INTEL = "8086"

# device id -> (model, is_vf)
MLX_DEVICES: dict[str, tuple[str, bool]] = {
    "1003": ("ConnectX-3", False),
    "1007": ("ConnectX-3 Pro", False),
    "1004": ("ConnectX-3 VF", True),
    "1011": ("Connect-IB", False),
    "1012": ("Connect-IB VF", True),
    "1013": ("ConnectX-4", False),
    "1014": ("ConnectX-4 VF", True),
    "1015": ("ConnectX-4 Lx", False),
    "1016": ("ConnectX-4 Lx VF", True),
    "1017": ("ConnectX-5", False),
    "1018": ("ConnectX-5 VF", True),
    "1019": ("ConnectX-5 Ex", False),
    "101a": ("ConnectX-5 Ex VF", True),
    "101b": ("ConnectX-6", False),
    "101c": ("ConnectX-6 VF", True),
    "101d": ("ConnectX-6 Dx", False),
    "101e": ("ConnectX Family mlx5Gen VF", True),
    "101f": ("ConnectX-6 Lx", False),
    "1021": ("ConnectX-7", False),
    "1023": ("ConnectX-8", False),
    "1025": ("ConnectX-9", False),
    "1027": ("ConnectX-10", False),
    "a2d2": ("BlueField", False),
    "a2d3": ("BlueField VF", True),
    "a2d6": ("BlueField-2", False),
    "a2dc": ("BlueField-3", False),
    "a2d9": ("BlueField-3 Lx", False),
    "a2df": ("BlueField-4", False),
}

OTHER_NICS: dict[tuple[str, str], str] = {
    (INTEL, "1572"): "Ethernet Controller X710 for 10GbE SFP+",
    (INTEL, "154d"): "Ethernet 10G 2P X520 Adapter",
    (INTEL, "1521"): "I350 Gigabit Network Connection",
    (INTEL, "1592"): "Ethernet Controller E810-C for QSFP",
    (INTEL, "159b"): "Ethernet Controller E810-C for SFP",
    (INTEL, "154c"): "Ethernet Virtual Function 700 Series",
    ("14e4", "1750"): "BCM57508 NetXtreme-E 100G",
}

GPUS: dict[str, str] = {
    "2342": "GH200 120GB / 480GB",
    "2348": "GH200 144GB HBM3e",
    "2330": "H100 SXM5 80GB",
    "2331": "H100 PCIe",
    "2335": "H200 SXM 141GB",
    "233b": "H200 NVL",
    "2322": "H800 PCIe",
    "20b0": "A100 SXM4 40GB",
    "20b2": "A100 SXM4 80GB",
    "20b5": "A100 PCIe 80GB",
    "2901": "B200",
    "26b5": "L40",
    "26b9": "L40S",
}


def nic_model(vendor: str, device: str) -> str | None:
    """Model name of a NIC from its ids (lowercase hex, no 0x), or None when unknown."""
    if vendor == MELLANOX:
        hit = MLX_DEVICES.get(device)
        return hit[0] if hit else None
    return OTHER_NICS.get((vendor, device))


def mlx_is_vf(device: str) -> bool:
    hit = MLX_DEVICES.get(device)
    return bool(hit and hit[1])


def gpu_name(vendor: str, device: str) -> str | None:
    if vendor != NVIDIA:
        return None
    return GPUS.get(device)
