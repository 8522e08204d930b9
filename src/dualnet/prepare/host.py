"""The executor edge: every read and change a prepare run makes on a node goes through `Host`.

Files and sysfs live under `root` (a fixture tree in tests, `/` on a node). Commands go through a
`Runner` as argument lists. Link commands get `ip -n NETNS` when `netns` is set, so tests can aim
real `ip` commands at veths in their own namespaces. In a dry run nothing is written or run; the
journal records exactly what would be, in order. Reads (`read`, `query`) happen in both modes,
because the check of each step must see the real state to know what it would change.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from dualnet.errors import UsageError
from dualnet.prepare.journal import Action, Phase
from dualnet.prepare.runner import CommandResult, Runner, SubprocessRunner, check_argv

_NETNS = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
BACKUP_TAG = ".dualnet-bak."


class HostWriteError(Exception):
    """A write the kernel or filesystem refused; `errno_name` is e.g. 'EBUSY'."""

    def __init__(self, path: str, err: OSError) -> None:
        self.path = path
        self.errno_name = errno.errorcode.get(err.errno or 0, str(err.errno))
        super().__init__(f"writing {path} failed: {self.errno_name} ({err.strerror})")


def check_netns(name: str) -> str:
    if not _NETNS.match(name) or name in {".", ".."}:
        raise UsageError(f"netns: {name!r} is not a valid network namespace name",
                         hint="1-64 characters from A-Z a-z 0-9 _ . -")
    return name


class Host:
    def __init__(
        self,
        root: str | Path = "/",
        runner: Runner | None = None,
        *,
        netns: str | None = None,
        dry_run: bool = False,
        timestamp: str | None = None,
    ) -> None:
        self.root = Path(root)
        self.runner: Runner = runner or SubprocessRunner()
        self.netns = check_netns(netns) if netns is not None else None
        self.dry_run = dry_run
        # One timestamp per run: every backup of this run carries it, so they sort together.
        self.timestamp = timestamp or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.journal: list[Action] = []

    # ---- paths and reads -------------------------------------------------------------------
    def path(self, rel: str) -> Path:
        """`rel` is a node path such as '/sys/class/net/eth0/mtu'; it is joined under root."""
        parts = Path(rel).parts
        if ".." in parts:
            raise UsageError(f"path {rel!r} may not contain '..'")
        return self.root.joinpath(*[p for p in parts if p != "/"])

    def read(self, rel: str) -> str | None:
        """File content stripped of the trailing newline; None when missing or unreadable."""
        try:
            return self.path(rel).read_text().rstrip("\n")
        except (OSError, UnicodeDecodeError):
            return None

    def exists(self, rel: str) -> bool:
        return self.path(rel).exists()

    def is_dir(self, rel: str) -> bool:
        return self.path(rel).is_dir()

    def query(self, argv: Sequence[str]) -> CommandResult:
        """A read-only command: runs in dry runs too and is not journaled."""
        return self.runner(check_argv(argv))

    def ip_argv(self, args: Sequence[str]) -> list[str]:
        return ["ip", *(["-n", self.netns] if self.netns else []), *args]

    # ---- changes ---------------------------------------------------------------------------
    def _log(self, action: Action) -> Action:
        self.journal.append(action)
        return action

    def _done(self, action: Action, ok: bool) -> None:
        # Journal entries are frozen; replace the last one with its outcome.
        idx = len(self.journal) - 1 - self.journal[::-1].index(action)
        self.journal[idx] = action.model_copy(update={"ok": ok})

    def run(self, argv: Sequence[str], *, phase: Phase = "act") -> CommandResult:
        args = check_argv(argv)
        action = self._log(Action(op="run", argv=list(args), phase=phase))
        if self.dry_run:
            return CommandResult(args, 0)
        result = self.runner(args)
        self._done(action, result.ok)
        return result

    def write_sysfs(self, rel: str, value: str, *, phase: Phase = "act") -> None:
        path = self.path(rel)
        action = self._log(Action(op="write_sysfs", path=str(path), value=value,
                                  phase=phase))
        if self.dry_run:
            return
        try:
            # sysfs attributes take one write of the whole value; no temp file, no rename.
            with path.open("w") as fh:
                fh.write(value + "\n")
        except OSError as err:
            self._done(action, False)
            raise HostWriteError(str(path), err) from err
        self._done(action, True)

    def write_file(self, rel: str, content: str, *, mode: int = 0o644,
                   phase: Phase = "act") -> list[Action]:
        """Write a regular file atomically, backing up a differing existing one first.

        Returns the actions that undo it (restore the backup, or remove the new file)."""
        path = self.path(rel)
        return self._place(path, content.encode(), None, mode, phase)

    def copy_file(self, source: Path, rel: str, *, mode: int = 0o755,
                  phase: Phase = "act") -> list[Action]:
        path = self.path(rel)
        return self._place(path, None, source, mode, phase)

    def _place(self, path: Path, data: bytes | None, source: Path | None, mode: int,
               ph: Phase) -> list[Action]:
        undo: list[Action] = []
        if not path.parent.is_dir():
            mk = self._log(Action(op="mkdir", path=str(path.parent), phase=ph))
            if not self.dry_run:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._done(mk, True)
        if path.exists():
            backup = self._backup_path(path)
            bk = self._log(Action(op="backup", source=str(path), path=str(backup), phase=ph))
            if not self.dry_run:
                shutil.copy2(path, backup)
                self._done(bk, True)
            undo.append(Action(op="restore", source=str(backup), path=str(path),
                               phase="rollback"))
        else:
            undo.append(Action(op="remove", path=str(path), phase="rollback"))
        if source is not None:
            act = self._log(Action(op="copy", source=str(source), path=str(path), mode=mode,
                                   phase=ph))
        else:
            act = self._log(Action(op="write_file", path=str(path),
                                   value=(data or b"").decode(), mode=mode, phase=ph))
        if not self.dry_run:
            payload = source.read_bytes() if source is not None else (data or b"")
            _atomic_write(path, payload, mode)
            self._done(act, True)
        return undo

    def _backup_path(self, path: Path) -> Path:
        candidate = path.with_name(f"{path.name}{BACKUP_TAG}{self.timestamp}")
        n = 1
        while candidate.exists() or any(a.path == str(candidate) for a in self.journal):
            candidate = path.with_name(f"{path.name}{BACKUP_TAG}{self.timestamp}.{n}")
            n += 1
        return candidate

    def apply(self, action: Action) -> None:
        """Carry out one undo action (phase 'rollback'), journaled like any other change."""
        if action.op == "run":
            result = self.run(action.argv or [], phase="rollback")
            if not result.ok:
                raise RuntimeError(f"{action.render()}: {result.stderr.strip() or 'failed'}")
        elif action.op == "write_sysfs":
            self.write_sysfs(str(self._rel(action.path)), action.value or "", phase="rollback")
        elif action.op == "restore":
            logged = self._log(action.as_rollback())
            if not self.dry_run:
                data = Path(action.source or "").read_bytes()
                mode = Path(action.source or "").stat().st_mode & 0o7777
                _atomic_write(Path(action.path or ""), data, mode)
                self._done(logged, True)
        elif action.op == "remove":
            logged = self._log(action.as_rollback())
            if not self.dry_run:
                Path(action.path or "").unlink(missing_ok=True)
                self._done(logged, True)
        else:
            raise ValueError(f"cannot apply a {action.op!r} action as an undo")

    def _rel(self, real: str | None) -> Path:
        # Undo actions carry real paths; write_sysfs wants node paths.
        return Path("/") / Path(real or "").relative_to(self.root)


def _atomic_write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.dualnet-tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.chmod(mode)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
