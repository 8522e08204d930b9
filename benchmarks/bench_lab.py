"""Benchmark of `dualnet lab`: the full up-check-down cycle (build namespaces, primary + NAD ADD
and CHECK per pod, checks with pings, DEL, delete namespaces, verify) for 2 and for 32 pods,
on the real CNI plugins. Needs root and containernetworking-plugins.

    python -m benchmarks.bench_lab [--reps N]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
from datetime import UTC, datetime
from pathlib import Path

from dualnet.lab.nad import load_nad
from dualnet.lab.run import run_lab

NAD = Path(__file__).resolve().parent.parent / "tests" / "lab" / "nads" / "macvlan-host-local.yaml"
PHASES = ("build namespaces", "attach", "checks", "teardown + verify", "total")


def _phase(step: str) -> str | None:
    for p in PHASES:
        if step.startswith(p):
            return p
    return None


def bench(pods: int, reps: int) -> dict[str, tuple[float, float]]:
    nad = load_nad(NAD)
    samples: dict[str, list[float]] = {p: [] for p in PHASES}
    plugin: dict[str, list[float]] = {}
    for _ in range(reps):
        report = run_lab(nad, pods=pods)
        if report.verdict != "pass":
            raise SystemExit(f"lab run failed: {report.reason}")
        for t in report.timings:
            phase = _phase(t.step)
            if phase:
                samples[phase].append(t.ms)
            elif t.step.endswith(" mean"):
                plugin.setdefault(t.step.removesuffix(" mean"), []).append(t.ms)
    out = {p: (statistics.mean(v), max(v)) for p, v in samples.items() if v}
    out.update({f"  {k} (per call)": (statistics.mean(v), max(v)) for k, v in plugin.items()})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"dualnet lab cycle, macvlan + host-local, {args.reps} reps each; "
          f"{platform.platform()}, {os.cpu_count()} cpus, load {load}, "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"{'pods':>4}  {'phase':<36} {'mean ms':>9} {'max ms':>9}")
    for pods in (2, 32):
        for phase, (mean, mx) in bench(pods, args.reps).items():
            print(f"{pods:>4}  {phase:<36} {mean:>9.1f} {mx:>9.1f}")


if __name__ == "__main__":
    main()
