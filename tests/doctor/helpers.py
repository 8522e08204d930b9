"""Small assertions shared by the doctor tests."""

from __future__ import annotations

from dualnet.doctor import Finding


def ids(findings: list[Finding]) -> set[str]:
    return {f.id for f in findings}


def only(findings: list[Finding], rule_id: str, subject: str | None = None) -> Finding:
    hits = [f for f in findings if f.id == rule_id and (subject is None or f.subject == subject)]
    assert len(hits) == 1, f"expected one {rule_id} ({subject}), got {[f.id for f in findings]}"
    return hits[0]
