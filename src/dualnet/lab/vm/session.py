"""A lab run inside a VM: the same `run_lab`, its commands sent to the guest, plus the RDMA
checks while the pods exist."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from dualnet.lab import where
from dualnet.lab.models import Check, LabReport, NetworkAttachmentDefinition, Timing
from dualnet.lab.run import run_lab
from dualnet.lab.vm.guestprep import prepare_checks
from dualnet.lab.vm.machine import Machine
from dualnet.lab.vm.rdma import rdma_checks
from dualnet.lab.vm.realsys import real_sysfs_checks

# loaded once per boot: what the lab's plugins and the RDMA checks need
LAB_MODULES = ("veth", "bridge", "macvlan", "ipvlan", "8021q", "rdma_rxe", "ib_uverbs",
               "rdma_ucm", "ib_umad")


def describe(machine: Machine) -> str:
    info = machine.info
    text = f"VM: Linux {info.release}, {info.accel.upper()}, netns mode {machine.netns_mode}"
    if info.accel_note:
        text += f" ({info.accel_note})"
    return text


def prepare_guest(machine: Machine) -> None:
    res = machine.modprobe(*LAB_MODULES)
    if not res.ok:
        from dualnet.lab.vm.machine import VmError

        raise VmError(f"modprobe in the guest failed: {res.err.strip()[-300:]}",
                      hint="the kernel's module tree must hold rdma_rxe, macvlan, ipvlan, 8021q")


def run_lab_vm(nad: NetworkAttachmentDefinition, machine: Machine, *, pods: int = 2,
               node_nic: str | None = None, rdma: bool = True,
               real_sysfs: bool = True, prepare_host: bool = True,
               wrong_index: bool = True) -> LabReport:
    """`run_lab` in `machine` (booted), with the RDMA checks of lab/vm/rdma.py, then the
    real-tree checks (discover, show-gids, ibdev2netdev, doctor) and prepare in the guest."""
    with where.using(machine):
        checks = functools.partial(rdma_checks, wrong_index=wrong_index)
        report = run_lab(nad, pods=pods, node_nic=node_nic,
                         extra_checks=checks if rdma else None)
        found: list[Check] = []
        if rdma and real_sysfs and report.verdict != "unsupported":
            with tempfile.TemporaryDirectory(prefix="dualnet-realsys-") as tmp:
                found, _ = real_sysfs_checks(Path(tmp), report.run_id)
        if prepare_host and report.verdict != "unsupported":
            if machine.netns_mode == "shared":
                found.extend(prepare_checks(report.run_id))
            else:
                found.append(Check(name="prepare-in-guest", passed=False, skipped=True,
                                   evidence="not run on an exclusive-mode boot: the rehearsal "
                                   "switches shared -> exclusive and back"))
        report.checks.extend(found)
        if found:
            failed = [c for c in found if c.result == "fail"]
            if failed and report.verdict == "pass":
                report.verdict = "fail"
                report.reason = "; ".join(f"{c.name}: {c.evidence}" for c in failed[:2])
    report.machine = describe(machine)
    report.timings.insert(0, Timing(step="vm boot (once per session)",
                                    ms=machine.info.boot_s * 1000))
    return report
