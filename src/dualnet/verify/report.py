"""Tables (rich) and the Markdown report a user can attach to a ticket. Pure renderers."""

from __future__ import annotations

from rich.table import Table

from dualnet.verify.bench_models import BenchReport
from dualnet.verify.models import Status, VerifyReport

_MARK = {Status.PASS: "PASS", Status.FAIL: "FAIL", Status.SKIP: "SKIP",
         Status.UNMEASURED: "COULD NOT MEASURE"}
_STYLE = {Status.PASS: "green", Status.FAIL: "bold red", Status.SKIP: "yellow",
          Status.UNMEASURED: "magenta"}


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


def _pct_of(value: float | None, reference: float | None) -> str:
    # the reference beside the percentage: "85% of 3200.0 Gb/s"
    return "-" if value is None or reference is None else f"{value:.0f}% of {reference:.1f} Gb/s"


def bench_rows(report: BenchReport) -> list[list[str]]:
    rows: list[list[str]] = []
    for r in report.rdma:
        path = f"{r.client_node or r.client} -> {r.server_node or r.server}"
        test = "ib_write_bw" + (" --use_cuda (GPUDirect)" if r.gpu else "")
        if r.result is not None and r.result.bidirectional:
            test += " bidirectional"
        rows.append([test, f"{r.device}:{r.port} {path}", _num(r.measured_gbps),
                     _num(r.reference_gbps), _num(r.floor_gbps),
                     _pct_of(r.percent_of_line_rate, r.reference_gbps),
                     _MARK[r.status], r.verdict])
    if report.nccl is not None:
        n = report.nccl
        measured = ("-" if n.result is None or n.peak_busbw_gbps is None
                    else f"{n.peak_busbw_gbps:.1f} Gb/s ({n.result.peak_busbw_gbs:.2f} GB/s)")
        ranks = f" ({n.result.ranks} ranks)" if n.result is not None else ""
        rows.append([f"all_reduce_perf busbw ({n.engine})",
                     f"{n.nodes} nodes x {n.gpus_per_node} GPUs{ranks}", measured,
                     _num(n.reference_gbps), _num(n.floor_gbps),
                     _pct_of(n.percent_of_line_rate, n.reference_gbps),
                     _MARK[n.status], n.verdict])
        for c in n.checks:
            rows.append([c.check, c.target, "", "", "", "", _MARK[c.status], c.summary])
    return rows


_HEAD = ["test", "path", "measured", "line rate", "floor", "% of line rate", "result",
         "verdict"]


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
                  "`/sys/class/infiniband/<dev>/ports/<n>/rate`. For NCCL it is the sum of the "
                  "HCAs one node's ranks use: nccl-tests' bus bandwidth compares with the "
                  "hardware bottleneck (doc/PERFORMANCE.md), which across nodes is the node's "
                  "network links. The floor is a fraction of the line rate.", ""]
        for r in bench.rdma:
            lines += [f"### ib_write_bw {r.device}{' (GPU memory)' if r.gpu else ''}", "",
                      f"- client `{r.client}` on `{r.client_node}`, server `{r.server}` on "
                      f"`{r.server_node}`",
                      (f"- link layer {r.result.link_type}, {r.result.qps} QPs, MTU "
                       f"{r.result.mtu}, {r.result.test}" if r.result is not None
                       else f"- could not measure: {r.problem}"),
                      f"- command: `{' '.join(r.command)}`", ""]
        if bench.nccl is not None:
            n = bench.nccl
            figures = (
                [f"- engine: {n.engine}; hosts: {', '.join(n.result.hosts)}",
                 f"- average bus bandwidth: {n.result.avg_busbw_gbs} GB/s; peak "
                 f"{n.result.peak_busbw_gbs} GB/s; data errors: {n.result.errors}"]
                if n.result is not None else [f"- could not measure: {n.problem}"])
            lines += ["### NCCL all_reduce_perf", "", *figures, "",
                      "NCCL settings used:", "", "```",
                      *(f"{k}={v}" for k, v in n.env.items()), "```", ""]
        if bench.notes:
            lines += ["## Notes", "", *(f"- {n}" for n in bench.notes), ""]
    return "\n".join(lines)
