"""Hand-built HostReports with real values.

`gh200()` is the node of the GH200 guide (tests/gh200_report.py) with every RDMA module loaded
and the standard CNI plugins installed. `gpu_node()` is a production-style node: management on an
onboard Intel port, a dedicated ConnectX-7 RoCE port and a ConnectX-7 InfiniBand port, both
SR-IOV capable (ids and sysfs formats from formats.md section 5)."""

from __future__ import annotations

from dualnet.host.models import (
    CniState,
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
    Route,
    TopoEntry,
)
from tests.gh200_report import gh200_report

LOADED = ["mlx5_core", "mlx5_ib", "ib_core", "ib_uverbs", "ib_umad", "rdma_ucm", "rdma_cm",
          "ib_cm", "iw_cm", "ib_ipoib", "nvidia_peermem"]
PLUGINS = ["bandwidth", "bridge", "dhcp", "firewall", "flannel", "host-device", "host-local",
           "ipvlan", "loopback", "macvlan", "portmap", "ptp", "sbr", "static", "tuning", "vlan",
           "vrf"]


def _modules(names: list[str]) -> list[KernelModule]:
    return [KernelModule(name=n, loaded=True) for n in names]


def gh200() -> HostReport:
    return gh200_report(
        modules=_modules(LOADED),
        routes=[Route(interface="enp1s0f0np0", destination="0.0.0.0", gateway="66.42.90.1",
                      mask="0.0.0.0")],
        memlock_kb=8192,
        cni=CniState(bin_dirs=["/opt/cni/bin"], plugins=PLUGINS, conf_dir="/etc/cni/net.d"),
    )


def gpu_node(n: int = 1, *, mtu: int = 9000) -> HostReport:
    roce = "ens1f0np0"
    ib = "ibp59s0"
    return HostReport(
        hostname=f"gpu-node-{n}",
        source="synthetic",
        kernel="6.8.0-60-generic",
        arch="x86_64",
        nics=[
            Nic(pci_address="0000:05:00.0", vendor_id="8086", device_id="1521",
                pci_class="0x020000", model="I350", driver="igb", netdev="eno1",
                netdevs=["eno1"], mtu=1500, operstate="up", link_type="ether", numa_node=0),
            Nic(pci_address="0000:17:00.0", vendor_id="15b3", device_id="1021",
                pci_class="0x020000", model="ConnectX-7", driver="mlx5_core", netdev=roce,
                netdevs=[roce], mtu=mtu, operstate="up", link_type="ether", numa_node=0,
                sriov_totalvfs=16, sriov_numvfs=0, rdma_devices=["mlx5_0"]),
            Nic(pci_address="0000:3b:00.0", vendor_id="15b3", device_id="1021",
                pci_class="0x020700", model="ConnectX-7", driver="mlx5_core", netdev=ib,
                netdevs=[ib], mtu=4092, operstate="up", link_type="infiniband", numa_node=0,
                sriov_totalvfs=16, sriov_numvfs=0, rdma_devices=["mlx5_1"]),
        ],
        rdma_devices=[
            RdmaDevice(name="mlx5_0", pci_address="0000:17:00.0", driver="mlx5_ib",
                       vendor_part_id=4129, netdevs=[roce],
                       ports=[RdmaPort(number=1, state=PortState.ACTIVE,
                                       phys_state=PhysState.LINK_UP,
                                       link_layer=LinkLayer.ETHERNET, netdev=roce,
                                       max_mtu=4096, active_mtu=4096,
                                       roce_v2_ipv4_gid_index=3)]),
            RdmaDevice(name="mlx5_1", pci_address="0000:3b:00.0", driver="mlx5_ib",
                       vendor_part_id=4129, netdevs=[ib],
                       ports=[RdmaPort(number=1, state=PortState.ACTIVE,
                                       phys_state=PhysState.LINK_UP,
                                       link_layer=LinkLayer.INFINIBAND, netdev=ib,
                                       max_mtu=4096, active_mtu=4096, lid=12, sm_lid=1)]),
        ],
        modules=_modules(LOADED),
        netns_mode=NetnsMode.SHARED,
        gpus=[Gpu(index=0, pci_address="0000:18:00.0", device_id="2335", name="NVIDIA H200",
                  numa_node=0)],
        topology=[TopoEntry(gpu="GPU0", nic="mlx5_0", relation=PciRelation.PIX),
                  TopoEntry(gpu="GPU0", nic="mlx5_1", relation=PciRelation.NODE)],
        management=ManagementInterface(name="eno1", addresses=[f"10.0.0.1{n}/24"],
                                       gateway="10.0.0.254"),
        routes=[Route(interface="eno1", destination="0.0.0.0", gateway="10.0.0.254")],
        cni=CniState(bin_dirs=["/opt/cni/bin"], plugins=PLUGINS, conf_dir="/etc/cni/net.d"),
    )
