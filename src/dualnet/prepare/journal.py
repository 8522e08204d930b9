"""What a prepare run does to a host, as data: one `Action` per command or file operation.

The same records serve three purposes: the dry run prints them, a real run reports them as
"what was done", and undo lists are made of them (so a rollback is just more actions, applied by
the same host edge, and a manual undo is their printed form).
"""

from __future__ import annotations

import shlex
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Phase = Literal["act", "rollback"]
Op = Literal["run", "write_sysfs", "mkdir", "backup", "write_file", "copy", "restore", "remove"]


class Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    op: Op
    argv: list[str] | None = None
    path: str | None = Field(default=None, description="real path (root already joined)")
    value: str | None = Field(default=None, description="sysfs value or whole file content")
    source: str | None = Field(default=None, description="copy/backup/restore source")
    mode: int | None = None
    phase: Phase = "act"
    ok: bool | None = Field(default=None, description="None in a dry run (nothing happened)")

    def render(self) -> str:
        """The action as one shell-equivalent line (file contents follow on `| ` lines)."""
        q = shlex.quote
        if self.op == "run":
            return shlex.join(self.argv or [])
        if self.op == "write_sysfs":
            return f"echo {q(self.value or '')} > {q(self.path or '')}"
        if self.op == "mkdir":
            return f"mkdir -p {q(self.path or '')}"
        if self.op == "backup":
            return f"cp -p {q(self.source or '')} {q(self.path or '')}"
        if self.op == "write_file":
            body = "".join(f"\n  | {line}" for line in (self.value or "").splitlines())
            return f"write {q(self.path or '')} (atomic, mode {self.mode or 0o644:04o}){body}"
        if self.op == "copy":
            return (f"install -m {self.mode or 0o755:04o} {q(self.source or '')} "
                    f"{q(self.path or '')}  # atomic: temp file + rename")
        if self.op == "restore":
            return f"cp -p {q(self.source or '')} {q(self.path or '')}"
        return f"rm -f {q(self.path or '')}"

    def as_rollback(self) -> Action:
        return self.model_copy(update={"phase": "rollback", "ok": None})
