"""OVS offload steps: eswitch to switchdev, hw-tc-offload on, OVS hw-offload=true.

Each is check -> act -> verify like the other steps. Reads: the eswitch mode from MOFED's
`compat/devlink/mode` where it exists, else `devlink -j dev eswitch show pci/<PF>`, whose JSON
is `{"dev": {"pci/<PF>": {"mode": ...}}}` (iproute2 devlink; scripts read it as
`.dev[$dev].mode`); the feature from `ethtool -k <if>`, whose lines read
`hw-tc-offload: on`, `off`, `off [fixed]` or `off [requested on]` (ethtool's dump_features);
OVS's setting from `ovs-vsctl get Open_vSwitch . other_config:hw-offload`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from dualnet.host.switchdev import OVS_SERVICES, is_representor_port_name, switchdev_order
from dualnet.plan.steps import SetEswitchMode, SetHwTcOffload, SetOvsHwOffload
from dualnet.prepare.context import StepContext, StepError
from dualnet.prepare.host import HostWriteError
from dualnet.prepare.journal import Action
from dualnet.prepare.outcome import StepStatus
from dualnet.prepare.steps_sys import bound_driver

Result = tuple[StepStatus, str]
VF_DRIVER = "mlx5_core"
_FEATURE = re.compile(r"^\s*hw-tc-offload:\s+(?P<state>on|off)(?P<rest>.*)$", re.MULTILINE)


# ---- eswitch mode -----------------------------------------------------------------------------
def eswitch_mode(ctx: StepContext, pf: str, pci: str) -> str | None:
    """'legacy' / 'switchdev', or None when neither MOFED's file nor devlink says."""
    compat = ctx.host.read(f"/sys/class/net/{pf}/compat/devlink/mode")
    if compat is not None and compat.strip() in ("legacy", "switchdev"):
        return compat.strip()
    if ctx.host.root != Path("/"):
        # a node tree, not this machine: devlink would answer for this machine's devices. The
        # tree says what discovery infers: representors -> switchdev, VFs without them -> legacy
        if representors(ctx, pf):
            return "switchdev"
        return "legacy" if _vfs(ctx, pf) else None
    res = ctx.host.query(["devlink", "-j", "dev", "eswitch", "show", f"pci/{pci}"])
    if not res.ok:
        return None
    try:
        dev = json.loads(res.stdout or "{}").get("dev", {})
    except (json.JSONDecodeError, AttributeError):
        return None
    mode = dev.get(f"pci/{pci}", {}).get("mode") if isinstance(dev, dict) else None
    return mode if mode in ("legacy", "switchdev") else None


def _pf_pci(ctx: StepContext, pf: str) -> str:
    dev = ctx.host.path(f"/sys/class/net/{pf}/device")
    if not dev.exists():
        raise StepError(f"no PCI device behind {pf} (no {dev})")
    return dev.resolve().name


def _vfs(ctx: StepContext, pf: str) -> list[str]:
    """The PF's VFs in virtfn order (what the kernel has now)."""
    dev = ctx.host.path(f"/sys/class/net/{pf}/device")
    links = sorted(dev.glob("virtfn*"), key=lambda p: int(p.name[len("virtfn"):] or 0))
    return [p.resolve().name for p in links]


