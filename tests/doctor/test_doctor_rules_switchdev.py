"""Switchdev rules, on the `roce_switchdev` sample tree read by the real discovery, and on the
model-built report that mirrors it."""

from __future__ import annotations

from pathlib import Path

import pytest

from dualnet.doctor import Severity, diagnose
from dualnet.host.discover import discover
from dualnet.host.models import HostReport, NetnsMode
from dualnet.host.samples import build_sample
from dualnet.modes import Mode
from tests.doctor.helpers import ids, only
from tests.doctor.reports import switchdev

SWITCHDEV_IDS = {
    "switchdev.sriov-on-switchdev-pf", "switchdev.vfs-without-representors-up",
    "switchdev.rdma-cni-on-switchdev-pf", "switchdev.offload-without-switchdev",
    "switchdev.hw-tc-offload-off", "switchdev.hw-tc-offload-unknown",
}  # fmt: skip


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> HostReport:
    return discover(build_sample("roce_switchdev", tmp_path_factory.mktemp("sd") / "root"))


def test_model_report_mirrors_the_sample_tree(sample: HostReport) -> None:
    model = switchdev()
    assert sample.eswitches[0] == model.eswitches[0]
    assert [(r.netdev, r.vf_pci_address, r.operstate) for r in sample.representors
            if r.flavour == "pcivf"] == [
        (r.netdev, r.vf_pci_address, r.operstate) for r in model.representors]


def test_healthy_switchdev_node_without_intent_says_nothing(sample: HostReport) -> None:
    assert not ids(diagnose(sample)) & SWITCHDEV_IDS


def test_sriov_mode_on_switchdev_pf_names_vfs_by_pci_address(sample: HostReport) -> None:
    f = only(diagnose(sample, Mode.SRIOV), "switchdev.sriov-on-switchdev-pf")
    assert f.severity is Severity.WARNING
    assert f.evidence["representors"] == ["enp8s0f0npf0vf0", "enp8s0f0npf0vf1"]
    assert f.evidence["vfs"] == ["0000:08:00.2", "0000:08:00.3"]
    text = "\n".join(f.fix)
    # back to legacy: unbind before the mode change, rebind after
    assert text.index("mlx5_core/unbind") < text.index("mode legacy") < text.index(
        "mlx5_core/bind")


def test_shared_roce_on_switchdev_node_is_not_an_sriov_problem(sample: HostReport) -> None:
    assert "switchdev.sriov-on-switchdev-pf" not in ids(diagnose(sample, Mode.SHARED_ROCE))


def test_representor_down_missing_and_vf_unbound() -> None:
    r = switchdev()
    r.representors[0].operstate = "down"
    r.representors = r.representors[:1]  # VF 1 lost its representor
    vf1 = r.nic_by_pci("0000:08:00.3")
    assert vf1 is not None
    vf1.driver = None
    f = only(diagnose(r), "switchdev.vfs-without-representors-up")
    assert f.severity is Severity.ERROR
    assert f.evidence["representors_down"] == ["enp8s0f0npf0vf0"]
    assert f.evidence["vfs_without_representor"] == ["0000:08:00.3"]
    assert f.evidence["vfs_unbound"] == ["0000:08:00.3"]
    assert f.fix[0] == "ip link set enp8s0f0npf0vf0 up"
    steps = f.fix[f.fix.index("devlink dev eswitch set pci/0000:08:00.0 mode legacy"):]
    order = [next(i for i, s in enumerate(steps) if key in s)
             for key in ("unbind", "mode switchdev", "/bind")]
    assert order == sorted(order)


def test_rdma_cni_on_switchdev_pf(sample: HostReport) -> None:
    f = only(diagnose(sample, rdma_cni=True), "switchdev.rdma-cni-on-switchdev-pf")
    assert f.severity is Severity.INFO
    assert f.evidence["vf_rdma_devices"] == ["0000:08:00.2=mlx5_2", "0000:08:00.3=mlx5_3"]
    r = switchdev(netns_mode=NetnsMode.EXCLUSIVE)
    vf = r.nic_by_pci("0000:08:00.2")
    assert vf is not None
    vf.rdma_devices = []
    f = only(diagnose(r), "switchdev.rdma-cni-on-switchdev-pf")
    assert f.severity is Severity.WARNING and f.evidence["vfs_without_rdma"] == ["0000:08:00.2"]


def test_offload_unknown_from_sysfs_is_a_warning_not_a_pass(sample: HostReport) -> None:
    f = only(diagnose(sample, ovs_offload=True), "switchdev.hw-tc-offload-unknown")
    assert f.severity is Severity.WARNING
    assert f.fix[1] == "ethtool -K enp8s0f0np0 hw-tc-offload on"


def test_offload_off_and_on() -> None:
    r = switchdev()
    r.eswitches[0].hw_tc_offload = False
    assert only(diagnose(r, ovs_offload=True), "switchdev.hw-tc-offload-off").severity is (
        Severity.ERROR)
    r.eswitches[0].hw_tc_offload = True
    assert not ids(diagnose(r, ovs_offload=True)) & SWITCHDEV_IDS


def test_offload_on_a_legacy_eswitch_gives_the_step_order() -> None:
    r = switchdev(representors=[])
    r.eswitches[0].mode = "legacy"
    f = only(diagnose(r, ovs_offload=True), "switchdev.offload-without-switchdev")
    assert f.severity is Severity.ERROR
    joined = "\n".join(f.fix)
    assert (joined.index("0000:08:00.2 > /sys/bus/pci/drivers/mlx5_core/unbind")
            < joined.index("mode switchdev")
            < joined.index("0000:08:00.2 > /sys/bus/pci/drivers/mlx5_core/bind"))


def test_sample_tree_path(tmp_path: Path) -> None:
    # the sample is registered: `dualnet sample --node roce_switchdev` can write it
    assert (build_sample("roce_switchdev", tmp_path / "t") / "sys/bus/auxiliary/devices").is_dir()
