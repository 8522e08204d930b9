"""SR-IOV VF, DPDK hugepage and memlock rules."""

from __future__ import annotations

from dualnet.doctor import Severity, diagnose
from dualnet.host.models import Hugepages
from dualnet.modes import Mode
from tests.doctor.helpers import ids, only
from tests.doctor.reports import gh200

SRIOV = {
    "sriov.vfs-not-enabled",
    "sriov.vfs-over-total",
    "sriov.disabled-in-firmware",
    "sriov.fewer-vfs-than-asked",
    "sriov.unknown",
}


def test_not_asked_no_sriov_findings() -> None:
    assert not ids(diagnose(gh200(), Mode.SHARED_ROCE)) & SRIOV


def test_sriov_asked_but_no_vfs() -> None:
    found = diagnose(gh200(), Mode.SRIOV)
    f = only(found, "sriov.vfs-not-enabled", "enp1s0f0np0")
    assert f.severity is Severity.ERROR  # no PF on the node has any VF
    assert f.evidence["sriov_totalvfs"] == 16
    assert f.evidence["sriov_numvfs"] == 0
    assert f.fix[0] == "echo 8 > /sys/bus/pci/devices/0000:01:00.0/sriov_numvfs"
    assert any(
        'KERNEL=="enp1s0f0np0"' in p and 'ATTR{device/sriov_numvfs}="8"' in p for p in f.persist
    )


def test_vfs_enabled_is_fine() -> None:
    r = gh200()
    for n in r.nics:
        n.sriov_numvfs = 8
    assert not ids(diagnose(r, Mode.SRIOV)) & SRIOV
    assert not ids(diagnose(r, Mode.SRIOV, vfs=8)) & SRIOV


def test_one_pf_enabled_others_warn() -> None:
    r = gh200()
    r.nics[0].sriov_numvfs = 4
    f = only(diagnose(r, Mode.SRIOV), "sriov.vfs-not-enabled", "enp1s0f1np1")
    assert f.severity is Severity.WARNING


def test_more_vfs_than_total() -> None:
    f = only(diagnose(gh200(), Mode.SRIOV, vfs=32), "sriov.vfs-over-total", "enp1s0f0np0")
    assert f.severity is Severity.ERROR
    assert f.evidence["asked"] == 32
    assert "ERANGE" in f.why


def test_fewer_vfs_than_asked_goes_through_zero() -> None:
    r = gh200()
    for n in r.nics:
        n.sriov_numvfs = 4
    f = only(diagnose(r, Mode.SRIOV, vfs=8), "sriov.fewer-vfs-than-asked", "enp1s0f0np0")
    assert f.fix == [
        "echo 0 > /sys/bus/pci/devices/0000:01:00.0/sriov_numvfs",
        "echo 8 > /sys/bus/pci/devices/0000:01:00.0/sriov_numvfs",
    ]


def test_totalvfs_zero_means_firmware() -> None:
    r = gh200()
    for n in r.nics:
        n.sriov_totalvfs = 0
    f = only(diagnose(r, Mode.SRIOV), "sriov.disabled-in-firmware", "enp1s0f0np0")
    assert f.fix[0] == "mlxconfig -d 0000:01:00.0 set SRIOV_EN=1 NUM_OF_VFS=16"


def test_sriov_capacity_unknown() -> None:
    r = gh200()
    for n in r.nics:
        n.sriov_totalvfs = None
        n.sriov_numvfs = None
    found = diagnose(r, Mode.SRIOV)
    assert only(found, "sriov.unknown").severity is Severity.INFO
    assert not ids(found) & (SRIOV - {"sriov.unknown"})


def test_ib_sriov_only_looks_at_infiniband_pfs() -> None:
    # GH200's PFs are Ethernet: ib-sriov has no candidate PF (mode.needs-infiniband says why).
    found = diagnose(gh200(), Mode.IB_SRIOV)
    assert not ids(found) & SRIOV
    assert "mode.needs-infiniband" in ids(found)


def test_dpdk_without_hugepages() -> None:
    r = gh200(
        hugepages=[
            Hugepages(size_kb=2048, total=0, free=0),
            Hugepages(size_kb=524288, total=0, free=0),
        ]
    )
    f = only(diagnose(r, Mode.SRIOV_DPDK), "dpdk.no-hugepages")
    assert f.severity is Severity.ERROR
    assert f.evidence["hugepages"] == ["2048kB total=0 free=0", "524288kB total=0 free=0"]
    assert "dpdk.no-hugepages" in ids(diagnose(r, dpdk=True))
    assert "dpdk.no-hugepages" not in ids(diagnose(r, Mode.SRIOV))


def test_dpdk_with_hugepages() -> None:
    r = gh200(hugepages=[Hugepages(size_kb=2048, total=1024, free=1000)])
    assert not {i for i in ids(diagnose(r, Mode.SRIOV_DPDK)) if i.startswith("dpdk.")}
    used = gh200(hugepages=[Hugepages(size_kb=2048, total=1024, free=0)])
    assert "dpdk.hugepages-exhausted" in ids(diagnose(used, dpdk=True))


def test_dpdk_hugepages_unknown() -> None:
    assert only(diagnose(gh200(), dpdk=True), "dpdk.hugepages-unknown").severity is Severity.INFO


def test_memlock() -> None:
    f = only(diagnose(gh200(memlock_kb=64)), "limits.memlock-low")
    assert f.severity is Severity.WARNING
    assert f.evidence["memlock_kb"] == 64
    assert "/etc/security/limits.d/90-rdma.conf: * hard memlock unlimited" in f.persist
    # systemd's 8 MiB default: only noted, pods normally run with IPC_LOCK / infinity.
    assert only(diagnose(gh200(memlock_kb=8192)), "limits.memlock-low").severity is Severity.INFO
    for fine in (None, 1 << 20, -1, (1 << 64) // 1024):
        assert "limits.memlock-low" not in ids(diagnose(gh200(memlock_kb=fine)))
    assert "limits.memlock-low" not in ids(
        diagnose(gh200(memlock_kb=64, rdma_devices=[], topology=[]))
    )
