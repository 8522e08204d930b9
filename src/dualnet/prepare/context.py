"""What a step handler gets: the host edge, the node facts, and places to put undo and notes."""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dualnet.host.models import HostReport
from dualnet.prepare.host import Host
from dualnet.prepare.journal import Action
from dualnet.prepare.runner import CommandResult


class StepError(Exception):
    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass
class RunState:
    """Shared by the steps of one run; in a dry run it carries what earlier steps would set."""

    protected: frozenset[str] = frozenset()
    planned_numvfs: dict[str, int] = field(default_factory=dict)


@dataclass
class StepContext:
    host: Host
    facts: HostReport | None
    state: RunState
    undo_groups: list[list[Action]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    printed: list[str] = field(default_factory=list)
    checked: bool = False
    acted: bool = False
    verified: bool = False

    @property
    def dry_run(self) -> bool:
        return self.host.dry_run

    def push_undo(self, actions: Sequence[Action]) -> None:
        """One group of undo actions, applied in the given order; groups unwind last-first."""
        self.undo_groups.append([a.as_rollback() for a in actions])

    def must(self, argv: Sequence[str]) -> CommandResult:
        self.acted = True
        result = self.host.run(argv)
        if not result.ok:
            raise StepError(
                f"`{shlex.join(argv)}` failed (exit {result.returncode}): "
                f"{result.stderr.strip() or result.stdout.strip() or 'no output'}"
            )
        return result

    def write_sysfs(self, rel: str, value: str) -> None:
        self.acted = True
        self.host.write_sysfs(rel, value)

    def ip_json(self, args: Sequence[str]) -> Any:
        """`ip -j ...` (in the host's netns) parsed; raises StepError when ip fails."""
        argv = self.host.ip_argv(["-j", *args])
        result = self.host.query(argv)
        if not result.ok:
            raise StepError(f"`{shlex.join(argv)}` failed: {result.stderr.strip()}")
        try:
            return json.loads(result.stdout or "[]")
        except json.JSONDecodeError as exc:
            raise StepError(f"`{shlex.join(argv)}` printed no JSON: {exc}") from exc

    def undo_actions(self) -> list[Action]:
        """All undo actions of this step, in the order to apply them."""
        return [a for group in reversed(self.undo_groups) for a in group]
