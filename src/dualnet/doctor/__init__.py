"""doctor: rules over a node's facts -> findings with evidence, why, and the exact fix."""

from __future__ import annotations

from dualnet.doctor.context import DoctorOptions
from dualnet.doctor.findings import (
    DoctorResult,
    Finding,
    Severity,
    exit_code_for,
    sort_findings,
    worst_severity,
)
from dualnet.doctor.rules import RULE_IDS, RULES, diagnose, diagnose_with, doctor_result

__all__ = [
    "RULES",
    "RULE_IDS",
    "DoctorOptions",
    "DoctorResult",
    "Finding",
    "Severity",
    "diagnose",
    "diagnose_with",
    "doctor_result",
    "exit_code_for",
    "sort_findings",
    "worst_severity",
]
