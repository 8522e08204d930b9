"""The guest agent: a shell loop in the guest reading one request per line from a virtio-serial
port, and its host-side client. Python stays on the host (under TCG over 9p the guest's Python
takes minutes to start); the guest only runs the commands.

Wire format, one line each way, fields separated by single spaces, payloads base64 (so any
bytes cross and no field holds a space or newline):
  host -> guest   `<id> <script> <stdin>`        (`QUIT` alone powers the guest off)
  guest -> host   `R <id> <rc> <stdout> <stderr>`
and once, when the agent starts, `READY <kernel release>`.
"""

from __future__ import annotations

import base64
import contextlib
import shlex
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

PORT_NAME = "dualnet.agent"
GUEST_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"

# Runs under the host's /bin/sh after the chroot. The modprobe wrapper lets the kernel's own
# module requests (a veth, a macvlan) find the cached tree.
AGENT_SH = r"""#!/bin/sh
W=$(dirname "$0")
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C HOME=/tmp
[ -x "$W/bin/modprobe" ] && echo "$W/bin/modprobe" > /proc/sys/kernel/modprobe
PORT=
for d in /sys/class/virtio-ports/*; do
  [ "$(cat "$d/name" 2>/dev/null)" = "dualnet.agent" ] && PORT="/dev/${d##*/}"
done
[ -n "$PORT" ] || {
  echo "dualnet-agent: no virtio port named dualnet.agent"; echo o > /proc/sysrq-trigger; }
T=/tmp/.dualnet-agent
mkdir -p "$T"
exec 3<>"$PORT"
echo "READY $(uname -r)" >&3
while IFS=' ' read -r id cmd inp <&3; do
  [ "$id" = QUIT ] && break
  printf %s "$cmd" | base64 -d > "$T/cmd"
  if [ "$inp" = - ]; then : > "$T/in"; else printf %s "$inp" | base64 -d > "$T/in"; fi
  sh "$T/cmd" < "$T/in" > "$T/out" 2> "$T/err"
  rc=$?
  printf 'R %s %s %s %s\n' "$id" "$rc" "$(base64 -w0 < "$T/out")" "$(base64 -w0 < "$T/err")" >&3
done
sync
echo o > /proc/sysrq-trigger
"""


def modprobe_wrapper(modules_base: str) -> str:
    return f'#!/bin/sh\nexec /sbin/modprobe -d {shlex.quote(modules_base)} "$@"\n'


class AgentError(Exception):
    """The agent stopped answering (the guest died, hung, or closed the port)."""


@dataclass(frozen=True)
class Reply:
    rc: int
    stdout: bytes
    stderr: bytes


def encode_request(req_id: int, script: str, stdin: bytes = b"") -> bytes:
    b64 = base64.b64encode
    # an empty field would collapse under `read`; "-" stands for it and decodes to nothing
    cmd = b64(script.encode()).decode() or b64(b":").decode()
    inp = b64(stdin).decode() or "-"
    return f"{req_id} {cmd} {inp}\n".encode()


def decode_reply(line: bytes) -> tuple[int, Reply]:
    parts = line.decode("ascii", "replace").rstrip("\n").split(" ")
    if len(parts) < 3 or parts[0] != "R":
        raise AgentError(f"unexpected line from the agent: {line[:80]!r}")
    out = base64.b64decode(parts[3]) if len(parts) > 3 else b""
    err = base64.b64decode(parts[4]) if len(parts) > 4 else b""
    return int(parts[1]), Reply(rc=int(parts[2]), stdout=out, stderr=err)


def script_for(argv: Sequence[str], *, env: Mapping[str, str] | None, timeout_s: float) -> str:
    """The shell line that runs `argv` in the guest: exactly these arguments (quoted, never
    re-split), a clean environment when `env` is given, killed after `timeout_s`."""
    cmd = [str(a) for a in argv]
    if env is not None:
        cmd = ["env", "-i", *(f"{k}={v}" for k, v in env.items()), *cmd]
    return f"cd / && exec timeout -k 2 {timeout_s:g} {shlex.join(cmd)}\n"


class AgentClient:
    """One connection to the agent; requests are answered in order, one at a time."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = b""
        self._lock = threading.Lock()
        self._next = 1
        self.release = ""

    def _readline(self, deadline: float) -> bytes:
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AgentError("the guest agent did not answer in time")
            self._sock.settimeout(min(left, 5.0))
            try:
                chunk = self._sock.recv(1 << 16)
            except TimeoutError:
                continue
            except OSError as exc:
                raise AgentError(f"agent connection failed: {exc}") from exc
            if not chunk:
                raise AgentError("the guest closed the agent port (it powered off or died)")
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line + b"\n"

    def wait_ready(self, timeout_s: float, alive: object = None) -> str:
        deadline = time.monotonic() + timeout_s
        while True:
            line = self._readline(deadline).decode("ascii", "replace").strip()
            if line.startswith("READY"):
                self.release = line.partition(" ")[2]
                return self.release

    def request(self, script: str, stdin: bytes = b"", *, timeout_s: float) -> Reply:
        with self._lock:
            req_id = self._next
            self._next += 1
            try:
                self._sock.sendall(encode_request(req_id, script, stdin))
            except OSError as exc:
                raise AgentError(f"agent connection failed: {exc}") from exc
            deadline = time.monotonic() + timeout_s
            while True:
                got, reply = decode_reply(self._readline(deadline))
                if got == req_id:
                    return reply

    def quit(self) -> None:
        with contextlib.suppress(OSError), self._lock:
            self._sock.sendall(b"QUIT\n")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()
