"""Where the lab's commands run: this machine (the default) or a guest (`dualnet lab --vm`).

The lab's modules say *what* to run (an `ip` argument list, a CNI plugin with its environment
and stdin); an `Executor` decides *where*. `using(executor)` swaps it for a block. It is a
process-wide setting, not a context variable, on purpose: the lab's checks fan out over thread
pools, and every thread of a run must reach the same machine.

A check that must run something in a pod (an RDMA transfer, an NCCL probe) calls
`in_netns(pod_netns, argv)`; on a VM that runs inside the guest's namespace of that name.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: bytes = b""
    stderr: bytes = b""
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def out(self) -> str:
        return self.stdout.decode(errors="replace")

    @property
    def err(self) -> str:
        return self.stderr.decode(errors="replace")


class Executor(Protocol):
    """Runs argument lists somewhere; never a shell string."""

    name: str

    def run(self, argv: Sequence[str], *, stdin: bytes = b"",
            env: Mapping[str, str] | None = None, timeout_s: float = 30.0) -> Completed:
        """`argv` with `env` as its whole environment (None: a minimal PATH/LC_ALL one)."""
        ...

    def listdir(self, path: str) -> list[str]:
        """Names in a directory of that machine; [] when it does not exist."""
        ...

    def is_root(self) -> bool: ...

    @property
    def scratch(self) -> Path | None:
        """A host directory the machine sees at the same path (for run dirs); None: /tmp."""
        ...


class LocalExecutor:
    name = "local"

    def run(self, argv: Sequence[str], *, stdin: bytes = b"",
            env: Mapping[str, str] | None = None, timeout_s: float = 30.0) -> Completed:
        args = tuple(str(a) for a in argv)
        try:
            proc = subprocess.run(list(args), input=stdin, capture_output=True,
                                  env=dict(env) if env is not None else _ENV, timeout=timeout_s,
                                  check=False)
        except subprocess.TimeoutExpired:
            return Completed(args, 124, b"", f"timed out after {timeout_s:g} s".encode(),
                             timed_out=True)
        except FileNotFoundError:
            raise
        except OSError as exc:
            return Completed(args, 126, b"", f"cannot execute {args[0]}: {exc}".encode())
        return Completed(args, proc.returncode, proc.stdout, proc.stderr)

    def listdir(self, path: str) -> list[str]:
        p = Path(path)
        return [c.name for c in p.iterdir()] if p.is_dir() else []

    def is_root(self) -> bool:
        return os.geteuid() == 0

    @property
    def scratch(self) -> Path | None:
        return None


LOCAL = LocalExecutor()
_lock = threading.Lock()
_stack: list[Executor] = [LOCAL]


def current() -> Executor:
    return _stack[-1]


@contextmanager
def using(executor: Executor) -> Iterator[Executor]:
    with _lock:
        _stack.append(executor)
    try:
        yield executor
    finally:
        with _lock:
            _stack.remove(executor)


def in_netns(netns: str, argv: Sequence[str], *, timeout_s: float = 30.0,
             stdin: bytes = b"") -> Completed:
    """`argv` inside network namespace `netns` of the current machine."""
    return current().run(["ip", "netns", "exec", netns, *argv], stdin=stdin,
                         timeout_s=timeout_s)
