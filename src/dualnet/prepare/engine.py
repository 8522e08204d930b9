"""`prepare()`: run host steps in order, safely, and say what happened.

Order of business: validate every name, then refuse the whole run if any step is unsafe (nothing
is touched), then check -> act -> verify step by step. On the first failure the remaining steps
are skipped and what this run did is undone in reverse order (or, with `rollback=False` or when
an undo fails, listed as commands to run by hand).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from dualnet.host.models import HostReport
from dualnet.plan.steps import (
    BindDriver,
    CreateVfs,
    HostStep,
    InstallCniPlugins,
    K3sWithoutFlannel,
    LoadModules,
    SetEswitchMode,
    SetHwTcOffload,
    SetLinkMac,
    SetMtu,
    SetNetnsMode,
    SetOvsHwOffload,
    SetVfMacs,
)
from dualnet.prepare.context import RunState, StepContext, StepError
from dualnet.prepare.host import Host
from dualnet.prepare.journal import Action
from dualnet.prepare.outcome import PrepareReport, StepOutcome, StepStatus
from dualnet.prepare.safety import (
    protected_interfaces,
    refusal,
    touched_interfaces,
    validate_names,
)
from dualnet.prepare.steps_cni import install_cni_plugins
from dualnet.prepare.steps_k3s import k3s_without_flannel
from dualnet.prepare.steps_link import set_link_mac, set_mtu, set_vf_macs
from dualnet.prepare.steps_offload import set_eswitch_mode, set_hw_tc_offload, set_ovs_hw_offload
from dualnet.prepare.steps_sys import bind_driver, create_vfs, load_modules, set_netns_mode

Handler = Callable[[Any, StepContext], tuple[StepStatus, str]]

HANDLERS: dict[type[Any], Handler] = {
    LoadModules: load_modules,
    SetNetnsMode: set_netns_mode,
    SetMtu: set_mtu,
    SetLinkMac: set_link_mac,
    CreateVfs: create_vfs,
    SetVfMacs: set_vf_macs,
    InstallCniPlugins: install_cni_plugins,
    K3sWithoutFlannel: k3s_without_flannel,
    BindDriver: bind_driver,
    SetEswitchMode: set_eswitch_mode,
    SetHwTcOffload: set_hw_tc_offload,
    SetOvsHwOffload: set_ovs_hw_offload,
}


def step_title(step: HostStep) -> str:
    if isinstance(step, LoadModules):
        return f"modules {' '.join(step.modules)}"
    if isinstance(step, SetNetnsMode):
        return f"rdma netns {step.mode}"
    if isinstance(step, SetMtu):
        return f"mtu {step.mtu} on {step.interface}"
    if isinstance(step, SetLinkMac):
        return f"address {step.mac} on {step.interface}"
    if isinstance(step, CreateVfs):
        return f"{step.num_vfs} VFs on {step.pf}"
    if isinstance(step, SetVfMacs):
        which = ",".join(map(str, step.vf_indexes)) or "all"
        return f"VF MACs ({which}) on {step.pf} + rebind"
    if isinstance(step, InstallCniPlugins):
        return f"CNI plugins {' '.join(step.plugins)} -> {step.bin_dir}"
    if isinstance(step, K3sWithoutFlannel):
        return f"k3s without flannel, pod CIDR {step.pod_cidr}"
    if isinstance(step, SetEswitchMode):
        return f"eswitch {step.mode} on {step.pf}"
    if isinstance(step, SetHwTcOffload):
        return f"hw-tc-offload on {step.pf} and its representors"
    if isinstance(step, SetOvsHwOffload):
        return "OVS other_config:hw-offload=true"
    return f"bind {step.pci_address} to {step.driver}"


def prepare(
    steps: Sequence[HostStep],
    host: Host,
    facts: HostReport | None = None,
    *,
    rollback: bool = True,
    protect: tuple[str, ...] = (),
) -> PrepareReport:
    """Carry out `steps` on `host`. Raises UsageError (exit 2) for an invalid name; returns a
    report whose steps are REFUSED (nothing done) when any step is unsafe."""
    for step in steps:
        validate_names(step)
    prot = protected_interfaces(host, facts, protect)
    report = PrepareReport(root=str(host.root), netns=host.netns, dry_run=host.dry_run,
                           protected_interfaces=sorted(prot.names))
    refusals = [refusal(s, host, facts, prot) for s in steps]
    if any(refusals):
        for i, (step, why) in enumerate(zip(steps, refusals, strict=True)):
            report.steps.append(StepOutcome(
                index=i, kind=step.kind, title=step_title(step),
                status=StepStatus.REFUSED if why else StepStatus.SKIPPED,
                message=why[0] if why else "not run: another step was refused",
                error=why[0] if why else None, hint=why[1] if why else None))
        return report

    state = RunState(protected=prot.names)
    undo_stack: list[list[Action]] = []
    failed_at: int | None = None
    for i, step in enumerate(steps):
        if failed_at is not None:
            report.steps.append(StepOutcome(index=i, kind=step.kind, title=step_title(step),
                                            status=StepStatus.SKIPPED,
                                            message="not run: an earlier step failed"))
            continue
        ctx = StepContext(host=host, facts=facts, state=state)
        if host.dry_run and not prot.known and touched_interfaces(step, host, facts):
            ctx.notes.append("a real run would refuse this step: the management interface is "
                             "unknown (pass host facts or --protect IFACE)")
        mark = len(host.journal)
        error: str | None = None
        hint: str | None = None
        try:
            status, message = HANDLERS[type(step)](step, ctx)
        except StepError as exc:
            status, message, error, hint = StepStatus.FAILED, exc.message, exc.message, exc.hint
        except Exception as exc:  # any surprise midway must still reach the rollback below
            status, message = StepStatus.FAILED, f"{type(exc).__name__}: {exc}"
            error = message
        undo_stack.extend(ctx.undo_groups)
        report.steps.append(StepOutcome(
            index=i, kind=step.kind, title=step_title(step), status=status,
            checked=ctx.checked, acted=ctx.acted, verified=ctx.verified, message=message,
            commands=host.journal[mark:], undo=ctx.undo_actions(), notes=ctx.notes,
            printed=ctx.printed, error=error, hint=hint))
        if status is StepStatus.FAILED:
            failed_at = i

    if failed_at is not None and undo_stack and not host.dry_run:
        pending = [a for group in reversed(undo_stack) for a in group]
        if rollback:
            done = 0
            for action in pending:
                try:
                    host.apply(action)
                    done += 1
                except Exception as exc:  # report it and hand the rest to the user
                    report.rollback_errors.append(f"{action.render()}: {exc}")
                    break
            report.rolled_back = not report.rollback_errors
            report.manual_undo = [a.render() for a in pending[done:]]
        else:
            report.manual_undo = [a.render() for a in pending]
    report.journal = list(host.journal)
    return report
