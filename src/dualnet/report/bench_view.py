"""Benchmark results (`dualnet bench --output json`) as charts: one ib_write_bw chart per node
pair and run, one all_reduce_perf chart per NCCL run; whatever a result lacks is listed as missing,
never drawn as zero."""

from __future__ import annotations

from dataclasses import dataclass

from dualnet.report.charts import Chart, Level, Series
from dualnet.verify.bench_models import BenchReport, NcclBench, RdmaBench
from dualnet.verify.nccl_tests import NcclTestResult
from dualnet.verify.perftest import PerftestResult


@dataclass(frozen=True)
class Missing:
    what: str
    why: str


@dataclass
class BenchView:
    charts: list[Chart]
    missing: list[Missing]
    notes: list[str]


def _levels(bench: RdmaBench | NcclBench, name: str) -> list[Level]:
    """The reference and the floor the bench model judged the run against (verify owns both)."""
    if bench.reference_gbps is None or bench.floor_gbps is None:
        return []
    return [Level(name, bench.reference_gbps, "line-rate"),
            Level(f"floor ({bench.floor_fraction:.0%})", bench.floor_gbps, "floor")]


def _path(r: RdmaBench) -> str:
    return f"{r.client_node or r.client} → {r.server_node or r.server}"


def rdma_chart(r: RdmaBench, result: PerftestResult, key: str) -> Chart:
    what = "ib_write_bw" + (" --use_cuda" if r.gpu or result.cuda else "")
    if result.bidirectional:
        what += " bidirectional"
    series = [Series("BW average", [(x.bytes, x.bw_avg_gbps) for x in result.rows], "avg")]
    if any(x.bw_peak_gbps > 0 for x in result.rows):
        series.append(Series("BW peak", [(x.bytes, x.bw_peak_gbps) for x in result.rows],
                             "peak"))
    name = "2 x line rate" if result.bidirectional else "line rate"
    return Chart(key, f"{what} {r.device}: {_path(r)}", "bandwidth (Gb/s)", series,
                 _levels(r, name))


def nccl_chart(n: NcclBench, result: NcclTestResult, key: str) -> Chart:
    hosts = ", ".join(result.hosts) or f"{n.nodes} nodes"
    rows = result.rows
    series = [
        Series("busbw out-of-place", [(x.size_bytes, x.out_of_place.busbw_gbs * 8) for x in rows],
               "oop"),
        Series("busbw in-place", [(x.size_bytes, x.in_place.busbw_gbs * 8) for x in rows], "ip"),
    ]
    return Chart(key, f"all_reduce_perf, {result.ranks} ranks: {hosts}",
                 "bus bandwidth (Gb/s)", series, _levels(n, "line rate"))


def bench_view(benches: list[BenchReport]) -> BenchView:
    if not benches:
        how = ("run `dualnet bench ... --output json > bench.json`, then "
               "`dualnet report --bench bench.json`")
        return BenchView([], [Missing("ib_write_bw", f"no benchmark result given: {how}"),
                              Missing("all_reduce_perf", f"no benchmark result given: {how}")],
                         [])
    charts: list[Chart] = []
    missing: list[Missing] = []
    notes: list[str] = []
    for i, b in enumerate(benches):
        where = f"result {i + 1} ({b.namespace}, {b.created})"
        if not b.rdma:
            missing.append(Missing("ib_write_bw", f"{where}: no ib_write_bw run in this result"))
        for j, r in enumerate(b.rdma):
            if r.result is None:
                missing.append(Missing(f"ib_write_bw {r.device} {_path(r)}",
                                       f"{where}: could not measure ({r.problem or r.verdict})"))
                continue
            charts.append(rdma_chart(r, r.result, f"ib_write_bw-{i}-{j}"))
            if r.reference_gbps is None:
                missing.append(Missing(f"line rate of {r.device}",
                                       f"{where}: could not measure (the port's rate was not "
                                       "read); no line rate or floor drawn"))
        if b.nccl is None:
            missing.append(Missing("all_reduce_perf", f"{where}: no NCCL run in this result "
                                   "(bench --nodes N runs it)"))
        elif b.nccl.result is None:
            missing.append(Missing("all_reduce_perf", f"{where}: could not measure "
                                   f"({b.nccl.problem or b.nccl.verdict})"))
        else:
            charts.append(nccl_chart(b.nccl, b.nccl.result, f"all_reduce_perf-{i}"))
            if b.nccl.reference_gbps is None:
                missing.append(Missing("NCCL line rate", f"{where}: could not measure (bench "
                                       "ran without --host-report); no line rate drawn"))
        notes += b.notes
    return BenchView(charts, missing, notes)
