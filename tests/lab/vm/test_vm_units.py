"""`lab --vm` pieces that need no VM: the agent's wire format, QEMU's command line, the private
apt, the real-kernel sysfs fixture through discover and against the real tools' output."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from dualnet.host.discover import discover
from dualnet.lab.models import Check
from dualnet.lab.vm import agent, kernel
from dualnet.lab.vm.machine import qemu_argv
from dualnet.lab.vm.rdma import bw_average
from dualnet.lab.vm.realsys import RealSys, compare, parse_snapshot

FIXTURE = Path(__file__).parent / "fixtures" / "rxe-7.3.4"


def _fixture_tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(FIXTURE / "root", root, symlinks=True)
    (root / "sys/bus/pci/devices").mkdir(parents=True, exist_ok=True)  # see the fixture's README
    return root


def _tools() -> dict[str, str]:
    return {p.name: p.read_text() for p in FIXTURE.glob("*.txt")}


def test_agent_request_round_trip() -> None:
    line = agent.encode_request(7, "echo 'a b'\n", b"\x00in\n")
    assert line.endswith(b"\n") and line.count(b" ") == 2 and line.count(b"\n") == 1
    reply = b"R 7 3 " + __import__("base64").b64encode(b"out\n") + b" \n"
    got, r = agent.decode_reply(reply)
    assert (got, r.rc, r.stdout, r.stderr) == (7, 3, b"out\n", b"")
    with pytest.raises(agent.AgentError):
        agent.decode_reply(b"garbage\n")


def test_script_runs_exactly_the_arguments() -> None:
    # the line the guest runs, run here by the same /bin/sh: no word splitting, no expansion
    argv = ["printf", "%s|", "a b", "$HOME", "it's", "*"]
    script = agent.script_for(argv, env={"PATH": "/usr/bin:/bin"}, timeout_s=5)
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout == "a b|$HOME|it's|*|"


def test_script_timeout_is_enforced() -> None:
    script = agent.script_for(["sleep", "5"], env=None, timeout_s=0.2)
    assert subprocess.run(["sh", "-c", script], check=False).returncode == 124


def test_qemu_command_line(tmp_path: Path) -> None:
    k = kernel.Kernel(vmlinuz=tmp_path / "vmlinuz", release="7.3.4+deb13-amd64",
                      modules_base=tmp_path)
    kw = dict(share=tmp_path / "s", sock=tmp_path / "a.sock", console=tmp_path / "c",
              memory_mb=512, cpus=2)
    shared = qemu_argv(k, tmp_path / "i", accel="tcg", netns_mode="shared", **kw)  # type: ignore[arg-type]
    excl = qemu_argv(k, tmp_path / "i", accel="kvm", netns_mode="exclusive", **kw)  # type: ignore[arg-type]
    root_share = next(a for a in shared if a.startswith("local,path=/,"))
    assert "readonly=on" in root_share and "multidevs=remap" in root_share
    assert "ib_core.netns_mode=0" not in " ".join(shared)
    assert "ib_core.netns_mode=0" in excl[excl.index("-append") + 1]
    assert shared[shared.index("-accel") + 1] == "tcg" and "kvm" in excl
    assert "-nic" in shared and shared[shared.index("-nic") + 1] == "none"


def test_private_apt_never_names_the_hosts_configuration(tmp_path: Path) -> None:
    opts = " ".join(kernel.apt_options(tmp_path))
    assert "/etc/apt" not in opts and "/var/lib/apt" not in opts and "/var/cache" not in opts
    assert "Dir::State::status=/dev/null" in opts
    assert kernel.sources_line().split()[-2:] == ["trixie-backports", "main"]
    assert kernel.PACKAGES == ("linux-binary-7.3.4+deb13-amd64",
                               "linux-modules-7.3.4+deb13-amd64")


def test_discover_on_the_real_kernel_tree(tmp_path: Path) -> None:
    report = discover(_fixture_tree(tmp_path))
    assert report.problems == []
    (dev,) = report.rdma_devices
    port = dev.ports[0]
    assert (dev.name, port.netdev, port.roce_v2_ipv4_gid_index) == ("rxfxr", "dnvfx", 1)
    assert [g.type for g in port.gids] == ["RoCE v2", "RoCE v2"]
    assert port.gids[1].ipv4 == "10.254.0.1"
    # the defect: a RoCE port on a netdev no PCI function lists had no active MTU, while
    # ibv_devinfo on the same kernel says 1024 (MTU 1500)
    assert port.active_mtu == 1024


def test_discover_agrees_with_the_real_tools(tmp_path: Path) -> None:
    checks = compare(RealSys(root=_fixture_tree(tmp_path), tools=_tools()), "rxfxr")
    assert [c.name for c in checks if not c.passed] == []
    assert {c.name for c in checks} >= {"discover-vs-rdma-link", "discover-vs-ibv_devinfo",
                                        "discover-vs-ibv_devices", "discover-vs-rdma-system"}


def test_a_disagreement_is_a_failure(tmp_path: Path) -> None:
    tools = _tools()
    tools["ibv_devices.txt"] = tools["ibv_devices.txt"].replace("9883befffef62f5b",
                                                                "9883befffef62f5c")
    tools["rdma_system.txt"] = "netns exclusive copy-on-fork on\n"
    checks = compare(RealSys(root=_fixture_tree(tmp_path), tools=tools), "rxfxr")
    assert {c.name for c in checks if not c.passed} == {"discover-vs-ibv_devices",
                                                        "discover-vs-rdma-system"}


DEV = "/sys/devices/virtual/infiniband/rx0"


def test_snapshot_lines_become_a_tree(tmp_path: Path) -> None:
    parse_snapshot(
        "L /sys/class/infiniband/rx0 ../../devices/virtual/infiniband/rx0\n"
        f"F {DEV}/ports/1/gids/0:fe80:0000:0000:0000:0000:0000:0000:0001\n"
        f"F {DEV}/ports/1/gids/2:0000:0000:0000:0000:0000:0000:0000:0000\n"
        "F /sys/devices/virtual/infiniband/rx0/ports/1/counters/x:5\n"
        "C /dev/infiniband/uverbs0\n", tmp_path)
    gids = tmp_path / "sys/class/infiniband/rx0/ports/1/gids"
    assert (tmp_path / "sys/class/infiniband/rx0").is_symlink()
    assert [p.name for p in gids.iterdir()] == ["0"]  # empty slot left out
    assert (gids / "0").read_text() == "fe80:0000:0000:0000:0000:0000:0000:0001\n"
    assert not (tmp_path / "sys/devices/virtual/infiniband/rx0/ports/1/counters").exists()
    assert (tmp_path / "dev/infiniband/uverbs0").is_file()


# source: ib_write_bw (perftest of Debian 12) client in a `lab --vm` guest, 2026-12-01
BW_OUT = """\
---------------------------------------------------------------------------------------
 #bytes     #iterations    BW peak[MB/sec]    BW average[MB/sec]   MsgRate[Mpps]
 65536      20               18.46              18.14  		   0.000290
