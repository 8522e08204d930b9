"""prepare's host edge aimed at a guest: `GuestHost` is a `prepare.Host` whose commands, reads
and sysfs writes run in the machine of `lab/where.py` (the VM), while prepare's Python stays on
the host. prepare's own engine and steps run unchanged on it.

Files are the one thing it does not write: the guest's / is the host's own root, read-only over
9p, so a step that would persist into /etc fails with that reason instead of writing the
host's /etc (rehearse with `persist: false`; persistence is tested on fixture trees).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from pathlib import Path

from dualnet.lab import where
from dualnet.prepare.host import Host, HostWriteError
from dualnet.prepare.journal import Action, Phase
from dualnet.prepare.runner import CommandResult, check_argv

_STRERROR = {os.strerror(code): code for code in errno.errorcode}
_WRITE = 'printf "%s\\n" "$1" > "$2"'


class ExecutorRunner:
    """prepare's `Runner` on the lab's executor (the VM while `where.using(machine)`)."""

    def __init__(self, executor: where.Executor, timeout_s: float = 120.0) -> None:
        self.executor = executor
        self.timeout_s = timeout_s

    def __call__(self, argv: Sequence[str]) -> CommandResult:
        args = check_argv(argv)
        res = self.executor.run(args, timeout_s=self.timeout_s)
        return CommandResult(args, res.returncode, res.out, res.err)


def errno_of(message: str) -> int:
    """The errno whose strerror text a shell's failed write printed (`... Device or resource
    busy`), EIO when none is recognisable."""
    for text, code in _STRERROR.items():
        if text and text in message:
            return code
    return errno.EIO


class GuestHost(Host):
    """A `Host` whose node is the guest. Paths are the guest's own (`root` is its /)."""

    def __init__(self, executor: where.Executor, *, dry_run: bool = False,
                 timestamp: str | None = None) -> None:
        super().__init__("/", ExecutorRunner(executor), dry_run=dry_run, timestamp=timestamp)
        self.executor = executor

    def read(self, rel: str) -> str | None:
        res = self.executor.run(["cat", str(self.path(rel))])
        return res.out.rstrip("\n") if res.ok else None

    def exists(self, rel: str) -> bool:
        return self.executor.run(["test", "-e", str(self.path(rel))]).ok

    def is_dir(self, rel: str) -> bool:
        return self.executor.run(["test", "-d", str(self.path(rel))]).ok

    def write_sysfs(self, rel: str, value: str, *, phase: Phase = "act") -> None:
        path = self.path(rel)
        action = self._log(Action(op="write_sysfs", path=str(path), value=value, phase=phase))
        if self.dry_run:
            return
        res = self.executor.run(["sh", "-c", _WRITE, "write", value, str(path)])
        self._done(action, res.ok)
        if not res.ok:
            msg = res.err.strip()
            raise HostWriteError(str(path), OSError(errno_of(msg), msg))

    def _place(self, path: Path, data: bytes | None, source: Path | None, mode: int,
               ph: Phase) -> list[Action]:
        raise RuntimeError(f"{path}: the guest's / is the host's root, read-only over 9p; "
                           "files are not written in the VM (rehearse with persist: false)")
