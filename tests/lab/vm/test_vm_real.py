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

from dualnet.lab.nad import load_nad
from dualnet.lab.vm.machine import Machine, VmError
from dualnet.lab.vm.session import run_lab_vm
from tests.helpers import NADS, vm_kernel

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


def test_macvlan_shared_rdma_on_rxe(vm: Machine) -> None:
    report = run_lab_vm(load_nad(NADS / "macvlan-host-local.yaml"), vm)
    checks = _by_name(report)
    assert report.verdict == "pass", report.reason
    # the guide's shared RoCE: each pod's net1 IPv4 is a RoCE v2 GID on the master's device
    on_master = checks["roce-gid-on-master"]
    assert len(on_master) == 2 and all(c.passed for c in on_master)  # type: ignore[attr-defined]
    assert all("ndev net1" in c.evidence for c in on_master)  # type: ignore[attr-defined]
    (shared,) = checks["rdma-write-master-shared"]
    assert shared.result == "unsupported" and "rxe" in shared.evidence  # type: ignore[attr-defined]
    for name in ("rdma-write-per-pod-rxe", "rping-per-pod-rxe",
                 "rdma-write-wrong-gid-fails-per-pod-rxe", "discover-vs-ibv_devinfo",
                 "discover-vs-rdma-link"):
        assert [c.result for c in checks[name]] == ["pass"], name  # type: ignore[attr-defined]
    assert "MB/s average" in checks["rdma-write-per-pod-rxe"][0].evidence  # type: ignore[attr-defined]
    assert "VM: Linux 7.3.4" in report.machine
    # nothing of the run is left in the guest
    assert vm.run(["ip", "netns", "list"]).out.strip() == ""
    assert "rx" + report.run_id not in vm.run(["rdma", "link"]).out


def test_host_device_dedicated_rdma(vm: Machine) -> None:
    # discover-vs-real-tools ran in the macvlan test on the same kernel: not again
    report = run_lab_vm(load_nad(NADS / "host-device-static.yaml"), vm, real_sysfs=False)
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
def test_signal_leaves_no_qemu_and_no_temp_files(sig: signal.Signals) -> None:
    vm_kernel()
    before = {p.name for p in Path(tempfile.gettempdir()).glob("dualnet-vm-*")}
    proc = subprocess.Popen([sys.executable, "-c", _BOOT_AND_WAIT], stdout=subprocess.PIPE,
                            text=True)
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
    after = {p.name for p in Path(tempfile.gettempdir()).glob("dualnet-vm-*")}
    assert after <= before


def test_a_kernel_that_does_not_boot_is_an_error_and_leaves_nothing(tmp_path: Path) -> None:
    from dualnet.lab.vm.kernel import Kernel

    real = vm_kernel()
    bogus = tmp_path / "vmlinuz"
    bogus.write_bytes(b"not a kernel")
    before = {p.name for p in Path(tempfile.gettempdir()).glob("dualnet-vm-*")}
    machine = Machine(Kernel(vmlinuz=bogus, release=real.release,
                             modules_base=real.modules_base), accel="tcg")
    with pytest.raises(VmError, match="QEMU exited"):
        machine.start()
    assert machine.pid is None
    assert {p.name for p in Path(tempfile.gettempdir()).glob("dualnet-vm-*")} <= before


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
