"""The OVS offload steps (eswitch to switchdev, hw-tc-offload, OVS hw-offload) against the
`roce_sriov` fixture tree, whose PF0 has 4 VFs in legacy mode. devlink, ethtool, ovs-vsctl and
systemctl need a switchdev NIC and OVS this machine lacks, so FakeKernel plays them, with the
output shapes the real tools print (tests/prepare/fakes.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dualnet.host.samples import build_sample
from dualnet.plan.steps import SetEswitchMode, SetHwTcOffload, SetOvsHwOffload
from dualnet.prepare import Host, StepStatus, prepare
from dualnet.prepare.context import RunState, StepContext
from dualnet.prepare.steps_offload import eswitch_mode, parse_hw_tc_offload
from tests.prepare.fakes import FakeKernel

PF0, PF0_PCI = "enp59s0f0np0", "0000:3b:00.0"
VFS = ["0000:3b:00.2", "0000:3b:00.3", "0000:3b:00.4", "0000:3b:00.5"]
TS = "20261201T140000Z"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return build_sample("roce_sriov", tmp_path / "node")


def host(root: Path, kernel: FakeKernel, *, dry_run: bool = False) -> Host:
    return Host(root, kernel, dry_run=dry_run, timestamp=TS)


def switch() -> SetEswitchMode:
    return SetEswitchMode(pf=PF0, pf_pci_address=PF0_PCI, vfs=VFS)


def test_eswitch_switch_unbinds_every_vf_before_devlink_and_rebinds_after(tree: Path) -> None:
    kernel = FakeKernel(tree)
    rep = prepare([switch()], host(tree, kernel, dry_run=True))
    (s,) = rep.steps
    assert s.status is StepStatus.WOULD_CHANGE
    done = [a.render() for a in s.commands]
    drv = f"{tree}/sys/bus/pci/drivers/mlx5_core"
    assert done == [*(f"echo {vf} > {drv}/unbind" for vf in VFS),
                    f"devlink dev eswitch set pci/{PF0_PCI} mode switchdev",
                    *(f"echo {vf} > {drv}/bind" for vf in VFS)]
    assert kernel.eswitch == {}  # a dry run changes nothing
    # a node tree's mode comes from the tree (no representors: legacy), never from this
    # machine's devlink
    assert "unknown" not in s.message and "legacy -> switchdev" in s.message
    assert not [c for c in kernel.calls if c[:2] == ("devlink", "-j")]


def test_eswitch_switch_is_verified_and_a_second_run_is_unchanged(tree: Path) -> None:
    kernel = FakeKernel(tree)
    (s,) = prepare([switch()], host(tree, kernel)).steps
    assert (s.status, s.verified) == (StepStatus.CHANGED, True)
    assert kernel.eswitch == {PF0_PCI: "switchdev"}
    # the undo is the same order back to legacy
    assert [a.render() for a in s.undo][4] == f"devlink dev eswitch set pci/{PF0_PCI} mode legacy"
    (again,) = prepare([switch()], host(tree, kernel)).steps
    assert again.status is StepStatus.UNCHANGED and again.commands == []


def test_eswitch_switch_without_vfs_fails_with_the_order(tree: Path) -> None:
    step = SetEswitchMode(pf="enp59s0f1np1", pf_pci_address="0000:3b:00.1")
    (s,) = prepare([step], host(tree, FakeKernel(tree))).steps
    assert s.status is StepStatus.FAILED and "has no VFs" in (s.error or "")
    assert "legacy mode" in (s.hint or "")


def test_eswitch_switch_on_the_management_port_is_refused(tree: Path) -> None:
    step = SetEswitchMode(pf="eno1", pf_pci_address="0000:02:00.0")
    (s,) = prepare([step], host(tree, FakeKernel(tree))).steps
    assert s.status is StepStatus.REFUSED and "eno1" in s.message


def test_hw_tc_offload_turns_on_uplink_and_is_idempotent(tree: Path) -> None:
    kernel = FakeKernel(tree)
    (s,) = prepare([SetHwTcOffload(pf=PF0)], host(tree, kernel)).steps
    assert (s.status, s.verified) == (StepStatus.CHANGED, True)
    assert kernel.hw_tc == {PF0: "on"}
    assert [a.render() for a in s.undo] == [f"ethtool -K {PF0} hw-tc-offload off"]
    (again,) = prepare([SetHwTcOffload(pf=PF0)], host(tree, kernel)).steps
    assert again.status is StepStatus.UNCHANGED


def test_hw_tc_offload_covers_the_representors(tmp_path: Path) -> None:
    root = build_sample("roce_switchdev", tmp_path / "sd")
    kernel = FakeKernel(root)
    (s,) = prepare([SetHwTcOffload(pf="enp8s0f0np0")], host(root, kernel)).steps
    assert s.status is StepStatus.CHANGED
    # the uplink, both VF representors and the SF representor; never the VFs' own netdevs
    assert sorted(kernel.hw_tc) == ["enp8s0f0np0", "enp8s0f0npf0sf88", "enp8s0f0npf0vf0",
                                    "enp8s0f0npf0vf1"]


@pytest.mark.parametrize(("text", "want"), [
    ("Features for x:\nhw-tc-offload: on\n", (True, False)),
    ("hw-tc-offload: off [fixed]\n", (False, True)),
    ("hw-tc-offload: off [requested on]\n", (False, False)),
    ("l2-fwd-offload: off [fixed]\n", None),
])
def test_ethtool_feature_lines(text: str, want: tuple[bool, bool] | None) -> None:
    # line shapes from ethtool's dump_features (`off [fixed]`, `off [requested on]`)
    assert parse_hw_tc_offload(text) == want


def test_hw_tc_offload_fixed_off_fails(tree: Path) -> None:
    kernel = FakeKernel(tree)
    kernel.hw_tc[PF0] = "off [fixed]"
    (s,) = prepare([SetHwTcOffload(pf=PF0)], host(tree, kernel)).steps
    assert s.status is StepStatus.FAILED and "off [fixed]" in (s.error or "")


def test_ovs_hw_offload_sets_restarts_the_installed_unit_and_is_idempotent(tree: Path) -> None:
    kernel = FakeKernel(tree)
    (s,) = prepare([SetOvsHwOffload()], host(tree, kernel)).steps
    assert (s.status, s.verified) == (StepStatus.CHANGED, True)
    assert [a.render() for a in s.commands] == [
        "ovs-vsctl set Open_vSwitch . other_config:hw-offload=true",
        "systemctl restart openvswitch-switch"]
    assert kernel.ovs_config == {"hw-offload": "true"}
    # the key was unset: the undo removes it again
    assert s.undo[0].render() == "ovs-vsctl remove Open_vSwitch . other_config hw-offload"
    (again,) = prepare([SetOvsHwOffload()], host(tree, kernel)).steps
    assert again.status is StepStatus.UNCHANGED


def test_ovs_hw_offload_on_rhel_restarts_openvswitch(tree: Path) -> None:
    kernel = FakeKernel(tree)
    kernel.units = {"openvswitch.service"}
    (s,) = prepare([SetOvsHwOffload()], host(tree, kernel, dry_run=True)).steps
    assert s.status is StepStatus.WOULD_CHANGE
    assert s.commands[-1].render() == "systemctl restart openvswitch"
    assert kernel.ovs_config == {}


def test_ovs_hw_offload_without_ovs_fails_with_a_hint(tree: Path) -> None:
    kernel = FakeKernel(tree)
    kernel.units = set()
    (s,) = prepare([SetOvsHwOffload()], host(tree, kernel)).steps
    assert s.status is StepStatus.FAILED and "no OVS systemd unit" in (s.error or "")


def test_on_this_machine_the_mode_is_read_from_devlink_json(tmp_path: Path) -> None:
    # root "/": nothing is written, only `devlink -j dev eswitch show` is asked (FakeKernel
    # answers with iproute2's shape, {"dev": {"pci/<PF>": {"mode": ...}}})
    kernel = FakeKernel(tmp_path)
    kernel.eswitch["0000:ff:00.0"] = "switchdev"
    ctx = StepContext(host=Host("/", kernel, dry_run=True), facts=None, state=RunState())
    assert eswitch_mode(ctx, "dnfake0", "0000:ff:00.0") == "switchdev"
    assert eswitch_mode(ctx, "dnfake0", "0000:fe:00.0") == "legacy"
    assert kernel.calls[-1] == ("devlink", "-j", "dev", "eswitch", "show", "pci/0000:fe:00.0")