def set_eswitch_mode(step: SetEswitchMode, ctx: StepContext) -> Result:
    if not ctx.host.exists(f"/sys/class/net/{step.pf}"):
        raise StepError(f"no interface {step.pf} under {ctx.host.path('/sys/class/net')}")
    pci = _pf_pci(ctx, step.pf)
    if pci != step.pf_pci_address:
        raise StepError(f"{step.pf} is PCI {pci}, the plan says {step.pf_pci_address}",
                         hint="the node changed since the plan: discover and plan again")
    now = eswitch_mode(ctx, step.pf, pci)
    ctx.checked = True
    if now == step.mode:
        return StepStatus.UNCHANGED, f"eswitch of {step.pf} is {step.mode}"
    vfs = _vfs(ctx, step.pf)
    if not vfs:
        raise StepError(f"{step.pf} has no VFs: switchdev makes one representor per VF, and "
                         "the device plugin pins VFs by PCI address",
                         hint="create the VFs first (the plan's sriov_numvfs step), in legacy mode")
    drivers = "/sys/bus/pci/drivers"
    before = {vf: bound_driver(ctx, vf) for vf in vfs}
    back = now or "legacy"
    try:
        for op, target in switchdev_order(pci, vfs):
            if op == "unbind":
                if before[target] is not None:
                    ctx.write_sysfs(f"{drivers}/{before[target]}/unbind", target)
            elif op == "switch":
                ctx.must(["devlink", "dev", "eswitch", "set", f"pci/{target}", "mode", step.mode])
            else:
                ctx.write_sysfs(f"{drivers}/{before[target] or VF_DRIVER}/bind", target)
    except HostWriteError as exc:
        raise StepError(str(exc), hint="a VF is held by a pod or process: drain the node's "
                        "SR-IOV pods, then run prepare again") from exc
    # The undo is the same order back to the old mode.
    undo: list[Action] = []
    for op, target in switchdev_order(pci, vfs):
        if op == "switch":
            undo.append(Action(op="run", argv=["devlink", "dev", "eswitch", "set",
                                               f"pci/{target}", "mode", back]))
        else:
            drv = before[target] or VF_DRIVER
            undo.append(Action(op="write_sysfs", value=target, path=str(ctx.host.path(
                f"{drivers}/{drv}/{op}"))))
    ctx.push_undo(undo)
    msg = f"eswitch of {step.pf} ({pci}): {now or 'unknown'} -> {step.mode}, {len(vfs)} VFs " \
        "unbound and rebound"
    if ctx.dry_run:
        return StepStatus.WOULD_CHANGE, msg
    after = eswitch_mode(ctx, step.pf, pci)
    if after != step.mode:
        raise StepError(f"the eswitch of {pci} reads {after or 'nothing'} after the switch",
                         hint=f"`devlink dev eswitch show pci/{pci}`; dmesg names mlx5's reason")
    unbound = [vf for vf in vfs if bound_driver(ctx, vf) is None]
    if unbound:
        raise StepError(f"VF {unbound[0]} is not bound to a driver after the rebind")
    ctx.verified = True
    return StepStatus.CHANGED, msg


# ---- hw-tc-offload ----------------------------------------------------------------------------
def parse_hw_tc_offload(text: str) -> tuple[bool, bool] | None:
    """(on, fixed) from `ethtool -k` output; None when the feature is not listed."""
    m = _FEATURE.search(text)
    if m is None:
        return None
    return m.group("state") == "on", "[fixed]" in m.group("rest")


def representors(ctx: StepContext, pf: str) -> list[str]:
    """The PF's VF/SF representor netdevs: its function's netdevs with a pfNvfM-style name."""
    net = ctx.host.path(f"/sys/class/net/{pf}/device/net")
    names = sorted(p.name for p in net.iterdir()) if net.is_dir() else []
    return [n for n in names if n != pf and is_representor_port_name(
        ctx.host.read(f"/sys/class/net/{pf}/device/net/{n}/phys_port_name"))]


def _feature(ctx: StepContext, iface: str) -> tuple[bool, bool]:
    res = ctx.host.query(["ethtool", "-k", iface])
    if not res.ok:
        raise StepError(f"`ethtool -k {iface}` failed (exit {res.returncode}): "
                        f"{res.stderr.strip() or 'no output'}",
                        hint="install ethtool (Debian/Ubuntu: apt install ethtool)")
    got = parse_hw_tc_offload(res.stdout)
    if got is None:
        raise StepError(f"`ethtool -k {iface}` lists no hw-tc-offload feature")
    return got


