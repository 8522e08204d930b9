"""Port rules on the GH200 guide's values: mlx5_1 DOWN/DISABLED, mlx5_0 the management port."""

from __future__ import annotations

import dataclasses

from dualnet.doctor import Severity, diagnose
from dualnet.host.models import (
    Gid,
    HostReport,
    LinkLayer,
    ManagementInterface,
    PhysState,
    PortState,
    RdmaPort,
)
from dualnet.host.roce import roce_active_mtu
from dualnet.modes import Mode
from tests.doctor.helpers import ids, only
from tests.doctor.reports import gh200


def _port(r: HostReport, dev: int) -> RdmaPort:
    return r.rdma_devices[dev].ports[0]


def test_down_port_fires_with_real_states() -> None:
    f = only(diagnose(gh200()), "port.not-active", "mlx5_1/1")
    assert f.severity is Severity.WARNING
    assert f.evidence["state"] == "DOWN"
    assert f.evidence["phys_state"] == "DISABLED"
    assert f.evidence["netdev"] == "enp1s0f1np1"
    assert "ip link set dev enp1s0f1np1 up" in f.fix
    assert not [
        x for x in diagnose(gh200()) if x.id == "port.not-active" and x.subject == "mlx5_0/1"
    ]


def test_all_ports_active_no_port_findings() -> None:
    r = gh200()
    _port(r, 1).state = PortState.ACTIVE
    _port(r, 1).phys_state = PhysState.LINK_UP
    assert not ids(diagnose(r)) & {
        "port.not-active",
        "port.none-active",
        "port.only-active-is-management",
    }


def test_no_active_port_is_an_error() -> None:
    r = gh200()
    _port(r, 0).state = PortState.DOWN
    _port(r, 0).phys_state = PhysState.POLLING
    f = only(diagnose(r), "port.none-active")
    assert f.severity is Severity.ERROR
    assert "mlx5_0/1 DOWN/POLLING" in f.evidence["ports"]  # type: ignore[operator]


def test_unknown_port_states_are_not_judged() -> None:
    r = gh200()
    for i in (0, 1):
        _port(r, i).state = PortState.UNKNOWN
        _port(r, i).phys_state = PhysState.UNKNOWN
    assert not ids(diagnose(r)) & {"port.not-active", "port.none-active"}


def test_ib_port_init_link_up_means_no_subnet_manager() -> None:
    r = gh200()
    p = _port(r, 1)
    p.link_layer, p.state, p.phys_state, p.sm_lid = (
        LinkLayer.INFINIBAND,
        PortState.INIT,
        PhysState.LINK_UP,
        0,
    )
    f = only(diagnose(r), "port.no-subnet-manager", "mlx5_1/1")
    assert f.evidence["sm_lid"] == 0
    assert "port.not-active" not in {x.id for x in diagnose(r) if x.subject == "mlx5_1/1"}


def test_only_active_port_is_management() -> None:
    f = only(diagnose(gh200()), "port.only-active-is-management")
    assert f.severity is Severity.WARNING
    assert f.subject == "enp1s0f0np0"
    assert f.evidence["management_addresses"] == ["66.42.90.253/23"]
    assert f.evidence["active_ports"] == ["mlx5_0/1"]
    assert "ip link set dev enp1s0f1np1 up" in f.fix
    # host-device would move the management netdev into a pod: error.
    hd = only(diagnose(gh200(), Mode.HOST_DEVICE), "port.only-active-is-management")
    assert hd.severity is Severity.ERROR


def test_management_elsewhere_or_unknown_is_fine() -> None:
    other = gh200(management=ManagementInterface(name="eno1", addresses=["10.0.0.5/24"]))
    assert "port.only-active-is-management" not in ids(diagnose(other))
    assert "port.only-active-is-management" not in ids(diagnose(gh200(management=None)))
    two = gh200()
    _port(two, 1).state = PortState.ACTIVE
    _port(two, 1).phys_state = PhysState.LINK_UP
    assert "port.only-active-is-management" not in ids(diagnose(two))


def test_roce_mtu_formula_matches_kernel() -> None:
    # iboe_get_mtu: netdev MTU minus 96 bytes of RoCE headers, rounded down to an IB MTU.
    assert roce_active_mtu(1500) == 1024
    assert roce_active_mtu(4200) == 4096
    assert roce_active_mtu(4191) == 2048
    assert roce_active_mtu(9000) == 4096
    assert roce_active_mtu(300) is None


def test_roce_mtu_1024_because_1500() -> None:
    f = only(diagnose(gh200()), "roce.mtu-low", "mlx5_0/1")
    assert f.severity is Severity.WARNING
    assert f.evidence["netdev_mtu"] == 1500
    assert f.evidence["active_mtu"] == 1024
    assert f.evidence["max_mtu"] == 4096
    assert f.fix[0] == "ip link set dev enp1s0f0np0 mtu 9000"
    assert "management interface" in f.why
    # The down port is only noted.
    assert only(diagnose(gh200()), "roce.mtu-low", "mlx5_1/1").severity is Severity.INFO


