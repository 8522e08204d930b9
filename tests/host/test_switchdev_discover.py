"""Discovery of eswitch mode, representors and subfunctions from mlx5 switchdev-style trees."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from dualnet.host.discover import discover
from dualnet.host.models import HostReport
from dualnet.host.samples import roce_switchdev
from dualnet.host.switchdev import is_representor_port_name, parse_port_name
from dualnet.host.synthetic import Function, NodeDescription, build_tree


def _pf0(node: NodeDescription) -> Function:
    for hb in node.pci:
        for bridge in hb.children:
            for child in getattr(bridge, "children", []):
                if isinstance(child, Function) and child.address == "0000:08:00.0":
                    return child
    raise AssertionError("sample lost its PF0")


def _discover(node: NodeDescription, tmp_path: Path) -> HostReport:
    return discover(build_tree(node, tmp_path / "root"))


@pytest.mark.parametrize(
    ("name", "flavour", "pf", "vf", "sf", "ctrl"),
    [
        # devlink port names, net/devlink/port.c __devlink_port_phys_port_name_get
        ("pf0vf3", "pcivf", 0, 3, None, None),
        ("pf1sf88", "pcisf", 1, None, 88, None),
        ("c1pf0vf0", "pcivf", 0, 0, None, 1),
        ("pf0", "pcipf", 0, None, None, None),
        ("p0", "physical", None, None, None, None),
        ("p1s2", "physical", None, None, None, None),
    ],
)
def test_port_names(name: str, flavour: str, pf: int | None, vf: int | None, sf: int | None,
                    ctrl: int | None) -> None:
    rep = parse_port_name("x", name)
    assert rep is not None
    assert (rep.flavour, rep.pfnum, rep.vfnum, rep.sfnum, rep.controller) == (
        flavour, pf, vf, sf, ctrl)
    assert is_representor_port_name(name) is (flavour != "physical")


@pytest.mark.parametrize("name", ["", "eth0", "pf", "vf0", "p0x", "pf0vf"])
def test_other_port_names_are_not_eswitch_ports(name: str) -> None:
    assert parse_port_name("x", name) is None
    assert not is_representor_port_name(name)


def test_switchdev_pf_representors_tied_to_their_vfs(tmp_path: Path) -> None:
    r = _discover(roce_switchdev(), tmp_path)
    esw = r.eswitch("0000:08:00.0")
    assert esw is not None
    assert (esw.mode, esw.mode_source) == ("switchdev", "representors")
    assert esw.switch_id == "b8cef603000c7ea0"
    assert esw.hw_tc_offload is None  # an ethtool feature: sysfs cannot show it
    vf_reps = {x.netdev: x.vf_pci_address for x in r.representors if x.flavour == "pcivf"}
    assert vf_reps == {"enp8s0f0npf0vf0": "0000:08:00.2", "enp8s0f0npf0vf1": "0000:08:00.3"}
    assert all(x.switch_id == esw.switch_id for x in r.representors)
    # PF1 has no VFs, no representors and no MOFED file: its mode is unknown, not "legacy"
    pf1 = r.eswitch("0000:08:00.1")
    assert pf1 is not None and pf1.mode is None


def test_representors_are_not_the_pf_netdev(tmp_path: Path) -> None:
    # Before switchdev support every representor counted as a PF netdev (and RDMA netdev).
    r = _discover(roce_switchdev(), tmp_path)
    pf = r.nic_by_pci("0000:08:00.0")
    assert pf is not None
    assert pf.netdevs == ["enp8s0f0np0"]
    assert r.rdma_device("mlx5_0") is not None
    assert r.rdma_device("mlx5_0").netdevs == ["enp8s0f0np0"]  # type: ignore[union-attr]


def test_uplink_named_after_its_representors_is_still_the_netdev(tmp_path: Path) -> None:
    # OpenNebula/one-deploy#213 (dpdk-devbind on a switchdev ConnectX-4 Lx):
    # `0000:81:00.0 ... if=pf0,eth7,eth5,eth3,eth1,eth6,eth4,eth2,eth0 drv=mlx5_core` - the
    # representors (eth*) sort before the uplink (pf0).
    node = roce_switchdev()
    pf0 = _pf0(node)
    pf0.netdevs = [replace(pf0.netdevs[0], name="pf0")] + [
        replace(n, name=f"eth{i}") for i, n in enumerate(pf0.netdevs[1:])]
    pf0.rdma[0].ports[0].netdev = "pf0"
    r = _discover(node, tmp_path)
    pf = r.nic_by_pci("0000:08:00.0")
    assert pf is not None and pf.netdev == "pf0" and pf.netdevs == ["pf0"]
    assert {x.netdev for x in r.representors} == {"eth0", "eth1", "eth2"}


def test_mofed_compat_mode_file_wins(tmp_path: Path) -> None:
    node = roce_switchdev()
    pf0 = _pf0(node)
    pf0.netdevs = [replace(pf0.netdevs[0], compat_devlink_mode="switchdev")]
    pf0.vfs, pf0.sfs = [], []
    r = _discover(node, tmp_path)
    esw = r.eswitch("0000:08:00.0")
    assert esw is not None
    assert (esw.mode, esw.mode_source) == ("switchdev", "compat/devlink/mode")
    assert r.representors == []


def test_vfs_without_representors_read_as_legacy(tmp_path: Path) -> None:
    node = roce_switchdev()
    pf0 = _pf0(node)
    pf0.netdevs = [replace(pf0.netdevs[0], phys_switch_id=None)]
    pf0.sfs = []
    r = _discover(node, tmp_path)
    esw = r.eswitch("0000:08:00.0")
    assert esw is not None
    assert (esw.mode, esw.mode_source) == ("legacy", "VFs without representors")


def test_scalable_function_with_netdev_and_rdma(tmp_path: Path) -> None:
    r = _discover(roce_switchdev(), tmp_path)
    assert [(s.name, s.sfnum, s.pf_pci_address, s.netdevs, s.rdma_devices)
            for s in r.scalable_functions] == [
        ("mlx5_core.sf.4", 88, "0000:08:00.0", ["enp8s0f0s88"], ["mlx5_4"])]
    sf_rep = next(x for x in r.representors if x.flavour == "pcisf")
    assert (sf_rep.netdev, sf_rep.sfnum) == ("enp8s0f0npf0sf88", 88)
    assert r.problems == []
