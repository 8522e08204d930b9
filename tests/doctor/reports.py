"""HostReports built from real values, for rules whose fixture trees/parsers are not the subject.

`gh200()` carries the values the GH200 guide shows (seeds/gh200-dual-network-rdma-guide.txt,
step 1: `ip a`, `lsmod`, `rdma link`, `ibv_devinfo`, `rdma system`, `nvidia-smi topo -m`).
Each test changes one fact of it, so every rule is seen firing and not firing on the same node.
"""

from __future__ import annotations

from dualnet.host.models import (
    CniConfigFile,
    CniState,
    Gid,
    Gpu,
    HostReport,
    KernelModule,
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

GH200_MODULES = [
    # `lsmod | grep -E 'rdma|ib_|mlx'` as the guide prints it; the used-by column names
    # nvidia_peermem, rdma_ucm and ib_umad although their own lines are not shown.
    KernelModule(name="mlx5_ib", loaded=True, refcount=0),
    KernelModule(
        name="ib_uverbs", loaded=True, refcount=3, used_by=["nvidia_peermem", "rdma_ucm", "mlx5_ib"]
    ),
    KernelModule(
        name="ib_core",
        loaded=True,
        refcount=8,
        used_by=[
            "rdma_cm",
            "ib_ipoib",
            "iw_cm",
            "ib_umad",
            "rdma_ucm",
            "ib_uverbs",
            "mlx5_ib",
            "ib_cm",
        ],
    ),
    KernelModule(name="mlx5_core", loaded=True, refcount=1, used_by=["mlx5_ib"]),
]


def _gids(mac_tail: str, ipv4: str | None, netdev: str) -> list[Gid]:
    gids = [
        Gid(index=0, gid=f"fe80:0000:0000:0000:{mac_tail}", type="IB/RoCE v1", netdev=netdev),
        Gid(index=1, gid=f"fe80:0000:0000:0000:{mac_tail}", type="RoCE v2", netdev=netdev),
    ]
    if ipv4:
        a, b, c, d = (int(x) for x in ipv4.split("."))
        mapped = f"0000:0000:0000:0000:0000:ffff:{a:02x}{b:02x}:{c:02x}{d:02x}"
        gids += [
            Gid(index=2, gid=mapped, ipv4=ipv4, type="IB/RoCE v1", netdev=netdev),
            Gid(index=3, gid=mapped, ipv4=ipv4, type="RoCE v2", netdev=netdev),
        ]
    return gids


def gh200(**changes: object) -> HostReport:
    p0 = RdmaPort(
        number=1,
        state=PortState.ACTIVE,
        phys_state=PhysState.LINK_UP,
        link_layer=LinkLayer.ETHERNET,
        netdev="enp1s0f0np0",
        max_mtu=4096,
        active_mtu=1024,
        gids=_gids("a288:c2ff:fea7:5cd4", "66.42.90.253", "enp1s0f0np0"),
        roce_v2_ipv4_gid_index=3,
    )
    p1 = RdmaPort(
        number=1,
        state=PortState.DOWN,
        phys_state=PhysState.DISABLED,
        link_layer=LinkLayer.ETHERNET,
        netdev="enp1s0f1np1",
        max_mtu=4096,
        active_mtu=1024,
        gids=_gids("a288:c2ff:fea7:5cd5", None, "enp1s0f1np1"),
    )
    report = HostReport(
        hostname="guest",
        source="synthetic",
        kernel="6.8.0-1050-nvidia-64k",
        arch="aarch64",
        nics=[
            Nic(
                pci_address="0000:01:00.0",
                vendor_id="15b3",
                device_id="1021",
                model="ConnectX-7",
                driver="mlx5_core",
                netdev="enp1s0f0np0",
                netdevs=["enp1s0f0np0"],
                mac="a0:88:c2:a7:5c:d4",
                mtu=1500,
                operstate="up",
                link_type="ether",
                numa_node=0,
                sriov_totalvfs=16,
                sriov_numvfs=0,
                rdma_devices=["mlx5_0"],
            ),
            Nic(
                pci_address="0000:01:00.1",
                vendor_id="15b3",
                device_id="1021",
                model="ConnectX-7",
                driver="mlx5_core",
                netdev="enp1s0f1np1",
                netdevs=["enp1s0f1np1"],
                mac="a0:88:c2:a7:5c:d5",
                mtu=1500,
                operstate="down",
                link_type="ether",
                numa_node=0,
                sriov_totalvfs=16,
                sriov_numvfs=0,
                rdma_devices=["mlx5_1"],
            ),
        ],
        rdma_devices=[
            RdmaDevice(
                name="mlx5_0",
                pci_address="0000:01:00.0",
                driver="mlx5_ib",
                fw_ver="28.40.1000",
                vendor_part_id=4129,
                netdevs=["enp1s0f0np0"],
                ports=[p0],
                char_devices=["uverbs0", "umad0", "issm0"],
            ),
            RdmaDevice(
                name="mlx5_1",
                pci_address="0000:01:00.1",
                driver="mlx5_ib",
                fw_ver="28.40.1000",
                vendor_part_id=4129,
                netdevs=["enp1s0f1np1"],
                ports=[p1],
                char_devices=["uverbs1", "umad1", "issm1"],
            ),
        ],
        modules=list(GH200_MODULES),
        netns_mode=NetnsMode.SHARED,
        gpus=[Gpu(index=0, pci_address="0009:01:00.0", device_id="2342", numa_node=0)],
        topology=[
            TopoEntry(gpu="GPU0", nic="mlx5_0", relation=PciRelation.NODE),
            TopoEntry(gpu="GPU0", nic="mlx5_1", relation=PciRelation.NODE),
        ],
        infiniband_char_devices=["rdma_cm", "uverbs0", "uverbs1", "umad0", "umad1"],
        management=ManagementInterface(
            name="enp1s0f0np0", addresses=["66.42.90.253/23"], gateway="66.42.90.1"
        ),
        cni=CniState(
            bin_dirs=["/opt/cni/bin"],
            plugins=[
                "bandwidth",
                "bridge",
                "flannel",
                "host-device",
                "host-local",
                "loopback",
                "macvlan",
                "multus-shim",
                "portmap",
            ],
            conf_dir="/etc/cni/net.d",
            conf_files=[
                CniConfigFile(
                    name="00-multus.conf",
                    kind="conf",
                    network_name="multus-cni-network",
                    plugin_types=["multus-shim"],
                ),
                CniConfigFile(
                    name="10-flannel.conflist",
                    kind="conflist",
                    network_name="cbr0",
                    plugin_types=["flannel", "portmap"],
                ),
            ],
            k3s_flannel_builtin=False,
        ),
    )
    return report.model_copy(update=changes)
