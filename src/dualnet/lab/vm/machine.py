"""One throw-away VM standing for a node: QEMU with the guest kernel, the busybox initramfs, the
host's / read-only over 9p, one writable share (the run's scratch directory, at the same path in
the guest), and the agent on a virtio-serial port. `Machine` is an `Executor` (lab/where.py),
so the lab's own code runs its commands in the guest unchanged.

Cleanup, whatever happens: QEMU runs with PR_SET_PDEATHSIG=SIGKILL (if this process dies, even
by SIGKILL, QEMU dies with it) and in its own session (a terminal's Ctrl-C reaches only dualnet,
which then powers the guest off); `close()` asks the agent to power off, then terminates, then
kills, and removes the temp directory. SIGTERM while a machine is up is turned into the same
exception path as Ctrl-C.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Literal

from dualnet.errors import DualnetError, HostError
from dualnet.lab.vm import agent as agent_mod
from dualnet.lab.vm.initramfs import HOST_TAG, WORK_TAG, build_initramfs
from dualnet.lab.vm.kernel import Kernel, cache_dir
from dualnet.lab.where import Completed

Accel = Literal["auto", "kvm", "tcg"]
NetnsMode = Literal["shared", "exclusive"]
QEMU = "qemu-system-x86_64"
PR_SET_PDEATHSIG = 1
TCG_BOOT_TIMEOUT_S = 180.0
KVM_PROBE_TIMEOUT_S = 25.0  # a working KVM boots in a few seconds; a hung one never does


class VmError(DualnetError):
    """The VM could not be started or stopped answering."""

    exit_code = 3


class VmInterruptedError(DualnetError):
    exit_code = 130


GUEST_ARCH = "x86_64"


def check_host_arch(machine: str) -> None:
    """The guest runs the host's own `/` (its busybox, ip, rdma-core, perftest, CNI plugins) over
    9p, so it must be of the host's architecture, and only an amd64 guest is built today. On an
    arm64 host (GH200, GB200) that needs qemu-system-aarch64, Debian's arm64 kernel and the same
    userland: refuse with the reason rather than boot a kernel that cannot run the host's
    binaries."""
    if machine != GUEST_ARCH:
        raise VmError(
            f"lab --vm builds an {GUEST_ARCH} guest that runs this host's own binaries; this "
            f"host is {machine or 'of unknown architecture'}",
            hint="run `dualnet lab` (network namespaces, no VM) here, or `lab --vm` on an "
                 "amd64 machine; an arm64 guest (qemu-system-aarch64) is not built yet")


def _die_with_parent() -> None:
    # runs in the child between fork and exec: QEMU must never outlive dualnet
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def kvm_usable() -> bool:
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


def _probe_file() -> Path:
    return cache_dir() / "kvm-probe.json"


def _probe_key() -> str:
    return f"{os.uname().release} {shutil.which(QEMU)}"


def kvm_known_broken() -> str:
    """The recorded reason when KVM already hung on this host (kernel + QEMU), else ''."""
    try:
        data = json.loads(_probe_file().read_text())
    except (OSError, ValueError):
        return ""
    return str(data.get("reason", "")) if data.get("key") == _probe_key() else ""


def _record_kvm_broken(reason: str) -> None:
    try:
        _probe_file().parent.mkdir(parents=True, exist_ok=True)
        _probe_file().write_text(json.dumps({"key": _probe_key(), "reason": reason}))
    except OSError:
        pass


def qemu_argv(kernel: Kernel, initrd: Path, *, accel: Literal["kvm", "tcg"], share: Path,
              sock: Path, console: Path, netns_mode: NetnsMode, memory_mb: int,
              cpus: int) -> list[str]:
    append = ["console=ttyS0", "quiet", "panic=-1", f"dualnet.work={share}"]
    if netns_mode == "exclusive":
        # exclusive from boot: `rdma system set netns exclusive` refuses while namespaces exist
        append.append("ib_core.netns_mode=0")
    cpu = ["-accel", "kvm", "-cpu", "host"] if accel == "kvm" else ["-accel", "tcg", "-cpu", "max"]
    return [
        QEMU, "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
        "-machine", "q35", *cpu, "-smp", str(cpus), "-m", str(memory_mb),
        "-kernel", str(kernel.vmlinuz), "-initrd", str(initrd), "-append", " ".join(append),
        "-serial", f"file:{console}", "-monitor", "none", "-nic", "none",
        "-virtfs", f"local,path=/,mount_tag={HOST_TAG},security_model=none,readonly=on,"
                   "multidevs=remap",
        "-virtfs", f"local,path={share},mount_tag={WORK_TAG},security_model=none,"
                   "multidevs=remap",
        "-device", "virtio-serial-pci",
        "-chardev", f"socket,id=agent,path={sock},server=on,wait=off",
        "-device", f"virtserialport,chardev=agent,name={agent_mod.PORT_NAME}",
    ]


_PANIC = re.compile(r"Kernel panic - not syncing: ([^\r\n]*)")
_OOPS = re.compile(r"^\[[ \d.]+\] ((?:BUG|Oops|RIP): [^\r\n]*)", re.MULTILINE)


def boot_panic(console: str) -> str | None:
    """What the guest kernel said when it panicked (the panic's reason and the oops's first
    BUG/Oops/RIP line), or None when the console shows no panic."""
    found = _PANIC.search(console)
    if found is None:
        return None
    oops = _OOPS.search(console)
    reason = found.group(1).strip()
    return f"{reason}; {oops.group(1).strip()}" if oops else reason


@dataclass
class BootInfo:
    accel: str
    accel_note: str = ""
    release: str = ""
    boot_s: float = 0.0
    attempts: list[str] = field(default_factory=list)


class Machine:
    """A booted guest. Use as a context manager; `run()` executes an argument list in it."""

    name = "vm"

    def __init__(self, kernel: Kernel, *, accel: Accel = "auto", netns_mode: NetnsMode = "shared",
                 memory_mb: int = 1024, cpus: int = 2,
                 boot_timeout_s: float = TCG_BOOT_TIMEOUT_S) -> None:
        self.kernel = kernel
        self.accel: Accel = accel
        self.netns_mode: NetnsMode = netns_mode
        self.memory_mb = memory_mb
        self.cpus = cpus
        self.boot_timeout_s = boot_timeout_s
        self.info = BootInfo(accel="")
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._client: agent_mod.AgentClient | None = None
        self._old_term: Any = None

    # --- lifecycle ----------------------------------------------------------------------------
    @property
    def share(self) -> Path:
        assert self._dir is not None, "machine not started"
        return self._dir / "share"

    @property
    def scratch(self) -> Path | None:
        return self.share

    @property
    def console_log(self) -> Path | None:
        return self._dir / "console.log" if self._dir else None

    def start(self) -> BootInfo:
        check_host_arch(platform.machine())
        if shutil.which(QEMU) is None:
            raise VmError(f"{QEMU} is not installed", hint="apt-get install qemu-system-x86")
        if self.kernel.modules_base is None and self.kernel.initrd is None:
            raise VmError("the kernel has no module tree and no initrd was given")
        initrd = build_initramfs(self.kernel)
        self._dir = Path(tempfile.mkdtemp(prefix="dualnet-vm-"))
        self.share.mkdir()
        (self.share / "agent.sh").write_text(agent_mod.AGENT_SH)
        if self.kernel.modules_base is not None:
            (self.share / "bin").mkdir()
            wrapper = self.share / "bin" / "modprobe"
            wrapper.write_text(agent_mod.modprobe_wrapper(str(self.kernel.modules_base)))
            wrapper.chmod(0o755)
        self._install_sigterm()
        t0 = time.monotonic()
        try:
            order: list[Literal["kvm", "tcg"]]
            if self.accel == "tcg":
                order = ["tcg"]
            elif self.accel == "kvm":
                order = ["kvm"]
            else:
                broken = kvm_known_broken()
                if not kvm_usable():
                    self.info.accel_note = "no usable /dev/kvm"
                    order = ["tcg"]
                elif broken:
                    self.info.accel_note = f"KVM skipped: {broken}"
                    order = ["tcg"]
                else:
                    order = ["kvm", "tcg"]
            pending = list(order)
            panicked = False
            while pending:
                accel = pending.pop(0)
                timeout = KVM_PROBE_TIMEOUT_S if accel == "kvm" and len(order) > 1 else \
                    self.boot_timeout_s
                try:
                    self._boot(initrd, accel, timeout)
                    self.info.accel = accel
                    break
                except VmError as exc:
                    self.info.attempts.append(f"{accel}: {exc.message}")
                    panic = boot_panic(self._console_text() or "")
                    self._stop_qemu()
                    if panic is not None and not panicked and accel == "tcg":
                        # Under TCG the guest kernel has, rarely, oopsed in an interrupt while
                        # it booted (seen once in a day of test runs); that is no fact about
                        # what the lab checks, so it boots once more. A second panic stands,
                        # and the first stays in `attempts`.
                        panicked = True
                        self.info.attempts[-1] = f"{accel}: the guest kernel panicked while " \
                            f"booting ({panic}); booted again"
                        pending.insert(0, accel)
                        continue
                    if accel == "kvm" and len(order) > 1:
                        # the console tail stays in `attempts`; the note is one line
                        reason = f"KVM did not boot within {timeout:g} s"
                        _record_kvm_broken(reason)
                        self.info.accel_note = f"{reason}: fell back to TCG"
                        continue
                    raise
            self.info.boot_s = time.monotonic() - t0
            return self.info
        except BaseException:
            self.close()
            raise

    def _boot(self, initrd: Path, accel: Literal["kvm", "tcg"], timeout_s: float) -> None:
        assert self._dir is not None
        sock = self._dir / "agent.sock"
        sock.unlink(missing_ok=True)
        console = self._dir / "console.log"
        argv = qemu_argv(self.kernel, initrd, accel=accel, share=self.share, sock=sock,
                         console=console, netns_mode=self.netns_mode,
                         memory_mb=self.memory_mb, cpus=self.cpus)
        self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, start_new_session=True,
                                      preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout_s
        conn = None
        while conn is None:
            if self._proc.poll() is not None:
                out = self._proc.stdout.read().decode(errors="replace") if self._proc.stdout \
                    else ""
                raise VmError(f"QEMU exited with {self._proc.returncode}: "
                              f"{out.strip()[-300:] or self._console_tail()}")
            if time.monotonic() > deadline:
                raise VmError("QEMU did not open the agent socket")
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(str(sock))
                conn = s
            except OSError:
                s.close()
                time.sleep(0.05)
        self._client = agent_mod.AgentClient(conn)
        try:
            self.info.release = self._client.wait_ready(max(1.0, deadline - time.monotonic()))
        except agent_mod.AgentError as exc:
            # a kernel that does not boot makes QEMU exit while the agent waits: say that, not
            # the socket error it caused (which one the agent sees first is a race)
            try:
                code = self._proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                code = None
            if code is not None:
                out = self._proc.stdout.read().decode(errors="replace") if self._proc.stdout \
                    else ""
                raise VmError(f"QEMU exited with {code}: "
                              f"{out.strip()[-300:] or self._console_tail()}") from exc
            raise VmError(f"{exc}; console: {self._console_tail()}") from exc

    def _console_text(self) -> str | None:
        """The guest's console so far; None when the log cannot be read."""
        log = self.console_log
        try:
            return log.read_text(errors="replace") if log else ""
        except OSError:
            return None

    def _console_tail(self, lines: int = 8) -> str:
        text = self._console_text()
        if text is None:
            return "(no console log)"
        return " | ".join(text.strip().splitlines()[-lines:]) or "(empty console)"

    def _install_sigterm(self) -> None:
        def handler(signum: int, _frame: FrameType | None) -> None:
            raise VmInterruptedError(f"interrupted by {signal.Signals(signum).name}")

        try:
            self._old_term = signal.signal(signal.SIGTERM, handler)
        except ValueError:  # not the main thread
            self._old_term = None

    def _stop_qemu(self) -> None:
        client, self._client = self._client, None
        proc, self._proc = self._proc, None
        if client is not None:
            client.quit()
        if proc is not None:
            try:
                proc.wait(timeout=10 if client is not None else 0.1)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        if client is not None:
            client.close()

    def close(self) -> None:
        """Power off, reap QEMU, remove the temp directory. Safe to call twice."""
        try:
            self._stop_qemu()
        finally:
            if self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
                self._dir = None
            if self._old_term is not None:
                with contextlib.suppress(ValueError):
                    signal.signal(signal.SIGTERM, self._old_term)
                self._old_term = None

    def __enter__(self) -> Machine:
        if self._client is None:
            self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    # --- Executor -----------------------------------------------------------------------------
    def run(self, argv: Sequence[str], *, stdin: bytes = b"",
            env: Mapping[str, str] | None = None, timeout_s: float = 30.0) -> Completed:
        if self._client is None:
            raise VmError("the VM is not running")
        args = tuple(str(a) for a in argv)
        # the modprobe wrapper first on PATH: a plain `modprobe X` (prepare's) finds the
        # cached kernel's module tree, as the kernel's own module requests do
        path = f"{self.share}/bin:{agent_mod.GUEST_PATH}"
        script = agent_mod.script_for(args, env=env if env is not None else
                                      {"PATH": path, "LC_ALL": "C"}, timeout_s=timeout_s)
        try:
            reply = self._client.request(script, stdin, timeout_s=timeout_s + 15)
        except agent_mod.AgentError as exc:
            raise VmError(f"guest agent: {exc}", hint=f"console: {self._console_tail()}") from exc
        # timeout(1): 124 when it fired, 137 when it had to SIGKILL; 127 not found, 126 not exec
        timed_out = reply.rc in (124, 137)
        return Completed(args, reply.rc, reply.stdout, reply.stderr, timed_out=timed_out)

    def shell(self, script: str, *, timeout_s: float = 60.0) -> Completed:
        """A shell script in the guest, for composite steps (a server in the background and
        its client) that argument lists cannot express. Callers quote with shlex."""
        return self.run(["sh", "-c", script], timeout_s=timeout_s)

    def listdir(self, path: str) -> list[str]:
        res = self.run(["ls", "-1A", path])
        return [n for n in res.out.splitlines() if n] if res.ok else []

    def is_root(self) -> bool:
        return True

    def read_file(self, path: str) -> str | None:
        res = self.run(["cat", path])
        return res.out if res.ok else None

    def modprobe(self, *modules: str) -> Completed:
        if self.kernel.modules_base is None:
            return self.run(["modprobe", "-a", *modules], timeout_s=120)
        return self.run(["modprobe", "-d", str(self.kernel.modules_base), "-a", *modules],
                        timeout_s=120)


def boot_error_hint() -> str:
    return ("dualnet lab --vm --fetch-kernel fetches Debian's kernel; or pass --kernel and "
            "--initrd (or --modules)")


def require(ok: bool, message: str) -> None:
    if not ok:
        raise HostError(message, hint=boot_error_hint())
