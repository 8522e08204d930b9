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
    if not report.problems:
        return []
    shown = [f"{p.path}: {p.error}" for p in report.problems[:_MAX_PROBLEMS]]
    return [
        Finding(
            id="doctor.read-problems",
            severity=Severity.INFO,
            title=_unread_title([p.path for p in report.problems]),
            subject=node_subject(report),
            evidence={"problems": shown, "count": len(report.problems)},
            why="Facts from these sources are missing from the verdicts above.",
            fix=[],
        )
    ]
