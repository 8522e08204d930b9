"""`dualnet report` on the big synthetic SR-IOV node, beside discovery of the same node.

The node is bench_discover's (8 ConnectX-6 Dx PFs x 127 VFs: 1,024 NIC functions and RDMA
devices), reused from `benchmarks/.trees/`. Measured alternately, each `--repeat` times (median):

* peer: `discover(root)`, the step every report starts with
* `report_html(...)` in-process: tree, matrix, tables, findings, no plan (the page alone)
* `dualnet report --root <tree> --out <file>` as a subprocess (discover + doctor + page + write)

Target: the page costs at most a quarter of discovering the node (it must never be the reason a
report is slow), and its size stays under 1 MiB (a ticket attachment).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.bench_discover import tree_for
from dualnet.doctor import doctor_result
from dualnet.host.discover import discover
from dualnet.report import ReportInputs, report_html

TARGET = 0.25
MAX_BYTES = 1 << 20
CLI = [sys.executable, "-c", "from dualnet.cli import main; main()"]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_report")
    ap.add_argument("--pfs", type=int, default=8)
    ap.add_argument("--vfs", type=int, default=127)
    ap.add_argument("--gids", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    ns = ap.parse_args(argv)
    root = tree_for(ns.pfs, ns.vfs, ns.gids)
    report = discover(root)
    inputs = ReportInputs(host=report, doctor=doctor_result(report))
    size = len(report_html(inputs).encode())
    print(f"tree: {root}\n{len(report.nics)} NIC functions, {len(report.rdma_devices)} RDMA "
          f"devices, {len(inputs.doctor.findings)} findings; page {size / 1024:.0f} KiB")
    out = Path(tempfile.mkdtemp(prefix="dualnet-bench-report-")) / "report.html"
    cases: list[tuple[str, Callable[[], object]]] = [
        ("peer: discover (in-process)", lambda: discover(root)),
        ("report_html (in-process)", lambda: report_html(inputs)),
        ("dualnet report --root (CLI)", lambda: subprocess.run(
            [*CLI, "report", "--root", str(root), "--out", str(out)], check=True,
            stdout=subprocess.DEVNULL)),
    ]
    times: dict[str, list[float]] = {name: [] for name, _ in cases}
    for _ in range(ns.repeat):
        for name, fn in cases:
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    peer = statistics.median(times[cases[0][0]])
    print(f"\nmachine: {platform.platform()}, {platform.python_implementation()} "
          f"{platform.python_version()}; median of {ns.repeat}\n")
    print(f"| {'measurement':<30} | {'median s':>8} | {'min s':>7} | {'x discover':>10} |")
    print(f"|{'-' * 32}|{'-' * 10}:|{'-' * 8}:|{'-' * 11}:|")
    for name, _ in cases:
        med = statistics.median(times[name])
        print(f"| {name:<30} | {med:8.2f} | {min(times[name]):7.2f} | {med / peer:10.2f} |")
    page = statistics.median(times[cases[1][0]]) / peer
    print(f"\npage {page:.2f} x discover (target <= {TARGET}): "
          f"{'ok' if page <= TARGET else 'MISSED'}; size {size / 1024:.0f} KiB "
          f"(target <= {MAX_BYTES // 1024} KiB): {'ok' if size <= MAX_BYTES else 'MISSED'}")


if __name__ == "__main__":
    main()
