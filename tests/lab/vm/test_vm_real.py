"""`lab --vm` on a real kernel: one VM for the session (tests/lab/vm/conftest.py). Budget: the
whole file within 6 minutes on 2 TCG cores; each lab run is a few minutes of emulated commands,
so only the modes whose data path differs run here (macvlan shared, host-device dedicated)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from dualnet.lab.models import NetworkAttachmentDefinition
from dualnet.lab.nad import load_nad
from dualnet.lab.vm.machine import Machine, VmError
from dualnet.lab.vm.session import run_lab_vm
from tests.helpers import NADS, vm_kernel
from tests.render.cases import CASES, lab_verdicts

pytestmark = [pytest.mark.vm, pytest.mark.slow]


def _by_name(report: object) -> dict[str, list[object]]:
    out: dict[str, list[object]] = {}
    for c in report.checks:  # type: ignore[attr-defined]
        out.setdefault(c.name, []).append(c)
    return out


def test_agent_runs_commands_in_the_guest(vm: Machine) -> None:
    assert vm.info.release == vm.kernel.release
    res = vm.run(["uname", "-r"])
    assert res.ok and res.out.strip() == vm.kernel.release  # not the host's kernel
    assert os.uname().release != vm.kernel.release
    echo = vm.run(["sh", "-c", 'cat; echo "$X" >&2; exit 3'], stdin=b"in\x00put",
                  env={"PATH": "/usr/bin:/bin", "X": "a b"})
    assert (echo.returncode, echo.stdout, echo.err) == (3, b"in\x00put", "a b\n")
    slow = vm.run(["sleep", "30"], timeout_s=1)
    assert slow.timed_out
    assert "rdma_rxe" in vm.run(["cat", "/proc/modules"]).out


def _example_nad(case: str, tmp_path: Path) -> NetworkAttachmentDefinition:
    from dualnet.render import render, write_stream
    from tests.render.cases import plan_for

    out = tmp_path / f"{case}.yaml"
    write_stream(render(plan_for(case)), out)
    return load_nad(out)


def test_macvlan_shared_rdma_on_rxe(vm: Machine, tmp_path: Path) -> None:
    # the discover/show-gids/doctor checks on the real tree run once, in their own test below
    # the rendered example (gh200 guide's macvlan NAD), as `dualnet render --stream` writes it
    report = run_lab_vm(_example_nad("gh200-shared-roce", tmp_path), vm, real_sysfs=False,
                        prepare_host=False)
    checks = _by_name(report)
    assert report.verdict == "pass", report.reason
    # the guide's shared RoCE: each pod's net1 IPv4 is a RoCE v2 GID on the master's device
    on_master = checks["roce-gid-on-master"]
    assert len(on_master) == 2 and all(c.passed for c in on_master)  # type: ignore[attr-defined]
    assert all("ndev net1" in c.evidence for c in on_master)  # type: ignore[attr-defined]
    (shared,) = checks["rdma-write-master-shared"]
    assert shared.result == "unsupported" and "rxe" in shared.evidence  # type: ignore[attr-defined]
    for name in ("rdma-write-per-pod-rxe", "rping-per-pod-rxe",
                 "rdma-write-wrong-gid-fails-per-pod-rxe"):
        assert [c.result for c in checks[name]] == ["pass"], name  # type: ignore[attr-defined]
    assert "MB/s average" in checks["rdma-write-per-pod-rxe"][0].evidence  # type: ignore[attr-defined]
    assert "VM: Linux 7.3.4" in report.machine
    # nothing of the run is left in the guest
    assert vm.run(["ip", "netns", "list"]).out.strip() == ""
    assert "rx" + report.run_id not in vm.run(["rdma", "link"]).out


def test_vlan_shared_each_pod_transfers_with_its_own_gid(vm: Machine) -> None:
    """Issue 16's shared-mode proof: two tenants (vlan 100 and 101) on one rxe device per
    node; each pod's derived index (the in-pod helper and plan.pod_nccl_env agree) carries its
    transfer, and the node-wide index picks another pod's GID for tenant B."""
    report = run_lab_vm(load_nad(NADS / "vlan-host-local.yaml"), vm, real_sysfs=False,
                        prepare_host=False)  # prepare has its own test
    checks = _by_name(report)
    assert report.verdict == "pass", report.reason
    per_pod = checks["roce-gid-index-per-pod"]
    assert len(per_pod) == 4 and all(c.passed for c in per_pod)  # type: ignore[attr-defined]
    assert all("NCCL_IB_ADDR_RANGE=" in c.evidence for c in per_pod)  # type: ignore[attr-defined]
    # rxe's 4791 socket is per namespace: without one in the pod's, nothing arrives
    (bare,) = checks["rxe-needs-socket-in-pod-netns"]
    assert bare.passed and "NoPorts" in bare.evidence  # type: ignore[attr-defined]
    for name in ("rdma-write-vlan-shared", "rping-vlan-shared"):
        assert [c.result for c in checks[name]] == ["pass", "pass"], name  # type: ignore[attr-defined]
    wrong = checks["node-wide-gid-index-wrong"]
    assert [c.result for c in wrong] == ["pass", "pass"]  # type: ignore[attr-defined]
    (wide,) = checks["rdma-write-node-wide-gid"]
    assert wide.passed, wide.evidence  # type: ignore[attr-defined]
    assert vm.run(["ip", "netns", "list"]).out.strip() == ""
    assert "rx" + report.run_id not in vm.run(["rdma", "link"]).out


