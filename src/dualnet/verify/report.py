"""Tables (rich) and the Markdown report a user can attach to a ticket. Pure renderers."""

from __future__ import annotations

from rich.table import Table

from dualnet.verify.bench import BenchReport
from dualnet.verify.models import Status, VerifyReport

_MARK = {Status.PASS: "PASS", Status.FAIL: "FAIL", Status.SKIP: "SKIP"}
_STYLE = {Status.PASS: "green", Status.FAIL: "bold red", Status.SKIP: "yellow"}


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


def _num(value: float | None, unit: str = "Gb/s") -> str:
    return "-" if value is None else f"{value:.1f} {unit}"


def verify_table(report: VerifyReport) -> Table:
    t = Table(title=f"dualnet verify ({report.namespace})", show_lines=False)
    for col in ("check", "target", "result", "evidence"):
        t.add_column(col, overflow="fold")
    for c in report.checks:
        evidence = c.summary + ("\n" + "\n".join(c.evidence) if c.evidence else "")
        t.add_row(c.check, c.target, f"[{_STYLE[c.status]}]{_MARK[c.status]}[/]", evidence)
    return t


def bench_rows(report: BenchReport) -> list[list[str]]:
    rows: list[list[str]] = []
    for r in report.rdma:
        path = f"{r.client_node or r.client} -> {r.server_node or r.server}"
        test = "ib_write_bw" + (" --use_cuda (GPUDirect)" if r.gpu else "")
        if r.result.bidirectional:
            test += " bidirectional"
        rows.append([test, f"{r.device} {path}", _num(r.measured_gbps), _num(r.reference_gbps),
                     _pct(r.percent_of_line_rate)])
    if report.nccl is not None:
        n = report.nccl
        rows.append([f"all_reduce_perf busbw ({n.engine})",
                     f"{n.nodes} nodes x {n.gpus_per_node} GPUs ({n.result.ranks} ranks)",
                     f"{n.peak_busbw_gbps:.1f} Gb/s ({n.result.peak_busbw_gbs:.2f} GB/s)",
                     _num(n.reference_gbps), _pct(n.percent_of_line_rate)])
    return rows


_HEAD = ["test", "path", "measured", "line rate", "% of line rate"]


def bench_table(report: BenchReport) -> Table:
    t = Table(title=f"dualnet bench ({report.namespace})")
    for col in _HEAD:
        t.add_column(col, overflow="fold")
    for row in bench_rows(report):
        t.add_row(*row)
    return t


def _md_table(head: list[str], rows: list[list[str]]) -> list[str]:
    esc = [[c.replace("|", "\\|").replace("\n", "<br>") for c in r] for r in rows]
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head),
            *("| " + " | ".join(r) + " |" for r in esc)]


def markdown_report(bench: BenchReport | None, verify: VerifyReport | None = None) -> str:
    """One self-contained Markdown document with results, settings and commands."""
    lines = ["# dualnet training-network report", ""]
    if bench is not None:
        lines += [f"Namespace `{bench.namespace}`, finished {bench.created}.", ""]
    if verify is not None:
        verdict = "all checks passed" if verify.passed else "some checks FAILED"
        lines += ["## Step-7 checks", "", f"Pods: {', '.join(verify.pods)} ({verdict}).", ""]
        lines += _md_table(["check", "target", "result", "evidence"], [
            [c.check, c.target, _MARK[c.status], c.summary] for c in verify.checks])
        lines.append("")
    if bench is not None:
        lines += ["## Bandwidth against line rate", ""]
        lines += _md_table(_HEAD, bench_rows(bench))
        lines += ["", "Line rate is the port rate discovery reads from "
                  "`/sys/class/infiniband/<dev>/ports/<n>/rate`; for NCCL it is the node's "
                  "training ports shared by the ranks of one node (bus bandwidth is per rank).",
                  ""]
        for r in bench.rdma:
            lines += [f"### ib_write_bw {r.device}{' (GPU memory)' if r.gpu else ''}", "",
                      f"- client `{r.client}` on `{r.client_node}`, server `{r.server}` on "
                      f"`{r.server_node}`",
                      f"- link layer {r.result.link_type}, {r.result.qps} QPs, MTU "
                      f"{r.result.mtu}, {r.result.test}",
                      f"- command: `{' '.join(r.command)}`", ""]
        if bench.nccl is not None:
            n = bench.nccl
            lines += ["### NCCL all_reduce_perf", "",
                      f"- engine: {n.engine}; hosts: {', '.join(n.result.hosts)}",
                      f"- average bus bandwidth: {n.result.avg_busbw_gbs} GB/s; peak "
                      f"{n.result.peak_busbw_gbs} GB/s; data errors: {n.result.errors}", "",
                      "NCCL settings used:", "", "```",
                      *(f"{k}={v}" for k, v in n.env.items()), "```", ""]
        if bench.notes:
            lines += ["## Notes", "", *(f"- {n}" for n in bench.notes), ""]
    return "\n".join(lines)