---------------------------------------------------------------------------------------
"""


def test_bw_average() -> None:
    assert bw_average(BW_OUT) == "18.14"
    assert bw_average("Couldn't connect to 10.0.0.1:18515\n") is None


def test_unsupported_is_neither_pass_nor_failure() -> None:
    from dualnet.lab.models import LabReport

    c = Check(name="x", passed=False, unsupported=True, evidence="rxe cannot")
    assert c.result == "unsupported"
    assert Check(name="y", passed=False, evidence="e").result == "fail"
    report = LabReport(nad="n", nad_type="macvlan", cni_version="1.0.0", run_id="r",
                       verdict="pass", checks=[c])
    assert report.check_counts == {"pass": 0, "fail": 0, "skipped": 0, "unsupported": 1}


class _Recorder:
    """An Executor that records what it is asked to run and answers `rc 0, ok`."""

    name = "recorder"

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def run(self, argv: object, *, stdin: bytes = b"", env: object = None,
            timeout_s: float = 30.0) -> object:
        from dualnet.lab.where import Completed

        self.calls.append(tuple(argv))  # type: ignore[arg-type]
        return Completed(tuple(argv), 0, b"[]", b"")  # type: ignore[arg-type]

    def listdir(self, path: str) -> list[str]:
        return ["dnlab-zz-p0"]

    def is_root(self) -> bool:
        return True

    @property
    def scratch(self) -> Path | None:
        return None


def test_every_thread_of_a_run_reaches_the_same_machine() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from dualnet.lab import netns, where

    rec = _Recorder()
    with where.using(rec):  # type: ignore[arg-type]
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda n: netns.links(n), ["a", "b"]))
        assert netns.list_netns("dnlab-zz") == ["dnlab-zz-p0"]
    assert sorted(rec.calls) == [("ip", "-n", "a", "-j", "addr", "show"),
                                 ("ip", "-n", "b", "-j", "addr", "show")]
    assert where.current() is where.LOCAL


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os
    import sys

    return subprocess.run([sys.executable, "-c", "from dualnet.cli import main; main()", "lab",
                           *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def test_cli_vm_options(tmp_path: Path) -> None:
    nad = str(Path(__file__).parents[1] / "nads" / "macvlan-host-local.yaml")
    no_vm = _cli("--fetch-kernel")
    assert no_vm.returncode == 2 and "need --vm" in no_vm.stderr + no_vm.stdout
    bad = _cli(nad, "--vm", "--accel", "xen", env={"XDG_CACHE_HOME": str(tmp_path)})
    assert bad.returncode == 2 and "auto, kvm or tcg" in bad.stderr + bad.stdout
    none = _cli(nad, "--vm", env={"XDG_CACHE_HOME": str(tmp_path)})
    text = none.stderr + none.stdout
    assert none.returncode == 3 and "--fetch-kernel" in text and "Traceback" not in text


def test_ibdev2netdev_v_of_a_soft_roce_device_reads_back(tmp_path: Path) -> None:
    # the defect: `-v` of a device with no PCI function starts with the empty PCI column, as
    # mlnx-tools' `echo "$x $d ($devid - $partid) ..."` prints it, and dualnet's own parser
    # refused the line
    from dualnet.host.views import ibdev2netdev_text
    from dualnet.parse.ibdev2netdev import parse_ibdev2netdev_rows

    text = ibdev2netdev_text(discover(_fixture_tree(tmp_path)), verbose=True)
    assert text == " rxfxr (NA - NA)  fw NA port 1 (ACTIVE) ==> dnvfx (Up)\n"
    (row,) = parse_ibdev2netdev_rows(text)
    assert (row.ibdev, row.pci_address, row.hca_type, row.netdev, row.carrier_up) == (
        "rxfxr", None, None, "dnvfx", True)


def test_doctor_names_the_mtu_of_a_soft_roce_netdev(tmp_path: Path) -> None:
    # the defect: the netdev under rxe is no PCI NIC, so doctor said "RDMA MTU 1024 of None:
    # its netdev MTU (unknown here)" although discover read dnvfx's MTU 1500
    from dualnet.doctor import diagnose

    (mtu,) = [f for f in diagnose(discover(_fixture_tree(tmp_path))) if f.id == "roce.mtu-low"]
    assert mtu.title == "RoCE port rxfxr/1 runs RDMA MTU 1024 because dnvfx has MTU 1500"
    assert mtu.evidence["netdev_mtu"] == 1500


def test_guest_host_reads_and_writes_through_the_executor(tmp_path: Path) -> None:
    import errno

    from dualnet.lab.vm.guesthost import GuestHost, errno_of
    from dualnet.prepare import HostWriteError

    assert errno_of("sh: 1: cannot create x: Device or resource busy") == errno.EBUSY
    assert errno_of("gibberish") == errno.EIO

    class Failing(_Recorder):
        def run(self, argv: object, **kw: object) -> object:
            from dualnet.lab.where import Completed

            super().run(argv)
            return Completed(tuple(argv), 2, b"", b"sh: 1: cannot create /sys/x: "  # type: ignore[arg-type]
                             b"Device or resource busy\n")

    rec = Failing()
    host = GuestHost(rec)  # type: ignore[arg-type]
    assert host.read("/proc/modules") is None and not host.is_dir("/sys/module/x")
    with pytest.raises(HostWriteError) as err:
        host.write_sysfs("/sys/x", "1")
    assert err.value.errno_name == "EBUSY"
    assert rec.calls[:2] == [("cat", "/proc/modules"), ("test", "-d", "/sys/module/x")]
    # never a file on this machine: the guest's / is the host's own
    target = tmp_path / "dualnet.conf"
    with pytest.raises(RuntimeError, match="read-only"):
        host.write_file(str(target), "x\n")
    assert not target.exists()


FAULTS = Path(__file__).parent / "fixtures" / "rxe-7.3.4-faults"


def _capture(tmp_path: Path, name: str) -> RealSys:
    root = tmp_path / name
    shutil.copytree(FAULTS / name / "root", root, symlinks=True)
    (root / "sys/bus/pci/devices").mkdir(parents=True, exist_ok=True)  # see the fixture's README
    return RealSys(root=root, tools={p.name: p.read_text() for p in (FAULTS / name).glob("*.txt")})


def test_views_and_doctor_on_the_real_healthy_tree(tmp_path: Path) -> None:
    from dualnet.lab.vm.realsys import healthy_checks

    checks = healthy_checks(_capture(tmp_path, "healthy"), "rxfxr")
    assert [(c.name, c.evidence) for c in checks if not c.passed] == []
    assert {"show-gids-vs-sysfs", "show-gids-vs-ibv_devinfo-v", "ibdev2netdev-vs-rdma-link",
            "doctor-healthy-rxe"} <= {c.name for c in checks}


def test_doctor_names_each_real_fault_and_only_there(tmp_path: Path) -> None:
    from dualnet.lab.vm.realtools import doctor_fault_check

    down = discover(_capture(tmp_path, "fault0").root)
    no_ip = discover(_capture(tmp_path, "fault1").root)
    healthy = discover(_capture(tmp_path, "healthy").root)
    assert doctor_fault_check(down, "rxfxr", "down", "port.not-active").passed
    assert doctor_fault_check(no_ip, "rxfxr", "no ip", "roce.no-ipv4-v2-gid").passed
    assert not doctor_fault_check(healthy, "rxfxr", "none", "port.not-active").passed
    assert not doctor_fault_check(healthy, "rxfxr", "none", "roce.no-ipv4-v2-gid").passed


def test_a_row_that_differs_from_the_kernel_fails(tmp_path: Path) -> None:
    from dualnet.lab.vm.realtools import ibdev2netdev_checks, show_gids_checks

    real = _capture(tmp_path, "healthy")
    report = discover(real.root)
    tools = dict(real.tools)
    tools["sysfs_gids.txt"] = tools["sysfs_gids.txt"].replace("\tdnvfx", "\tother", 1)
    assert [c.passed for c in show_gids_checks(report, tools, "rxfxr")] == [False, True]
    assert not ibdev2netdev_checks(report, real.tools, "rxfxr", "0")[0].passed


def test_an_arm64_host_is_refused_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    # the guest runs the host's own binaries: an amd64 guest on a GH200 (aarch64) cannot
    import platform

    from dualnet.lab.vm.machine import Machine, VmError, check_host_arch

    check_host_arch("x86_64")
    with pytest.raises(VmError) as exc:
        check_host_arch("aarch64")
    assert exc.value.exit_code == 3 and "aarch64" in exc.value.message
    assert exc.value.hint and "dualnet lab" in exc.value.hint
    monkeypatch.setattr(platform, "machine", lambda: "aarch64")
    with pytest.raises(VmError, match="aarch64"):
        Machine(kernel.Kernel(vmlinuz=Path("/nonexistent/vmlinuz"),
                              release="7.3.4+deb13-amd64")).start()



# The console tail of a real boot that panicked: Debian's 7.3.4+deb13-amd64 under QEMU TCG on
# this project's machine (test_exclusive_mode_from_boot, 2026-12-01), as VmError quoted it.
PANIC_TAIL = Path(__file__).parent / "fixtures" / "boot-panic-tcg-7.3.4.txt"


def test_a_panicked_boot_is_told_from_a_clean_one() -> None:
    from dualnet.lab.vm.machine import boot_panic

    assert boot_panic(PANIC_TAIL.read_text()) == "Fatal exception in interrupt"
    oops = "[    1.7] BUG: kernel NULL pointer dereference, address: 0000000000000000\n"
    assert boot_panic(oops + PANIC_TAIL.read_text()) == (
        "Fatal exception in interrupt; BUG: kernel NULL pointer dereference, address: "
        "0000000000000000")
    assert boot_panic(PANIC_TAIL.read_text().replace("Kernel panic - not syncing", "")) is None
    assert boot_panic("") is None


@pytest.mark.parametrize("panics", [1, 2])
def test_a_boot_that_panics_boots_once_more_and_says_so(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, panics: int) -> None:
    from dualnet.lab.vm import machine as machine_mod
    from dualnet.lab.vm.machine import Machine, VmError

    boots: list[str] = []

    def fake_boot(self: Machine, initrd: Path, accel: str, timeout_s: float) -> None:
        boots.append(accel)
        assert self.console_log is not None
        if len(boots) <= panics:
            self.console_log.write_text(PANIC_TAIL.read_text())
            raise VmError("QEMU exited with 0: ...")
        self.console_log.write_text("[    2.0] dualnet agent ready\n")

    monkeypatch.setattr(machine_mod, "build_initramfs", lambda k: tmp_path / "initrd")
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr(Machine, "_boot", fake_boot)
    vm = Machine(kernel.Kernel(vmlinuz=tmp_path / "vmlinuz", release="7.3.4+deb13-amd64",
                               modules_base=tmp_path), accel="tcg")
    if panics == 1:
        info = vm.start()
        vm.close()
        assert boots == ["tcg", "tcg"] and info.accel == "tcg"
        assert info.attempts == ["tcg: the guest kernel panicked while booting "
                                 "(Fatal exception in interrupt); booted again"]
    else:
        with pytest.raises(VmError, match="QEMU exited"):
            vm.start()
        assert boots == ["tcg", "tcg"]  # a second panic stands