REAL_TREE_CHECKS = {
    "discover-real-sysfs", "discover-vs-rdma-link", "discover-vs-rdma-system",
    "discover-vs-ibv_devices", "discover-vs-ibv_devinfo", "show-gids-vs-sysfs",
    "show-gids-vs-ibv_devinfo-v", "ibdev2netdev-vs-rdma-link", "doctor-healthy-rxe",
    "doctor-finds-port.not-active", "doctor-finds-roce.no-ipv4-v2-gid"}


def test_views_and_doctor_on_the_real_tree(vm: Machine, tmp_path: Path) -> None:
    """discover, show-gids, ibdev2netdev and doctor on the guest's real RDMA sysfs, against
    the real tools; doctor quiet on a healthy rxe node and right on two real faults."""
    from dualnet.lab import where
    from dualnet.lab.vm.realsys import real_sysfs_checks

    with where.using(vm):
        checks, real = real_sysfs_checks(tmp_path, "t1")
    by = {c.name: c for c in checks}
    assert set(by) == REAL_TREE_CHECKS
    assert [(c.name, c.evidence) for c in checks if c.result != "pass"] == []
    assert real is not None and "GID[" in real.tools["ibv_devinfo_v.txt"]
    assert "active_mtu 4096" in by["discover-real-sysfs"].evidence  # MTU 9000: healthy
    assert "netdev dnvt1 down" in by["doctor-finds-port.not-active"].evidence
    assert "rxt1r" not in vm.run(["rdma", "link"]).out  # torn down


def test_prepare_for_real_in_the_guest(vm: Machine) -> None:
    """prepare's engine on the guest's kernel: dry run, real run, second run, EBUSY, the
    management-link refusal; the guest left as found."""
    from dualnet.lab import where
    from dualnet.lab.vm.guestprep import prepare_checks

    with where.using(vm):
        checks = prepare_checks("t2")
    assert [c.name for c in checks] == [
        "prepare-dry-run-changes-nothing", "prepare-in-guest",
        "prepare-second-run-changes-nothing", "prepare-netns-ebusy",
        "prepare-refuses-management-link"]
    assert [(c.name, c.evidence) for c in checks if c.result != "pass"] == []
    assert vm.run(["rdma", "system"]).out.startswith("netns shared")
    assert "dnmt2" not in vm.run(["ip", "link"]).out
    assert vm.run(["ip", "route", "show", "default"]).out.strip() == ""


