"""What the doctor could not judge: unknown fact groups and unreadable sources, said at info level
instead of guessed at."""

from __future__ import annotations

from dualnet.doctor.context import (
    DoctorOptions,
    modules_known,
    node_subject,
    rdma_facts_known,
)
from dualnet.doctor.findings import Finding, Severity
from dualnet.host.models import HostReport

_MAX_PROBLEMS = 20

# The `--from` file that would supply each fact group (parse.from_dir names).
_SOURCE_OF = {
    "kernel modules": "lsmod.txt",
    "RDMA devices": "rdma_link.txt or ibv_devinfo.txt",
    "RDMA netns mode": "rdma_system.txt",
    "management interface": "ip_route.txt / ip_addr.txt",
    "CNI plugins and configs": "a --root tree (not available from tool outputs)",
    "GPU-NIC topology": "nvidia-smi_topo.txt",
}


def rule_unknown_facts(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    unknown: list[str] = []
    if not modules_known(report):
        unknown.append("kernel modules")
    if not rdma_facts_known(report):
        unknown.append("RDMA devices")
    if report.netns_mode is None and report.rdma_devices:
        unknown.append("RDMA netns mode")
    if report.management is None:
        unknown.append("management interface")
    if report.cni is None and opts.mode is not None:
        unknown.append("CNI plugins and configs")
    if report.gpus and report.rdma_devices and not report.topology:
        unknown.append("GPU-NIC topology")
    if not unknown:
        return []
    return [
        Finding(
            id="doctor.facts-unknown",
            severity=Severity.INFO,
            title=f"not judged, facts unknown: {', '.join(unknown)}",
            subject=node_subject(report),
            evidence={
                "unknown": unknown,
                "source": report.source,
                "would_come_from": [f"{u}: {_SOURCE_OF[u]}" for u in unknown],
            },
            why="Rules that need these facts were skipped rather than guessed; no finding about "
            "them does not mean they are fine.",
            fix=(
                ["# add the missing outputs to the --from folder, or run doctor on the node itself"]
                if report.source == "tool-outputs"
                else ["sudo dualnet doctor --root /   # as root, on the node itself"]
            ),
        )
    ]


def _unread_title(paths: list[str]) -> str:
    """The title names the paths (the first three), so the table alone says what to look at."""
    named = ", ".join(paths[:3]) + (f" (+{len(paths) - 3} more)" if len(paths) > 3 else "")
    return f"{len(paths)} source(s) could not be read: {named}"


def rule_read_problems(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    unread = [p for p in report.problems if p.kind == "unread"]
    if not unread:
        return []
    shown = [f"{p.path}: {p.error}" for p in unread[:_MAX_PROBLEMS]]
    return [
        Finding(
            id="doctor.read-problems",
            severity=Severity.INFO,
            title=_unread_title([p.path for p in unread]),
            subject=node_subject(report),
            evidence={"problems": shown, "count": len(unread)},
            why="Facts from these sources are missing from the verdicts above.",
            fix=[],
        )
    ]


def rule_refused_files(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    """A file dualnet reads whose text it could not use: its facts are missing, so it is more
    than a note (a warning), and the reason says what to fix."""
    return [
        Finding(
            id="doctor.file-refused",
            severity=Severity.WARNING,
            title=f"{p.path} was not used: {p.error}",
            subject=p.path,
            evidence={"file": p.path, "reason": p.error, "line": p.line},
            why="Every verdict that needs this file's facts was skipped; the other files were "
            "diagnosed without it.",
            fix=[
                f"dualnet parse {_tool_of(p.path)} {p.path}   # shows what is read and where "
                "it stops",
                "# save the tool's output again, unedited (e.g. `ibv_devinfo > ibv_devinfo.txt`)",
            ],
        )
        for p in report.problems
        if p.kind == "refused"
    ]


def rule_skipped_lines(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    by_file: dict[str, list[str]] = {}
    for p in report.problems:
        if p.kind == "skipped":
            by_file.setdefault(p.path, []).append(p.error)
    return [
        Finding(
            id="doctor.lines-skipped",
            severity=Severity.INFO,
            title=f"{len(lines)} line(s) of {path} skipped or read in part",
            subject=path,
            evidence={"file": path, "lines": lines[:_MAX_PROBLEMS], "count": len(lines)},
            why="Comments, elisions, labels and lines of other tools were passed over; what "
            "they held (if anything) is not in the verdicts.",
            fix=[f"dualnet parse {_tool_of(path)} {path}"],
        )
        for path, lines in by_file.items()
    ]


def _tool_of(file_name: str) -> str:
    stem = file_name.rsplit(".", 1)[0] if "." in file_name else file_name
    return stem or file_name
