"""Host preparation: carry out a plan's host steps on one node, safely and idempotently.

Public API:
    prepare(steps, host, facts=None, *, rollback=True, protect=()) -> PrepareReport
    Host(root="/", runner=None, *, netns=None, dry_run=False, timestamp=None)
    load_source(path, *, plan, host_name=None, root="/") -> LoadedSteps (steps, where, protect)
    load_steps(path, *, plan, host_name=None, root="/") -> list[HostStep]
    render_report(report) -> str;  render_dry_run(report) -> str
"""

from __future__ import annotations

from dualnet.prepare.engine import prepare, step_title
from dualnet.prepare.host import Host, HostWriteError
from dualnet.prepare.journal import Action
from dualnet.prepare.outcome import PrepareReport, StepOutcome, StepStatus
from dualnet.prepare.runner import CommandResult, Runner, SubprocessRunner
from dualnet.prepare.source import LoadedSteps, load_source, load_steps, parse_steps
from dualnet.prepare.text import render_dry_run, render_report

__all__ = [
    "Action",
    "CommandResult",
    "Host",
    "HostWriteError",
    "LoadedSteps",
    "PrepareReport",
    "Runner",
    "StepOutcome",
    "StepStatus",
    "SubprocessRunner",
    "load_source",
    "load_steps",
    "parse_steps",
    "prepare",
    "render_dry_run",
    "render_report",
    "step_title",
]