# Every example spec rendered for its sample node(s) (tests/render/cases.py), on the session's
# one boot, with the verdict the netns lab gives it on a kernel with ipvlan (the guest's has
# it). gh200-shared-roce and host-device-whereabouts run in the two tests above/below with every
# RDMA check; ipvlan's transfers are unsupported on rxe (so its run is short), and the rest are
# modes the guest cannot rehearse: `unsupported` with the reason, never a failure.
RUN_WITH_EVERY_CHECK = ("gh200-shared-roce", "host-device-whereabouts")
VM_EXPECTED = {case: verdict for case, verdict in lab_verdicts(ipvlan=True).items()
               if case not in RUN_WITH_EVERY_CHECK}


def test_every_example_is_rehearsed_on_the_vm() -> None:
    assert sorted([*VM_EXPECTED, *RUN_WITH_EVERY_CHECK]) == sorted(CASES)


@pytest.mark.parametrize("case", sorted(VM_EXPECTED))
def test_rendered_example_on_the_vm(vm: Machine, tmp_path: Path, case: str) -> None:
    report = run_lab_vm(_example_nad(case, tmp_path), vm, real_sysfs=False, prepare_host=False,
                        wrong_index=False)
    assert report.verdict == VM_EXPECTED[case], report.reason
    if report.verdict == "unsupported":
        assert report.reason
    else:
        checks = _by_name(report)
        assert [c.result for c in checks["rdma-write-per-pod-rxe"]] == ["unsupported"]  # type: ignore[attr-defined]
        assert all(c.result != "fail" for c in report.checks)
    assert vm.run(["ip", "netns", "list"]).out.strip() == ""


# Every sample node with a bundled spec, as `dualnet sample --node N` renders it. gh200's NAD is
# the gh200-shared-roce example's, which test_macvlan_shared_rdma_on_rxe rehearses with every
# RDMA check (the test shows they are equal rather than spend the VM's time twice); the IB and
# SR-IOV samples are modes the guest cannot rehearse. Samples without a spec stop at the doctor.
SAMPLE_EXPECTED = {"gh200": "same NAD as gh200-shared-roce", "dgx_h100_ib": "unsupported",
                   "roce_sriov": "unsupported"}


def test_every_sample_with_a_spec_is_rehearsed_on_the_vm() -> None:
    from importlib.resources import files

    bundled = {p.name.removesuffix(".yaml")
               for p in (files("dualnet") / "data" / "examples").iterdir()}
    assert sorted(SAMPLE_EXPECTED) == sorted(bundled)


@pytest.mark.parametrize("node", sorted(SAMPLE_EXPECTED))
def test_sample_node_on_the_vm(vm: Machine, tmp_path: Path, node: str,
                               capsys: pytest.CaptureFixture[str]) -> None:
    from tests.helpers import run_cli

    code, _, err = run_cli(capsys, "sample", "--node", node, "--out", str(tmp_path / "s"))
    assert code == 0, err
    nad = load_nad(tmp_path / "s" / "manifests")
    if node == "gh200":
        example = _example_nad("gh200-shared-roce", tmp_path)
        assert (nad.config, nad.annotations) == (example.config, example.annotations)
        return
    report = run_lab_vm(nad, vm, real_sysfs=False, prepare_host=False, wrong_index=False)
    assert report.verdict == SAMPLE_EXPECTED[node] and report.reason, report.reason
    assert vm.run(["ip", "netns", "list"]).out.strip() == ""


def test_host_device_dedicated_rdma(vm: Machine, tmp_path: Path) -> None:
    # discover-vs-real-tools ran in the macvlan test on the same kernel: not again
    report = run_lab_vm(_example_nad("host-device-whereabouts", tmp_path), vm, real_sysfs=False,
                        prepare_host=False, wrong_index=False)  # ran in the macvlan test
    checks = _by_name(report)
    assert report.verdict == "pass", report.reason
    assert [c.result for c in checks["rdma-write-dedicated"]] == ["pass"]  # type: ignore[attr-defined]
    assert "rdma-write-master-shared" not in checks


