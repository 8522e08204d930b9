"""Benchmark of the tool-output parsers on real captures and on a scaled-up real layout.

* every file of tests/corpus/ once (the whole corpus, per pass);
* `nvidia-smi topo -m` of the 8-GPU x 36-NIC H20 node (glued columns);
* `ip -d link` of a PF with N VFs, built by repeating the real `vf` line layout of the
  Example CNF capture (127 VFs per PF, 8 PFs = 1016 VF lines);
* `report_from_dir` on the GH200 folder (7 files).

    python -m benchmarks.bench_parse [--reps N]
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from dualnet.parse.errors import ParseError
from dualnet.parse.from_dir import report_from_dir
from dualnet.parse.ip import parse_ip_link
from dualnet.parse.nvidia_smi_topo import parse_nvidia_smi_topo
from dualnet.parse.registry import find_tool

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus"
GH200 = {
    "ibv_devinfo.txt": "ibv_devinfo/gh200-cx7-host.txt",
    "rdma_link.txt": "rdma_link/gh200-cx7.txt",
    "rdma_system.txt": "rdma_system/gh200-shared.txt",
    "lsmod.txt": "lsmod/gh200-mofed.txt",
    "nvidia-smi_topo.txt": "nvidia-smi_topo/gh200-1gpu-2nic.txt",
    "lspci.txt": "lspci/gh200.txt",
    "ip_addr.txt": "ip_addr/gh200-host.txt",
}


def _time(fn: Callable[[], object], reps: int) -> tuple[float, float]:
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), min(samples)


def _whole_corpus() -> None:
    for path in sorted(CORPUS.glob("*/*.txt")):
        tool = find_tool(path.parent.name)
        if tool is None:
            continue
        # The rejected captures raise ParseError by design; only the time matters here.
        with contextlib.suppress(ParseError):
            tool.parse(path.read_text(encoding="utf-8"))


def _big_ip_link(pfs: int, vfs: int) -> str:
    lines = []
    for p in range(pfs):
        lines.append(
            f"{p + 2}: ens{p}f0np0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 9000 qdisc mq state UP "
            "mode DEFAULT group default qlen 1000"
        )
        lines.append(
            f"    link/ether 3c:fd:fe:bb:1e:{p:02x} brd ff:ff:ff:ff:ff:ff promiscuity 0 minmtu 68 "
            f"maxmtu 9702 parentbus pci parentdev 0000:{p + 0x37:02x}:00.0"
        )
        for v in range(vfs):
            lines.append(
                f"    vf {v}     link/ether 92:be:3c:24:{v // 256:02x}:{v % 256:02x} brd "
                "ff:ff:ff:ff:ff:ff, spoof checking on, link-state auto, trust off"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=20)
    reps = parser.parse_args().reps
    topo = (CORPUS / "nvidia-smi_topo/MALFORMED-h20-8gpu-36nic-bonds-glued-columns.txt").read_text()
    big = _big_ip_link(8, 127)
    files = len(list(CORPUS.glob("*/*.txt")))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, rel in GH200.items():
            shutil.copy(CORPUS / rel, folder / name)
        rows = [
            (f"whole corpus ({files} files)", _time(_whole_corpus, reps)),
            ("topo 8 GPU x 36 NIC", _time(lambda: parse_nvidia_smi_topo(topo), reps)),
            ("ip -d link 8 PF x 127 VF", _time(lambda: parse_ip_link(big), reps)),
            ("report_from_dir GH200 (7 files)", _time(lambda: report_from_dir(folder), reps)),
        ]
    print(f"{'case':<36} {'median ms':>10} {'min ms':>10}   (reps={reps})")
    for name, (median, best) in rows:
        print(f"{name:<36} {median:>10.2f} {best:>10.2f}")


if __name__ == "__main__":
    main()
