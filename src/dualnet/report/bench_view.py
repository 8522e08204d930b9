"""Benchmark results (`dualnet bench --output json`) as charts: one ib_write_bw chart per node
pair and run, one all_reduce_perf chart per NCCL run; whatever a result lacks is listed as missing,
never drawn as zero."""

from __future__ import annotations

from dataclasses import dataclass

from dualnet.report.charts import Chart, Level, Series
from dualnet.verify.bench import BenchReport, NcclBench, RdmaBench

# The pass mark drawn under the line rate: issue 16's default for ib_write_bw (0.8 of the
# discovered rate); l8k's fixed 100 Gb/s is a baseline to beat, not a floor to copy.
FLOOR_FRACTION = 0.8


@dataclass(frozen=True)
class Missing:
    what: str
    why: str


@dataclass
class BenchView:
    charts: list[Chart]
    missing: list[Missing]
    notes: list[str]


def _levels(reference: float | None, name: str) -> list[Level]:
    if reference is None:
        return []
    return [Level(name, reference, "line-rate"),
            Level(f"floor ({FLOOR_FRACTION:g} x)", reference * FLOOR_FRACTION, "floor")]


def rdma_chart(r: RdmaBench, key: str) -> Chart:
    path = f"{r.client_node or r.client} → {r.server_node or r.server}"
    what = "ib_write_bw" + (" --use_cuda" if r.gpu or r.result.cuda else "")
    if r.result.bidirectional:
        what += " bidirectional"
    series = [Series("BW average", [(x.bytes, x.bw_avg_gbps) for x in r.result.rows], "avg")]
    if any(x.bw_peak_gbps > 0 for x in r.result.rows):
        series.append(Series("BW peak", [(x.bytes, x.bw_peak_gbps) for x in r.result.rows],
                             "peak"))
    name = "2 x line rate" if r.result.bidirectional else "line rate"
    return Chart(key, f"{what} {r.device}: {path}", "bandwidth (Gb/s)", series,
                 _levels(r.reference_gbps, name))


def nccl_chart(n: NcclBench, key: str) -> Chart:
    hosts = ", ".join(n.result.hosts) or f"{n.nodes} nodes"
    rows = n.result.rows
    series = [
        Series("busbw out-of-place", [(x.size_bytes, x.out_of_place.busbw_gbs * 8) for x in rows],
               "oop"),
        Series("busbw in-place", [(x.size_bytes, x.in_place.busbw_gbs * 8) for x in rows], "ip"),
    ]
    return Chart(key, f"all_reduce_perf, {n.result.ranks} ranks: {hosts}",
                 "bus bandwidth (Gb/s)", series, _levels(n.reference_gbps, "line rate"))


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
            charts.append(rdma_chart(r, f"ib_write_bw-{i}-{j}"))
            if r.reference_gbps is None:
                missing.append(Missing(f"line rate of {r.device}",
                                       f"{where}: could not measure (the port's rate was not "
                                       "read); no line rate or floor drawn"))
        if b.nccl is None:
            missing.append(Missing("all_reduce_perf", f"{where}: no NCCL run in this result "
                                   "(bench --nodes N runs it)"))
        else:
            charts.append(nccl_chart(b.nccl, f"all_reduce_perf-{i}"))
            if b.nccl.reference_gbps is None:
                missing.append(Missing("NCCL line rate", f"{where}: could not measure (bench "
                                       "ran without --host-report); no line rate drawn"))
        notes += b.notes
    return BenchView(charts, missing, notes)
