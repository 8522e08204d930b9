"""RDMA netns mode vs the chosen mode, and the shared-mode security note."""

from __future__ import annotations

from dualnet.doctor import Severity, diagnose
from dualnet.host.models import NetnsMode
from dualnet.modes import Mode
from tests.doctor.helpers import ids, only
from tests.doctor.reports import gh200

NETNS = {
    "netns.wrong-mode",
    "netns.unknown",
    "netns.exclusive",
    "netns.rdma-cni-conflict",
    "netns.exclusive-without-rdma-cni",
}


def test_gh200_shared_is_right_for_shared_roce() -> None:
    assert not ids(diagnose(gh200(), Mode.SHARED_ROCE)) & NETNS


def test_exclusive_with_shared_device_plugin_mode() -> None:
    r = gh200(netns_mode=NetnsMode.EXCLUSIVE)
    f = only(diagnose(r, Mode.SHARED_ROCE), "netns.wrong-mode")
    assert f.severity is Severity.ERROR
    assert f.evidence["netns_mode"] == "exclusive"
    assert f.evidence["required"] == "shared"
    assert f.fix[0] == "rdma system set netns shared"
    assert 'echo "options ib_core netns_mode=1" > /etc/modprobe.d/ib_core-netns.conf' in f.persist
    assert "EBUSY" in f.why
    assert "refuses to start" in f.why


def test_rdma_cni_needs_exclusive() -> None:
    f = only(diagnose(gh200(), Mode.SRIOV, rdma_cni=True), "netns.wrong-mode")
    assert f.evidence["required"] == "exclusive"
    assert f.fix[0] == "rdma system set netns exclusive"
    assert any("netns_mode=0" in p for p in f.persist)
    ok = gh200(netns_mode=NetnsMode.EXCLUSIVE)
    assert not ids(diagnose(ok, Mode.SRIOV, rdma_cni=True)) & NETNS
    # --rdma-cni alone (no mode) also asks for exclusive.
    assert "netns.wrong-mode" in ids(diagnose(gh200(), rdma_cni=True))


def test_sriov_without_rdma_cni_takes_either() -> None:
    for mode in (NetnsMode.SHARED, NetnsMode.EXCLUSIVE):
        assert not ids(diagnose(gh200(netns_mode=mode), Mode.SRIOV)) & {"netns.wrong-mode"}


def test_sriov_exclusive_without_rdma_cni_loses_rdma_device() -> None:
    r = gh200(netns_mode=NetnsMode.EXCLUSIVE)
    f = only(diagnose(r, Mode.SRIOV), "netns.exclusive-without-rdma-cni")
    assert f.severity is Severity.WARNING
    assert "netns.exclusive-without-rdma-cni" not in ids(diagnose(r, Mode.SRIOV, rdma_cni=True))
    assert "netns.exclusive-without-rdma-cni" not in ids(diagnose(gh200(), Mode.SRIOV))


def test_unknown_netns_mode_is_info_not_a_verdict() -> None:
    found = diagnose(gh200(netns_mode=None), Mode.SHARED_ROCE)
    f = only(found, "netns.unknown")
    assert f.severity is Severity.INFO
    assert "netns.wrong-mode" not in ids(found)


def test_exclusive_without_intent_is_noted() -> None:
    f = only(diagnose(gh200(netns_mode=NetnsMode.EXCLUSIVE)), "netns.exclusive")
    assert f.severity is Severity.INFO
    assert "netns.exclusive" not in ids(diagnose(gh200()))


def test_rdma_cni_with_shared_dp_mode_conflicts() -> None:
    f = only(diagnose(gh200(), Mode.SHARED_ROCE, rdma_cni=True), "netns.rdma-cni-conflict")
    assert f.severity is Severity.ERROR


def test_security_note_for_shared_modes() -> None:
    f = only(diagnose(gh200(), Mode.SHARED_ROCE), "security.shared-rdma-devices")
    assert f.severity is Severity.INFO
    assert f.evidence["rdma_devices"] == ["mlx5_0", "mlx5_1"]
    assert "every pod that requests the RDMA resource" in f.why
    assert "RDMA CNI" in f.why and "exclusive" in f.why
    # Namespace-aware SR-IOV is the answer, so no note there.
    iso = gh200(netns_mode=NetnsMode.EXCLUSIVE)
    assert "security.shared-rdma-devices" not in ids(diagnose(iso, Mode.SRIOV, rdma_cni=True))
    # SR-IOV without RDMA CNI on a shared-netns node still shares device visibility.
    assert "security.shared-rdma-devices" in ids(diagnose(gh200(), Mode.SRIOV))
