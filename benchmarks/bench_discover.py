"""Discovery speed on a big synthetic SR-IOV node, against the floor of reading every file once.

The node (`dualnet.host.samples.sriov_bench`): 8 ConnectX-6 Dx PFs x 127 VFs, every function an
RDMA device with a 256-entry GID table: 1,024 RDMA devices, 262,144 GID files. The tree is built
once into `benchmarks/.trees/` (gitignored) and reused.

Measured side by side, alternating, each `--repeat` times (median reported), after one untimed
warm-up pass of the floor so every measurement reads from the page cache:

* floor: `find <tree>/sys -type f -exec cat {} + >/dev/null`
* `discover(root)` in-process, and `dualnet discover --root <tree> -o json` as a subprocess
* `show_gids_text(discover(root))` in-process, and `dualnet show-gids --root <tree>` as a subprocess

Targets (issue 2): discover and show-gids within 1.5x the floor.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from dualnet.host.discover import discover
from dualnet.host.samples import sriov_bench
from dualnet.host.synthetic import build_tree
from dualnet.host.views import show_gids_text

TREES = Path(__file__).resolve().parent / ".trees"
TARGET = 1.5
CLI = [sys.executable, "-c", "from dualnet.cli import main; main()"]


def tree_for(pfs: int, vfs: int, gids: int, rebuild: bool = False) -> Path:
    root = TREES / f"sriov-{pfs}x{vfs}-gid{gids}"
    done = root / ".complete"
    if rebuild and root.exists():
        shutil.rmtree(root)
    if not done.exists():
        if root.exists():
            shutil.rmtree(root)
        t = time.perf_counter()
        print(f"building {root} ...", flush=True)
        build_tree(sriov_bench(pfs, vfs, gids), root)
        done.write_text("ok\n")
        print(f"built in {time.perf_counter() - t:.1f} s", flush=True)
    return root


def _floor(root: Path) -> None:
    subprocess.run(f"find '{root}/sys' -type f -exec cat {{}} + >/dev/null", shell=True,
                   check=True)


def _cli(args: list[str]) -> None:
    subprocess.run([*CLI, *args], check=True, stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_discover")
    ap.add_argument("--pfs", type=int, default=8)
    ap.add_argument("--vfs", type=int, default=127)
    ap.add_argument("--gids", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rebuild", action="store_true")
    ns = ap.parse_args(argv)
    root = tree_for(ns.pfs, ns.vfs, ns.gids, ns.rebuild)
    n_files = int(subprocess.run(f"find '{root}/sys' -type f | wc -l", shell=True, check=True,
                                 capture_output=True, text=True).stdout)
    report = discover(root)
    n_gids = sum(len(p.gids) for d in report.rdma_devices for p in d.ports)
    print(f"tree: {root}\n{n_files} files under sys/, {len(report.rdma_devices)} RDMA devices, "
          f"{len(report.nics)} NICs, {n_gids} non-empty GIDs, problems: {len(report.problems)}")
    _floor(root)  # warm-up: page cache and dentries for everyone alike

    cases: list[tuple[str, Callable[[], object]]] = [
        ("floor: find -type f -exec cat", lambda: _floor(root)),
        ("discover (in-process)", lambda: discover(root)),
        ("show-gids (in-process)", lambda: show_gids_text(discover(root))),
        ("dualnet discover -o json (CLI)", lambda: _cli(["discover", "--root", str(root),
                                                          "-o", "json"])),
        ("dualnet show-gids (CLI)", lambda: _cli(["show-gids", "--root", str(root)])),
    ]
    times: dict[str, list[float]] = {name: [] for name, _ in cases}
    for _ in range(ns.repeat):
        for name, fn in cases:  # alternate, so load from other work hits every case alike
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    floor = statistics.median(times[cases[0][0]])
    print(f"\nmachine: {platform.platform()}, {platform.python_implementation()} "
          f"{platform.python_version()}; median of {ns.repeat}\n")
    print(f"| {'measurement':<32} | {'median s':>8} | {'min s':>7} | {'x floor':>7} | target |")
    print(f"|{'-' * 34}|{'-' * 10}:|{'-' * 8}:|{'-' * 8}:|--------|")
    worst = 0.0
    for name, _ in cases:
        med = statistics.median(times[name])
        ratio = med / floor
        ok = "" if name.startswith("floor") else ("ok" if ratio <= TARGET else "MISSED")
        if not name.startswith("floor"):
            worst = max(worst, ratio)
        print(f"| {name:<32} | {med:8.2f} | {min(times[name]):7.2f} | {ratio:7.2f} | {ok:<6} |")
    print(f"\nworst ratio {worst:.2f} (target <= {TARGET})")


if __name__ == "__main__":
    main()
