"""Doctor on the bundled sample nodes: sysfs/procfs fixture trees read by the real discovery."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dualnet.doctor import Finding, Severity, diagnose, exit_code_for
from dualnet.host.discover import discover
from dualnet.host.models import HostReport
from dualnet.host.samples import build_sample
from dualnet.modes import Mode
from tests.doctor.helpers import ids, only


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = {}
    for name in ("gh200", "dgx_h100_ib", "roce_sriov", "no_mlx5_ib", "no_rdma"):
        root = tmp_path_factory.mktemp(name)
        build_sample(name, root)
        out[name] = root
    return out


@pytest.fixture(scope="module")
def reports(trees: dict[str, Path]) -> dict[str, HostReport]:
    return {name: discover(root) for name, root in trees.items()}


def _at(found: list[Finding], sev: Severity) -> set[str]:
    return {f.id for f in found if f.severity is sev}


def test_gh200_shared_roce(reports: dict[str, HostReport]) -> None:
    found = diagnose(reports["gh200"], Mode.SHARED_ROCE)
    # What the guide's node is fine on.
    assert not ids(found) & {
        "gpudirect.nvidia_peermem-missing",
        "rdma.mlx5_ib-missing",
        "rdma.ib_uverbs-missing",
        "rdma.rdma_ucm-missing",
        "rdma.ib_umad-missing",
        "netns.wrong-mode",
        "netns.unknown",
        "topology.gpu-nic-sys",
        "topology.gpu-nic-cross-numa",
        "cni.plugins-missing",
        "cni.multus-missing",
        "cni.multus-not-first",
        "cni.k3s-builtin-flannel",
        "doctor.facts-unknown",
    }
    # What it is not.
    down = only(found, "port.not-active", "mlx5_1/1")
    assert down.severity is Severity.WARNING
    assert (down.evidence["state"], down.evidence["phys_state"]) == ("DOWN", "DISABLED")
    mgmt = only(found, "port.only-active-is-management")
    assert mgmt.severity is Severity.WARNING
    assert mgmt.evidence["management_interface"] == "enp1s0f0np0"
    assert mgmt.evidence["management_addresses"] == ["66.42.90.253/23"]
    mtu = only(found, "roce.mtu-low", "mlx5_0/1")
    assert mtu.severity is Severity.WARNING
    assert (mtu.evidence["netdev_mtu"], mtu.evidence["active_mtu"]) == (1500, 1024)
    assert "security.shared-rdma-devices" in _at(found, Severity.INFO)
    assert not _at(found, Severity.ERROR)
    assert exit_code_for(found) == 1


def test_gh200_with_empty_cni_dirs(trees: dict[str, Path], tmp_path: Path) -> None:
    root = tmp_path / "gh200"
    shutil.copytree(trees["gh200"], root, symlinks=True)
    for rel in ("opt/cni/bin", "etc/cni/net.d", "var/lib/rancher/k3s/data/current/bin"):
        d = root / rel
        if d.is_dir():
            for f in d.iterdir():
                f.unlink()
    found = diagnose(discover(root), Mode.SHARED_ROCE)
    missing = only(found, "cni.plugins-missing")
    assert missing.evidence["missing"] == ["macvlan", "host-local", "multus-shim"]
    assert "cni-plugins-linux-arm64-v1.5.1.tgz" in missing.fix[0]  # the GH200 is aarch64
    assert only(found, "cni.multus-missing").severity is Severity.ERROR
    assert exit_code_for(found) == 4


def test_gh200_host_device_would_take_the_management_port(
    reports: dict[str, HostReport],
) -> None:
    found = diagnose(reports["gh200"], Mode.HOST_DEVICE)
    assert only(found, "port.only-active-is-management").severity is Severity.ERROR


def test_dgx_h100_ib(reports: dict[str, HostReport]) -> None:
    r = reports["dgx_h100_ib"]
    # 8 GPUs each paired with an HCA behind its PCIe switch: no placement findings.
    assert not ids(diagnose(r)) & {"topology.gpu-nic-sys", "topology.gpu-nic-cross-numa"}
    ipoib = diagnose(r, Mode.IPOIB)
    assert not ids(ipoib) & {"mode.needs-infiniband", "ipoib.ib_ipoib-missing", "netns.wrong-mode"}
    ib_sriov = diagnose(r, Mode.IB_SRIOV)
    subjects = {f.subject for f in ib_sriov if f.id == "sriov.vfs-not-enabled"}
    assert len(subjects) == 8 and all(s.startswith("ibp") for s in subjects)
    # Calico is first and there is no Multus at all.
    assert only(ipoib, "cni.multus-missing").evidence["first_type"] == "calico"


def test_roce_sriov(reports: dict[str, HostReport]) -> None:
    r = reports["roce_sriov"]
    sriov = diagnose(r, Mode.SRIOV)
    assert only(sriov, "netns.exclusive-without-rdma-cni").severity is Severity.WARNING
    ns_aware = diagnose(r, Mode.SRIOV, rdma_cni=True)
    assert not {i for i in ids(ns_aware) if i.startswith("netns.")}
    assert "security.shared-rdma-devices" not in ids(ns_aware)
    # PF0 has 4 of 8 VFs: asking for 8 says to go through 0.
    fewer = only(diagnose(r, Mode.SRIOV, vfs=8), "sriov.fewer-vfs-than-asked")
    assert (fewer.evidence["sriov_numvfs"], fewer.evidence["asked"]) == (4, 8)
    assert only(diagnose(r, Mode.SRIOV, vfs=9), "sriov.vfs-over-total", fewer.subject)
    # A VF's down port is only noted; the down PF port is a warning.
    vf_ports = [f for f in sriov if f.id == "port.not-active" and f.evidence["vf"]]
    assert vf_ports and all(f.severity is Severity.INFO for f in vf_ports)
    # exclusive is wrong for the shared device plugin
    assert only(diagnose(r, Mode.SHARED_ROCE), "netns.wrong-mode").severity is Severity.ERROR


def test_no_mlx5_ib(reports: dict[str, HostReport]) -> None:
    found = diagnose(reports["no_mlx5_ib"])
    f = only(found, "rdma.mlx5_ib-missing")
    assert f.evidence["mlx5_core_nics"] == ["enp59s0f0np0", "enp59s0f1np1"]
    assert exit_code_for(found) == 4
    assert not ids(found) & {"rdma.none-found", "rdma.ib_uverbs-missing", "doctor.facts-unknown"}


def test_no_rdma(reports: dict[str, HostReport]) -> None:
    found = diagnose(reports["no_rdma"])
    assert only(found, "rdma.none-found").severity is Severity.INFO
    assert "rdma.mlx5_ib-missing" not in ids(found)
    assert exit_code_for(diagnose(reports["no_rdma"], Mode.SHARED_ROCE)) == 4