_BOOT_AND_WAIT = """
import sys, time
from dualnet.lab.vm.kernel import cached_kernel
from dualnet.lab.vm.machine import Machine
m = Machine(cached_kernel(), accel="tcg")
try:
    m.start()
    print("UP", m.pid, m._dir, flush=True)
    time.sleep(120)
except KeyboardInterrupt:
    sys.exit(130)
finally:
    m.close()
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_leaves_no_qemu_and_no_temp_files(sig: signal.Signals, tmp_path: Path) -> None:
    vm_kernel()
    # a private TMPDIR: other runs on a shared machine make and remove dualnet-vm-* too
    # `with`: the pipe is closed however the test ends (warnings are errors: an unclosed one fails)
    with subprocess.Popen([sys.executable, "-c", _BOOT_AND_WAIT], stdout=subprocess.PIPE,
                          text=True, env={**os.environ, "TMPDIR": str(tmp_path)}) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        assert line[:1] == ["UP"], line
        qemu_pid, temp = int(line[1]), Path(line[2])
        assert temp.is_dir()
        proc.send_signal(sig)
        proc.wait(timeout=60)
    assert proc.returncode != 0
    deadline = time.monotonic() + 10
    while Path(f"/proc/{qemu_pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{qemu_pid}").exists(), "QEMU outlived dualnet"
    assert not temp.exists()
    assert temp.parent == tmp_path and list(tmp_path.iterdir()) == []


def test_a_kernel_that_does_not_boot_is_an_error_and_leaves_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dualnet.lab.vm.kernel import Kernel

    real = vm_kernel()
    bogus = tmp_path / "vmlinuz"
    bogus.write_bytes(b"not a kernel")
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))  # other runs share /tmp
    machine = Machine(Kernel(vmlinuz=bogus, release=real.release,
                             modules_base=real.modules_base), accel="tcg")
    with pytest.raises(VmError, match="QEMU exited"):
        machine.start()
    assert machine.pid is None
    assert list(private.iterdir()) == []


def test_exclusive_mode_from_boot() -> None:
    """ib_core.netns_mode=0 on the command line: exclusive from boot; a namespace without
    the device sees none (a second, short boot)."""
    with Machine(vm_kernel(), accel="tcg", netns_mode="exclusive") as m:
        assert m.modprobe("rdma_rxe", "veth").ok
        assert m.run(["rdma", "system"]).out.startswith("netns exclusive")
        setup = ("ip netns add dnx-pod && ip link add dnxv type veth peer name dnxp && "
                 "ip link set dnxv up && rdma link add dnxrxe type rxe netdev dnxv")
        assert m.run(["sh", "-c", setup]).ok
        assert "dnxrxe" in m.run(["rdma", "dev"]).out
        assert "dnxrxe" not in m.run(["ip", "netns", "exec", "dnx-pod", "rdma", "dev"]).out
        # setting exclusive again while namespaces exist is refused by the kernel (EBUSY)
        again = m.run(["rdma", "system", "set", "netns", "shared"])
        assert not again.ok and "busy" in again.err.lower()
        # RDMA CNI's move: the device re-registers in the pod, and ib_mad cannot make its QP1
        # again, which is why rping (RDMA CM) between moved-in devices is `unsupported`
        from dualnet.lab import where
        from dualnet.lab.vm.rdma import mad_qp1_failure

        with where.using(m):
            assert mad_qp1_failure("dnxrxe") == ""
            assert m.run(["rdma", "dev", "set", "dnxrxe", "netns", "dnx-pod"]).ok
            assert "dnxrxe" in m.run(["ip", "netns", "exec", "dnx-pod", "rdma", "dev"]).out
            assert "Couldn't create ib_mad QP1" in mad_qp1_failure("dnxrxe")
