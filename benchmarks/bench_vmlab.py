"""Benchmark of `dualnet lab --vm`: boot to the first command in the guest, per-command cost
through the agent, and the whole rehearsal (macvlan + host-local NAD, 2 pods, with the RDMA
checks), for TCG and, where it boots, KVM; side by side with the same NAD's `dualnet lab` on
this machine's own kernel (the floor: no emulation, no RDMA checks). Needs QEMU and the cached
kernel (`dualnet lab --vm --fetch-kernel`); the host lab also needs root.

    python -m benchmarks.bench_vmlab [--accel tcg,kvm] [--commands N]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

from dualnet.lab.nad import load_nad
from dualnet.lab.run import run_lab
from dualnet.lab.vm.kernel import cached_kernel
from dualnet.lab.vm.machine import KVM_PROBE_TIMEOUT_S, Machine, VmError, kvm_usable
from dualnet.lab.vm.session import prepare_guest, run_lab_vm

NAD = Path(__file__).resolve().parent.parent / "tests" / "lab" / "nads" / "macvlan-host-local.yaml"


def _row(what: str, accel: str, value: str) -> None:
    print(f"{what:<44} {accel:<6} {value:>14}")


def bench_accel(accel: str, commands: int) -> None:
    kernel = cached_kernel()
    if kernel is None:
        raise SystemExit("no cached kernel: run `dualnet lab --vm --fetch-kernel`")
    if accel == "kvm" and not kvm_usable():
        _row("boot to first command", accel, "could not measure (no usable /dev/kvm)")
        return
    m = Machine(kernel, accel="kvm" if accel == "kvm" else "tcg",
                boot_timeout_s=KVM_PROBE_TIMEOUT_S if accel == "kvm" else 180)
    t0 = time.perf_counter()
    try:
        m.start()
        first = m.run(["true"])
        boot = time.perf_counter() - t0
    except VmError as exc:
        m.close()
        _row("boot to first command", accel, "could not measure")
        print(f"    ({accel}: {exc.message[:120]})")
        return
    with m:
        assert first.ok
        _row("boot to first command (s)", accel, f"{boot:.1f}")
        t0 = time.perf_counter()
        for _ in range(commands):
            m.run(["true"])
        _row(f"agent round trip, `true` (ms, mean of {commands})", accel,
             f"{(time.perf_counter() - t0) * 1000 / commands:.0f}")
        t0 = time.perf_counter()
        prepare_guest(m)
        _row("modprobe of the lab's modules (s)", accel, f"{time.perf_counter() - t0:.1f}")
        t0 = time.perf_counter()
        report = run_lab_vm(load_nad(NAD), m)
        total = time.perf_counter() - t0
        _row("whole rehearsal, 2 pods + RDMA checks (s)", accel,
             f"{total:.1f}" if report.verdict == "pass" else f"{report.verdict}: not a time")
        for t in report.timings:
            if t.step in ("build namespaces", "attach 2 pod(s): ADD+CHECK", "checks",
                          "teardown + verify"):
                _row(f"  {t.step} (s)", accel, f"{t.ms / 1000:.1f}")


def bench_host() -> None:
    if os.geteuid() != 0:
        _row("host lab, same NAD, no RDMA (s)", "host", "could not measure (not root)")
        return
    t0 = time.perf_counter()
    report = run_lab(load_nad(NAD), pods=2)
    total = time.perf_counter() - t0
    _row("host lab, same NAD, no RDMA checks (s)", "host",
         f"{total:.2f}" if report.verdict == "pass" else f"{report.verdict}: not a time")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--accel", default="tcg,kvm")
    ap.add_argument("--commands", type=int, default=20)
    args = ap.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"dualnet lab --vm; {platform.platform()}, {os.cpu_count()} cpus, load {load}, "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"{'measure':<44} {'accel':<6} {'value':>14}")
    bench_host()
    for accel in args.accel.split(","):
        bench_accel(accel.strip(), args.commands)


if __name__ == "__main__":
    main()
