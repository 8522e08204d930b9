"""PCI ids dualnet names: Mellanox/NVIDIA NICs (formats.md section 5.8, from pci.ids and the
mlx5_core id table), a few common non-RDMA NICs, and NVIDIA data-center GPUs."""

from __future__ import annotations

from dataclasses import dataclass

MELLANOX = "15b3"
NVIDIA = "10de"
INTEL = "8086"


@dataclass(frozen=True)
class MlxDevice:
    """One Mellanox/NVIDIA PCI device id, as every layer names it."""

    model: str  # dualnet's short name: "ConnectX-7", "ConnectX-4 VF"
    is_vf: bool = False
    # How plain `lspci` prints it (pci.ids): the bracketed model, or the whole name for the
    # BlueField integrated functions that have no brackets. None: pci.ids prints no name.
    lspci_name: str | None = None
    vf_id: str | None = None  # the device id of this PF's SR-IOV VFs


# The one table of Mellanox device ids (formats.md section 5.8, pci.ids, mlx5_core's id table).
# Every generation from ConnectX-6 Dx on shares the generic mlx5Gen VF id 101e.
MLX: dict[str, MlxDevice] = {
    "1003": MlxDevice("ConnectX-3", lspci_name="ConnectX-3"),
    "1007": MlxDevice("ConnectX-3 Pro", lspci_name="ConnectX-3 Pro"),
    "1004": MlxDevice("ConnectX-3 VF", True, "ConnectX-3 Virtual Function"),
    "1011": MlxDevice("Connect-IB", lspci_name="Connect-IB", vf_id="1012"),
    "1012": MlxDevice("Connect-IB VF", True, "Connect-IB Virtual Function"),
    "1013": MlxDevice("ConnectX-4", lspci_name="ConnectX-4", vf_id="1014"),
    "1014": MlxDevice("ConnectX-4 VF", True, "ConnectX-4 Virtual Function"),
    "1015": MlxDevice("ConnectX-4 Lx", lspci_name="ConnectX-4 Lx", vf_id="1016"),
    "1016": MlxDevice("ConnectX-4 Lx VF", True, "ConnectX-4 Lx Virtual Function"),
    "1017": MlxDevice("ConnectX-5", lspci_name="ConnectX-5", vf_id="1018"),
    "1018": MlxDevice("ConnectX-5 VF", True, "ConnectX-5 Virtual Function"),
    "1019": MlxDevice("ConnectX-5 Ex", lspci_name="ConnectX-5 Ex", vf_id="101a"),
    "101a": MlxDevice("ConnectX-5 Ex VF", True, "ConnectX-5 Ex Virtual Function"),
    "101b": MlxDevice("ConnectX-6", lspci_name="ConnectX-6", vf_id="101c"),
    "101c": MlxDevice("ConnectX-6 VF", True, "ConnectX-6 Virtual Function"),
    "101d": MlxDevice("ConnectX-6 Dx", lspci_name="ConnectX-6 Dx", vf_id="101e"),
    "101e": MlxDevice(
        "ConnectX Family mlx5Gen VF", True, "ConnectX Family mlx5Gen Virtual Function"
    ),
    "101f": MlxDevice("ConnectX-6 Lx", lspci_name="ConnectX-6 Lx", vf_id="101e"),
    "1021": MlxDevice("ConnectX-7", lspci_name="ConnectX-7", vf_id="101e"),
    "1023": MlxDevice("ConnectX-8", lspci_name="ConnectX-8", vf_id="101e"),
    "1025": MlxDevice("ConnectX-9", vf_id="101e"),
    "1027": MlxDevice("ConnectX-10", vf_id="101e"),
    "a2d2": MlxDevice("BlueField"),
    "a2d3": MlxDevice("BlueField VF", True),
    "a2d6": MlxDevice(
        "BlueField-2",
        lspci_name="MT42822 BlueField-2 integrated ConnectX-6 Dx network controller",
        vf_id="101e",
    ),
    "a2dc": MlxDevice(
        "BlueField-3",
        lspci_name="MT43244 BlueField-3 integrated ConnectX-7 network controller",
        vf_id="101e",
    ),
    "a2d9": MlxDevice("BlueField-3 Lx"),
    "a2df": MlxDevice("BlueField-4"),
}
_BY_LSPCI_NAME = {d.lspci_name: dev_id for dev_id, d in MLX.items() if d.lspci_name}


def mlx_device_id_from_lspci(name: str) -> str | None:
    """Device id of a Mellanox function from the model name plain `lspci` printed."""
    return _BY_LSPCI_NAME.get(name)


def mlx_vf_id(pf_device: str) -> str | None:
    """Device id the SR-IOV VFs of a Mellanox PF get, when the PF has VFs."""
    hit = MLX.get(pf_device)
    return hit.vf_id if hit else None


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
        hit = MLX.get(device)
        return hit.model if hit else None
    return OTHER_NICS.get((vendor, device))


# PFs whose eswitch offloads OVS flows (ASAP2): ConnectX-5 and later, and the BlueField DPUs
# built on ConnectX-6 Dx / ConnectX-7 (the Network Operator notes: "Starting from ConnectX-5";
# the OVN-Kubernetes and Antrea offload guides: ConnectX-5, ConnectX-6 Dx, "ConnectX-5 and
# above"). ConnectX-4 Lx has a switchdev mode but neither guide lists it for OVS offload.
OVS_OFFLOAD_PFS = frozenset({
    "1017", "1019", "101b", "101d", "101f", "1021", "1023", "1025", "1027", "a2d6", "a2dc",
})


def mlx_ovs_offload(device: str) -> bool:
    """True for a Mellanox PF device id whose eswitch can offload OVS (ASAP2)."""
    return device in OVS_OFFLOAD_PFS


def mlx_is_vf(device: str) -> bool:
    hit = MLX.get(device)
    return bool(hit and hit.is_vf)


def gpu_name(vendor: str, device: str) -> str | None:
    if vendor != NVIDIA:
        return None
    return GPUS.get(device)
