"""report: one self-contained HTML page about a node (topology, pod network, findings,
benchmarks), for people to read and to attach to a ticket."""

from __future__ import annotations

from dualnet.report.page import ReportInputs, report_html

__all__ = ["ReportInputs", "report_html"]