def test_roce_mtu_fine_with_jumbo_frames() -> None:
    r = gh200()
    for nic in r.nics:
        nic.mtu = 9000
    for d in r.rdma_devices:
        d.ports[0].active_mtu = 4096
    assert "roce.mtu-low" not in ids(diagnose(r))


def test_roce_mtu_computed_when_tool_gave_none() -> None:
    r = gh200()
    _port(r, 0).active_mtu = None
    assert only(diagnose(r), "roce.mtu-low", "mlx5_0/1").evidence["active_mtu"] == 1024
    r.nics[0].mtu = None
    assert not [f for f in diagnose(r) if f.id == "roce.mtu-low" and f.subject == "mlx5_0/1"]


def test_no_roce_v2_gid() -> None:
    r = gh200()
    p = _port(r, 0)
    p.gids = [g for g in p.gids if g.roce_version == "v1"]
    p.roce_v2_ipv4_gid_index = None
    f = only(diagnose(r), "roce.no-v2-gid", "mlx5_0/1")
    assert f.severity is Severity.WARNING
    assert any("enable_roce" in c and "pci/0000:01:00.0" in c for c in f.fix)
    assert "roce.no-v2-gid" not in ids(diagnose(gh200()))


def test_empty_gid_table_from_sysfs_but_not_from_pasted_outputs() -> None:
    r = gh200()
    _port(r, 0).gids = []
    assert "roce.no-v2-gid" in ids(diagnose(r))
    assert "roce.no-v2-gid" not in ids(diagnose(dataclasses.replace(r, source="tool-outputs")))


def test_active_port_without_ipv4_v2_gid() -> None:
    r = gh200()
    p = _port(r, 0)
    p.gids = [g for g in p.gids if g.ipv4 is None]
    p.roce_v2_ipv4_gid_index = None
    assert only(diagnose(r), "roce.no-ipv4-v2-gid").severity is Severity.INFO
    assert "roce.no-ipv4-v2-gid" not in ids(diagnose(gh200()))


def _all_ib(r: HostReport) -> HostReport:
    for d in r.rdma_devices:
        p: RdmaPort = d.ports[0]
        p.link_layer = LinkLayer.INFINIBAND
        p.gids = [Gid(index=0, gid="fe80:0000:0000:0000:a088:c203:00a7:5cd4")]
    for n in r.nics:
        n.link_type = "infiniband"
    return r


def test_macvlan_on_infiniband_is_impossible() -> None:
    f = only(diagnose(_all_ib(gh200()), Mode.SHARED_ROCE), "mode.needs-ethernet")
    assert f.severity is Severity.ERROR
    assert "macvlan" in f.title
    assert "invalid argument" in f.why
    assert "mode.needs-ethernet" not in ids(diagnose(gh200(), Mode.SHARED_ROCE))
    assert "mode.needs-ethernet" not in ids(diagnose(_all_ib(gh200()), Mode.IPOIB))


def test_ipoib_on_ethernet_only() -> None:
    f = only(diagnose(gh200(), Mode.IPOIB), "mode.needs-infiniband")
    assert "LINK_TYPE_P1=1" in " ".join(f.fix)
    assert "mode.needs-infiniband" not in ids(diagnose(_all_ib(gh200()), Mode.IPOIB))


def test_ipoib_port_without_netdev() -> None:
    r = _all_ib(gh200())
    for d in r.rdma_devices:
        d.netdevs = []
        d.ports[0].netdev = None
    f = only(diagnose(r, Mode.IPOIB), "ipoib.no-netdev", "mlx5_0/1")
    assert f.severity is Severity.WARNING
    assert "ipoib.no-netdev" not in ids(diagnose(_all_ib(gh200()), Mode.IPOIB))


def test_roce_mtu_capped_with_netdev_unknown_says_so() -> None:
    r = gh200(nics=[])
    f = only(diagnose(r), "roce.mtu-low", "mlx5_0/1")
    assert f.evidence["netdev_mtu"] == "unknown"
    assert f.title == (
        "RoCE port mlx5_0/1 runs RDMA MTU 1024 of 4096: its netdev MTU (unknown here) is below 4192"
    )


def test_active_vf_on_the_management_pf_is_no_second_port() -> None:
    r = gh200()
    vf = dataclasses.replace(
        r.nics[0], pci_address="0000:01:00.2", device_id="101e", is_vf=True,
        pf_pci_address="0000:01:00.0", netdev="enp1s0f0v0", netdevs=["enp1s0f0v0"],
        rdma_devices=["mlx5_2"])
    port = dataclasses.replace(_port(r, 0), netdev="enp1s0f0v0", gids=[])
    dev = dataclasses.replace(r.rdma_devices[0], name="mlx5_2", pci_address="0000:01:00.2",
                              netdevs=["enp1s0f0v0"], ports=[port])
    r.nics.append(vf)
    r.rdma_devices.append(dev)
    f = only(diagnose(r), "port.only-active-is-management")
    assert f.evidence["active_ports"] == ["mlx5_0/1", "mlx5_2/1"]
    assert f.fix[0] == "ip link set dev enp1s0f1np1 up"  # the PF port, never a VF
