"""The GH200 guide's node, shared by the doctor, parse and plan/render tests: as a HostReport
(`gh200_report`) and as the step-1 tool outputs a user would save (`GH200_OUTPUTS`).

The values are the ones seeds/gh200-dual-network-rdma-guide.txt prints in step 1 (`ip a`,
`lspci`, `rdma link`, `ibv_devinfo`, `show_gids`, `nvidia-smi topo -m`): two ConnectX-7 ports,
enp1s0f0np0 (mlx5_0, ACTIVE, holding the management address and default route) and enp1s0f1np1
(mlx5_1, DOWN), one GH200 GPU at NODE distance from both. What a test area adds on top (its
hostname, the loaded modules, the CNI directory) it passes as `changes`, so the NIC/RDMA facts
live in one place.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

from dualnet.host.models import (
    Gid,
    Gpu,
    HostReport,
    LinkLayer,
    ManagementInterface,
    NetnsMode,
    Nic,
    PciRelation,
    PhysState,
    PortState,
    RdmaDevice,
    RdmaPort,
    TopoEntry,
)

P0, P1 = "enp1s0f0np0", "enp1s0f1np1"

CORPUS = Path(__file__).resolve().parent / "corpus"
# The guide's step-1 outputs (tests/corpus), under the names `--from DIR` reads.
GH200_OUTPUTS = {
    "ibv_devinfo.txt": "ibv_devinfo/gh200-cx7-host.txt",
    "rdma_link.txt": "rdma_link/gh200-cx7.txt",
    "rdma_system.txt": "rdma_system/gh200-shared.txt",
    "lsmod.txt": "lsmod/gh200-mofed.txt",
    "nvidia-smi_topo.txt": "nvidia-smi_topo/gh200-1gpu-2nic.txt",
    "lspci.txt": "lspci/gh200.txt",
    "ip_addr.txt": "ip_addr/gh200-host.txt",
}

# A second folder: an 8-HCA InfiniBand node's ibdev2netdev and switchdev/SR-IOV captures.
OTHER_OUTPUTS = {
    "ibdev2netdev.txt": "ibdev2netdev/ANNOTATED-column-t-h100-8x-cx7-ib-plus-2x-cx6-eth.txt",
    "rdma_link.txt": "rdma_link/gb10-cx7-roce-named-devs-2-down.txt",
    "ip_link.txt": "ip_link/cx-switchdev-uplink-and-two-vf-representors-portname-pf0vf0-pf1vf0.txt",
    "devlink_port.txt": "devlink_port/mlx5-sf-port-json-kernel-commit-b8288837.txt",
    "show_gids.txt": "show_gids/cx4-vpi-port-eth-plus-port-ib-no-netdev.txt",
}


def outputs_dir(dest: Path, files: dict[str, str]) -> Path:
    """A user's `--from` folder: each corpus file `files[name]` copied to `dest/name`."""
    dest.mkdir(parents=True, exist_ok=True)
    for name, rel in files.items():
        shutil.copyfile(CORPUS / rel, dest / name)
    return dest


def gids(mac_tail: str, ipv4: str | None, netdev: str) -> list[Gid]:
    """The GID table mlx5 builds for a port: link-local v1/v2, then IPv4-mapped v1/v2."""
    table = [
        Gid(index=0, gid=f"fe80:0000:0000:0000:{mac_tail}", type="IB/RoCE v1", netdev=netdev),
        Gid(index=1, gid=f"fe80:0000:0000:0000:{mac_tail}", type="RoCE v2", netdev=netdev),
    ]
    if ipv4:
        a, b, c, d = (int(x) for x in ipv4.split("."))
        mapped = f"0000:0000:0000:0000:0000:ffff:{a:02x}{b:02x}:{c:02x}{d:02x}"
        table += [
            Gid(index=2, gid=mapped, ipv4=ipv4, type="IB/RoCE v1", netdev=netdev),
            Gid(index=3, gid=mapped, ipv4=ipv4, type="RoCE v2", netdev=netdev),
        ]
    return table


def _nic(function: int, netdev: str, mac: str, operstate: str, rdma: str) -> Nic:
    return Nic(
        pci_address=f"0000:01:00.{function}", vendor_id="15b3", device_id="1021",
        pci_class="0x020000", model="ConnectX-7", driver="mlx5_core", netdev=netdev,
        netdevs=[netdev], mac=mac, mtu=1500, operstate=operstate, link_type="ether",
        numa_node=0, sriov_totalvfs=16, sriov_numvfs=0, rdma_devices=[rdma],
    )


def _rdma(index: int, netdev: str, port: RdmaPort) -> RdmaDevice:
    return RdmaDevice(
        name=f"mlx5_{index}", pci_address=f"0000:01:00.{index}", driver="mlx5_ib",
        fw_ver="28.40.1000", vendor_part_id=4129, netdevs=[netdev], ports=[port],
        char_devices=[f"uverbs{index}", f"umad{index}", f"issm{index}"],
    )


def gh200_report(**changes: Any) -> HostReport:
    """The guide's node; `changes` replace top-level fields (hostname, modules, cni, ...)."""
    p0 = RdmaPort(
        number=1, state=PortState.ACTIVE, phys_state=PhysState.LINK_UP,
        link_layer=LinkLayer.ETHERNET, netdev=P0, max_mtu=4096, active_mtu=1024,
        gids=gids("a288:c2ff:fea7:5cd4", "66.42.90.253", P0), roce_v2_ipv4_gid_index=3,
    )
    p1 = RdmaPort(
        number=1, state=PortState.DOWN, phys_state=PhysState.DISABLED,
        link_layer=LinkLayer.ETHERNET, netdev=P1, max_mtu=4096, active_mtu=1024,
        gids=gids("a288:c2ff:fea7:5cd5", None, P1),
    )
    report = HostReport(
        hostname="gh200",
        source="synthetic",
        kernel="6.8.0-1050-nvidia-64k",
        arch="aarch64",
        nics=[_nic(0, P0, "a0:88:c2:a7:5c:d4", "up", "mlx5_0"),
              _nic(1, P1, "a0:88:c2:a7:5c:d5", "down", "mlx5_1")],
        rdma_devices=[_rdma(0, P0, p0), _rdma(1, P1, p1)],
        netns_mode=NetnsMode.SHARED,
        gpus=[Gpu(index=0, pci_address="0009:01:00.0", device_id="2342",
                  name="NVIDIA GH200 480GB", numa_node=0, local_cpulist="0-71")],
        topology=[TopoEntry(gpu="GPU0", nic="mlx5_0", relation=PciRelation.NODE),
                  TopoEntry(gpu="GPU0", nic="mlx5_1", relation=PciRelation.NODE)],
        infiniband_char_devices=["rdma_cm", "uverbs0", "uverbs1", "umad0", "umad1"],
        management=ManagementInterface(name=P0, addresses=["66.42.90.253/23"],
                                       gateway="66.42.90.1"),
    )
    return dataclasses.replace(report, **changes)
