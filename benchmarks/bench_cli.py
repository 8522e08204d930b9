"""Cold start of the CLI, side by side with the floor `python -I -c pass` in the same run.

Each command runs as a fresh process (the installed `dualnet` entry point, as a user types it),
in turn with the floor and the others (A B C ... A B C ...), so a drift in the machine's speed
moves every row alike; the table gives the median of N runs (default 20) and its ratio to the
floor's median. Then `python -X importtime` names the ten slowest imports of each command.

    python -m benchmarks.bench_cli [--runs N] [--no-importtime] [--phases]

--phases adds where `discover -o json`'s time goes: each phase timed inside one fresh process,
in the order the command meets them, min and median of N.

Targets (issue 14): --help and version within 6x the floor; discover -o json on the GH200
sample within 10x.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"--help": 6.0, "version": 6.0, "discover -o json": 10.0}


def child_env() -> dict[str, str]:
    """The environment every measured command runs in: this one, at a fixed width, with
    bytecode caching on. An installed dualnet has its .pyc files (pip compiles them at install);
    under PYTHONDONTWRITEBYTECODE (set on some dev machines and CI images) the warm-up run would
    write none and every run would compile dualnet's own modules again (tens of ms) that no
    user pays."""
    env = {**os.environ, "COLUMNS": "160"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _dualnet() -> list[str]:
    exe = Path(sys.executable).with_name("dualnet")
    if exe.is_file():
        return [str(exe)]
    found = shutil.which("dualnet")
    return [found] if found else [sys.executable, "-c", "from dualnet.cli import main; main()"]


def commands(root: Path) -> dict[str, list[str]]:
    d = _dualnet()
    return {
        "floor: python -I -c pass": [sys.executable, "-I", "-c", "pass"],
        "--help": [*d, "--help"],
        "version": [*d, "version"],
        "discover -o json": [*d, "discover", "--root", str(root), "-o", "json"],
        "doctor": [*d, "doctor", "--root", str(root)],
    }


def _once(argv: list[str]) -> float:
    start = time.perf_counter()
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=child_env())
    elapsed = time.perf_counter() - start
    if r.returncode not in (0, 1):  # doctor exits 1 on the sample's warnings
        raise SystemExit(f"{' '.join(argv)} exited {r.returncode}")
    return elapsed


def importtime_top(argv: list[str], n: int = 10) -> list[tuple[float, str]]:
    """The n slowest imports (cumulative ms) of one run of `argv` under -X importtime."""
    if argv[0] == sys.executable:
        cmd = [sys.executable, "-X", "importtime", *argv[1:]]
    else:
        cmd = [sys.executable, "-X", "importtime", "-c",
               "import sys; from dualnet.cli import main; sys.argv[0] = 'dualnet'; main()",
               *argv[1:]]
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       env=child_env())
    rows: list[tuple[float, str]] = []
    for line in r.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self, cumulative, name = line.removeprefix("import time:").split("|")
        rows.append((int(cumulative) / 1000, name.strip()))
    return sorted(rows, reverse=True)[:n]


# One fresh process: the phases of `dualnet discover --root R -o json` in the order the command
# meets them (dualnet.cli.main, fastpath, discover_cmds.run_discover), each timed on its own.
PHASES_CHILD = """
import time
t = [time.perf_counter()]
import os, sys
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
import dualnet.cli, dualnet.cli.fastpath, dualnet.cli.options, dualnet.cli.output
from dualnet.cli import plugin_scan
plugin_scan.install()
t.append(time.perf_counter())
import dualnet.host.models, dualnet.host.discover, dualnet.cli.discover_cmds
t.append(time.perf_counter())
from pathlib import Path
from dualnet.host.discover import discover  # the package's attribute is the function
report = discover(Path(sys.argv[1]))
t.append(time.perf_counter())
import json
text = json.dumps(dualnet.cli.output.to_data(report), indent=2)
t.append(time.perf_counter())
print(" ".join(f"{1e3 * (b - a):.3f}" for a, b in zip(t, t[1:])), "pydantic" in sys.modules)
"""
PHASES = (
    "dualnet.cli, fastpath, options, output",
    "dualnet.host: the host models (dataclasses), discover, switchdev, views",
    "discover() on the sample",
    "to_data (host.dump.jsonable) + json.dumps",
)


def phases(root: Path, runs: int) -> None:
    rows: list[list[float]] = []
    imported: set[bool] = set()
    for _ in range(runs):
        r = subprocess.run([sys.executable, "-c", PHASES_CHILD, str(root)], capture_output=True,
                           text=True, env=child_env(), check=True)
        *ms, pydantic = r.stdout.split()
        rows.append([float(x) for x in ms])
        imported.add(pydantic == "True")
    print(f"\nwhere `discover -o json` goes, {runs} fresh processes "
          f"(pydantic imported: {' / '.join(sorted({'yes' if i else 'no' for i in imported}))}):\n")
    print("| phase | min ms | median ms |")
    print("|---|---:|---:|")
    for i, name in enumerate(PHASES):
        col = [row[i] for row in rows]
        print(f"| {name} | {min(col):.1f} | {statistics.median(col):.1f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--no-importtime", action="store_true")
    ap.add_argument("--phases", action="store_true")
    args = ap.parse_args()

    from dualnet.host.samples import build_sample

    with tempfile.TemporaryDirectory(prefix="dualnet-bench-cli-") as tmp:
        root = build_sample("gh200", Path(tmp) / "gh200")
        cmds = commands(root)
        for argv in cmds.values():  # warm the page cache and the bytecode caches
            _once(argv)
        times: dict[str, list[float]] = {name: [] for name in cmds}
        for _ in range(args.runs):
            for name, argv in cmds.items():
                times[name].append(_once(argv))
        floor = statistics.median(times["floor: python -I -c pass"])
        load = os.getloadavg()[0]
        print(f"cold start, median of {args.runs} runs each, interleaved "
              f"(load average {load:.1f}, {os.cpu_count()} CPUs, Python "
              f"{sys.version.split()[0]}, bytecode caches on)\n")
        print("| command | median ms | min ms | max ms | x floor | target |")
        print("|---|---:|---:|---:|---:|---|")
        for name, ts in times.items():
            med = statistics.median(ts)
            target = TARGETS.get(name)
            verdict = "" if target is None else (
                f"<= {target:g}x: {'ok' if med / floor <= target else 'MISSED'}")
            print(f"| `{name}` | {med * 1000:.0f} | {min(ts) * 1000:.0f} | "
                  f"{max(ts) * 1000:.0f} | {med / floor:.2f} | {verdict} |")
        if args.phases:
            phases(root, args.runs)
        if args.no_importtime:
            return
        for name, argv in cmds.items():
            if name.startswith("floor"):
                continue
            print(f"\n`-X importtime`, ten slowest imports (cumulative ms) of `{name}`:")
            for ms, mod in importtime_top(argv):
                print(f"  {ms:7.1f}  {mod}")


if __name__ == "__main__":
    main()