def set_hw_tc_offload(step: SetHwTcOffload, ctx: StepContext) -> Result:
    if not ctx.host.exists(f"/sys/class/net/{step.pf}"):
        raise StepError(f"no interface {step.pf} under {ctx.host.path('/sys/class/net')}")
    ifaces = [step.pf, *representors(ctx, step.pf)]
    if len(ifaces) == 1 and not ctx.dry_run:
        ctx.notes.append(f"{step.pf} has no representors yet (eswitch not in switchdev mode?)")
    state = {i: _feature(ctx, i) for i in ifaces}
    ctx.checked = True
    fixed = [i for i, (on, fx) in state.items() if fx and not on]
    if fixed:
        raise StepError(f"hw-tc-offload is off [fixed] on {', '.join(fixed)}: the driver "
                         "cannot turn it on",
                         hint="is the eswitch in switchdev mode? (devlink dev eswitch show)")
    todo = [i for i, (on, _) in state.items() if not on]
    if not todo:
        return StepStatus.UNCHANGED, f"hw-tc-offload on for {', '.join(ifaces)}"
    for i in todo:
        ctx.must(["ethtool", "-K", i, "hw-tc-offload", "on"])
        ctx.push_undo([Action(op="run", argv=["ethtool", "-K", i, "hw-tc-offload", "off"])])
    msg = f"hw-tc-offload off -> on for {', '.join(todo)}"
    if ctx.dry_run:
        return StepStatus.WOULD_CHANGE, msg
    still = [i for i in todo if not _feature(ctx, i)[0]]
    if still:
        raise StepError(f"hw-tc-offload is still off on {', '.join(still)} after ethtool -K")
    ctx.verified = True
    return StepStatus.CHANGED, msg


# ---- OVS other_config:hw-offload --------------------------------------------------------------
_GET = ["ovs-vsctl", "get", "Open_vSwitch", ".", "other_config:hw-offload"]


def ovs_hw_offload(ctx: StepContext) -> str | None:
    """The value of other_config:hw-offload ('true'/'false'), None when the key is unset."""
    res = ctx.host.query(_GET)
    if not res.ok:
        if "no key" in res.stderr:
            return None
        raise StepError(f"`{' '.join(_GET)}` failed (exit {res.returncode}): "
                        f"{res.stderr.strip() or 'no output'}",
                        hint="is Open vSwitch installed and running on the host?")
    return res.stdout.strip().strip('"') or None


def ovs_service(ctx: StepContext, step: SetOvsHwOffload) -> str:
    if step.service is not None:
        return step.service
    for unit in OVS_SERVICES:
        res = ctx.host.query(["systemctl", "show", "-p", "LoadState", "--value",
                              f"{unit}.service"])
        if res.ok and res.stdout.strip() == "loaded":
            return unit
    raise StepError(f"no OVS systemd unit: neither {' nor '.join(OVS_SERVICES)} is installed",
                    hint="name the unit in the step's service field (OVS in a container, as "
                    "ovs-node DaemonSets run it, is restarted by deleting its pod)")


def set_ovs_hw_offload(step: SetOvsHwOffload, ctx: StepContext) -> Result:
    now = ovs_hw_offload(ctx)
    ctx.checked = True
    if now == "true":
        return StepStatus.UNCHANGED, "OVS other_config:hw-offload is true"
    unit = ovs_service(ctx, step)
    ctx.must(["ovs-vsctl", "set", "Open_vSwitch", ".", "other_config:hw-offload=true"])
    ctx.must(["systemctl", "restart", unit])
    restore = (["ovs-vsctl", "remove", "Open_vSwitch", ".", "other_config", "hw-offload"]
               if now is None else
               ["ovs-vsctl", "set", "Open_vSwitch", ".", f"other_config:hw-offload={now}"])
    ctx.push_undo([Action(op="run", argv=restore),
                   Action(op="run", argv=["systemctl", "restart", unit])])
    msg = f"OVS other_config:hw-offload {now or 'unset'} -> true, {unit} restarted"
    if ctx.dry_run:
        return StepStatus.WOULD_CHANGE, msg
    if ovs_hw_offload(ctx) != "true":
        raise StepError("OVS other_config:hw-offload does not read true after the change")
    ctx.verified = True
    return StepStatus.CHANGED, msg

