"""The `lab --vm` path of the CLI: options -> kernel -> one boot -> the lab -> teardown."""

from __future__ import annotations

from pathlib import Path

from dualnet.lab.models import LabReport, NetworkAttachmentDefinition
from dualnet.lab.vm.machine import Machine
from dualnet.lab.vm.options import VmOptions, parse_accel, parse_netns_mode, resolve_kernel
from dualnet.lab.vm.session import prepare_guest, run_lab_vm


def run_vm_lab(nad: NetworkAttachmentDefinition, *, pods: int, node_nic: str | None,
               kernel: Path | None, initrd: Path | None, modules: Path | None, accel: str,
               netns_mode: str) -> LabReport:
    opts = VmOptions(kernel=kernel, initrd=initrd, modules=modules, accel=parse_accel(accel),
                     netns_mode=parse_netns_mode(netns_mode))
    k = resolve_kernel(opts)
    with Machine(k, accel=opts.accel, netns_mode=opts.netns_mode) as machine:
        prepare_guest(machine)
        return run_lab_vm(nad, machine, pods=pods, node_nic=node_nic)
