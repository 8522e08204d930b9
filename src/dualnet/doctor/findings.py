"""What `dualnet doctor` reports: findings, their severities, and the exit status they give.

A finding is one verdict about one subject (a port, a device, a netdev, or the node): the values
that were seen (`evidence`), why they matter, the exact commands that fix it now (`fix`), and what
makes the fix survive a reboot (`persist`). Findings are plain data so the CLI, the operator's
node agent and the planner can all consume them.

Exit status of `dualnet doctor` (see `exit_code_for`):

    0  nothing above info
    1  at least one warning, no error
    2  reserved for usage errors (bad flags, both --root and --from, ...), never a verdict
    4  at least one error
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

from dualnet.errors import Exit
from dualnet.host.models import doc

# the table every verb shares (dualnet.errors.Exit)
EXIT_OK = int(Exit.OK)
EXIT_WARNINGS = int(Exit.FAILED)
EXIT_USAGE = int(Exit.USAGE)
EXIT_ERRORS = int(Exit.NOT_READY)

# Evidence values stay JSON-friendly and readable in a table cell.
EvidenceValue = str | int | float | bool | list[str] | list[int] | None


class Severity(StrEnum):
    """How bad a finding is; `rank` orders them, worst last."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


@dataclass(kw_only=True, slots=True)
class Finding:
    """One verdict of one rule about one subject. A plain dataclass, as the host models are
    (host/models.py): doctor runs without importing pydantic, which checks findings where they
    cross a boundary (host/schema.adapter)."""

    __pydantic_config__: ClassVar[dict[str, str]] = {"extra": "forbid"}

    id: str = field(metadata=doc("stable rule id, '<family>.<what>', e.g. 'rdma.mlx5_ib-missing'"))
    severity: Severity
    title: str = field(metadata=doc("one line: what is wrong (or what was noted)"))
    subject: str = field(metadata=doc("what it is about: 'mlx5_1/1', 'enp1s0f0np0', 'node'"))
    evidence: dict[str, EvidenceValue] = field(
        default_factory=dict, metadata=doc("the values the rule saw, by name")
    )
    why: str = field(metadata=doc("why it matters for the training network"))
    fix: list[str] = field(default_factory=list, metadata=doc("exact commands that fix it now"))
    persist: list[str] = field(
        default_factory=list, metadata=doc("commands or file lines that make the fix stick")
    )


@dataclass(kw_only=True, slots=True)
class DoctorResult:
    """The whole verdict for one node: what `--output json` prints."""

    __pydantic_config__: ClassVar[dict[str, str]] = {"extra": "forbid"}

    hostname: str | None = None
    source: str = field(metadata=doc("'sysfs', 'tool-outputs' or 'synthetic'"))
    mode: str | None = None
    worst: Severity | None = field(default=None, metadata=doc("None when there are no findings"))
    exit_code: int
    findings: list[Finding] = field(default_factory=list)


def worst_severity(findings: Iterable[Finding]) -> Severity | None:
    worst: Severity | None = None
    for f in findings:
        if worst is None or f.severity.rank > worst.rank:
            worst = f.severity
    return worst


def exit_code_for(findings: Iterable[Finding]) -> int:
    """0 when nothing is above info, 1 for warnings, 4 for errors (2 is for usage errors)."""
    worst = worst_severity(findings)
    if worst is Severity.ERROR:
        return EXIT_ERRORS
    if worst is Severity.WARNING:
        return EXIT_WARNINGS
    return EXIT_OK


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Worst first; then by id and subject so the output is stable from run to run."""
    return sorted(findings, key=lambda f: (-f.severity.rank, f.id, f.subject))
