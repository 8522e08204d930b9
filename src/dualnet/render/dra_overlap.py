"""`render --target dra`: the PCI functions a device plugin already advertises that the rendered
DRA objects would hand out too (over-admission: the scheduler counts the two separately).

The DRA side is what the rendered objects select: the planned NICs (dranet: the claim
templates' `ifName` selectors under the DeviceClass) or their VFs (the SR-IOV DRA driver's
SriovResourcePolicy `pfNames`). The device-plugin side is `HostPlan.device_plugin_functions`,
read from the plugins' configs in the node facts; the matching is host.device_plugins', the same
the doctor rule `dra.device-plugin-overlap` uses on a live node. `--target dra` renders no
device plugin itself, so only configured (live or previously rendered) plugins can collide.
"""

from __future__ import annotations

from dualnet.host.device_plugins import describe, overlap_fix, overlaps
from dualnet.modes import Mode
from dualnet.plan.model import HostPlan, Plan, PlanWarning

WARNING_CODE = "dra-device-plugin-overlap"


def _sriov(plan: Plan) -> bool:
    return plan.mode in (Mode.SRIOV, Mode.IB_SRIOV)


def dra_functions(plan: Plan, hp: HostPlan) -> dict[str, str]:
    """PCI address -> the rendered DRA object that would hand it out on this node."""
    if _sriov(plan):
        from dualnet.render.dra_sriov import SRIOV_DRIVER, device_class_name

        who = f"DeviceClass {device_class_name(plan)} (driver {SRIOV_DRIVER})"
        return {vf: who for n in hp.nics for vf in n.vf_pci_addresses}
    from dualnet.render.dra import DRANET_DRIVER, device_class_name

    who = f"DeviceClass {device_class_name(plan)} (driver {DRANET_DRIVER})"
    return {n.pci_address: who for n in hp.nics}


def over_admission_warnings(plan: Plan) -> list[PlanWarning]:
    out: list[PlanWarning] = []
    for hp in plan.hosts:
        if hp.device_plugin_functions is None:
            continue
        found = overlaps(hp.device_plugin_functions, dra_functions(plan, hp))
        if not found:
            continue
        fix = " ".join(overlap_fix(found)[:1]).removeprefix("# ")
        out.append(PlanWarning(
            code=WARNING_CODE,
            message=f"{hp.hostname}: {describe(found)}: a device plugin already advertises "
            "these PCI functions and the DRA driver would hand them out too, so the scheduler "
            f"can give one NIC to two pods (over-admission); {fix}",
        ))
    return out


def over_admission_note(plan: Plan) -> str:
    """What the check above could see, for PLAN.md: said, not assumed."""
    unread = [hp.hostname for hp in plan.hosts if hp.device_plugin_functions is None]
    no_vfs = [f"{hp.hostname}/{n.netdev}" for hp in plan.hosts for n in hp.nics
              if _sriov(plan) and hp.device_plugin_functions is not None
              and not n.vf_pci_addresses]
    parts: list[str] = []
    if unread:
        parts.append(
            f"Over-admission not checked on {', '.join(unread)}: the facts have no device "
            "plugin config (put `kubectl -n kube-system get configmap sriovdp-config "
            "rdma-devices -o yaml` as device_plugin_config.yaml into a --from DIR); remove any "
            "device plugin that selects these ports before applying.")
    if no_vfs:
        parts.append(f"Over-admission checked on existing VFs only: {', '.join(no_vfs)} has "
                     "no VFs yet; render again after the host steps create them.")
    if parts:
        return " ".join(parts)
    if over_admission_warnings(plan):
        return f"Over-admission checked against the configured device plugins: see the " \
            f"{WARNING_CODE} warnings."
    return ("Over-admission checked: no configured device plugin advertises a PCI function "
            "these DRA objects hand out.")
