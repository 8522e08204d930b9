"""Link steps: netdev MTU (and where to persist it), netdev MAC, VF MACs + rebind for RDMA CM.

Links are read from sysfs under root, or with `ip -j` when the host edge works in a network
namespace (sysfs shows only the root namespace's links). Changes are `ip [-n NS] link set ...`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dualnet.plan.steps import SetLinkMac, SetMtu, SetVfMacs
from dualnet.prepare.context import StepContext, StepError
from dualnet.prepare.host import HostWriteError
from dualnet.prepare.journal import Action
from dualnet.prepare.macs import vf_mac
from dualnet.prepare.mtu_persist import persist_mtu
from dualnet.prepare.outcome import StepStatus
from dualnet.prepare.steps_sys import bound_driver

Result = tuple[StepStatus, str]
RDMA_CM_DRIVER = "mlx5_core"


def link_attr(ctx: StepContext, ifname: str, attr: str) -> str:
    """'mtu' or 'address' of a netdev; StepError when the link does not exist."""
    if ctx.host.netns is not None:
        links = ctx.ip_json(["link", "show", "dev", ifname])
        if not links:
            raise StepError(f"no interface {ifname} in netns {ctx.host.netns}")
        return str(links[0].get(attr, ""))
    raw = ctx.host.read(f"/sys/class/net/{ifname}/{attr}")
    if raw is None:
        raise StepError(f"no interface {ifname} under {ctx.host.path('/sys/class/net')}")
    return raw.strip()


def set_mtu(step: SetMtu, ctx: StepContext) -> Result:
    cur = int(link_attr(ctx, step.interface, "mtu"))
    persist = persist_mtu(ctx, step.interface, step.mtu)  # checks; acts only when asked below
    ctx.checked = True
    if cur == step.mtu and not persist.needs_write:
        ctx.notes.extend(persist.notes)
        return StepStatus.UNCHANGED, f"mtu {cur} on {step.interface}"
    if cur != step.mtu:
        ctx.must(ctx.host.ip_argv(["link", "set", "dev", step.interface, "mtu", str(step.mtu)]))
        ctx.push_undo([Action(op="run", argv=ctx.host.ip_argv(
            ["link", "set", "dev", step.interface, "mtu", str(cur)]))])
    if persist.needs_write:
        persist.write(ctx)
    ctx.notes.extend(persist.notes)
    msg = f"mtu {cur} -> {step.mtu} on {step.interface}"
    if ctx.dry_run:
        return StepStatus.WOULD_CHANGE, msg
    after = int(link_attr(ctx, step.interface, "mtu"))
    if after != step.mtu:
        raise StepError(f"{step.interface} has mtu {after} after setting {step.mtu}",
                         hint="the NIC or its driver may cap the MTU (check `ip -d link`)")
    persist.verify(ctx)
    ctx.verified = True
    return StepStatus.CHANGED, msg


def set_link_mac(step: SetLinkMac, ctx: StepContext) -> Result:
    want = step.mac.lower()
    cur = link_attr(ctx, step.interface, "address").lower()
    ctx.checked = True
    if cur == want:
        return StepStatus.UNCHANGED, f"{step.interface} has address {cur}"
    ctx.must(ctx.host.ip_argv(["link", "set", "dev", step.interface, "address", want]))
    ctx.push_undo([Action(op="run", argv=ctx.host.ip_argv(
        ["link", "set", "dev", step.interface, "address", cur]))])
    msg = f"{step.interface}: address {cur} -> {want}"
    if ctx.dry_run:
        return StepStatus.WOULD_CHANGE, msg
    after = link_attr(ctx, step.interface, "address").lower()
    if after != want:
        raise StepError(f"{step.interface} has address {after} after setting {want}")
    ctx.verified = True
    return StepStatus.CHANGED, msg


# ---- VF MACs for RDMA CM ----------------------------------------------------------------------
def vf_macs_now(ctx: StepContext, pf: str, indexes: list[int]) -> dict[int, str]:
    """VF index -> MAC. On a live node the PF's `vfinfo_list` (`ip -d -j link`); in a fixture
    tree the VF netdev's sysfs address (which is what the rebind makes the VF pick up)."""
    if ctx.host.root == Path("/") or ctx.host.netns is not None:
        links: list[dict[str, Any]] = ctx.ip_json(["-d", "link", "show", "dev", pf])
        if not links:
            raise StepError(f"no interface {pf}")
        return {int(v["vf"]): str(v.get("address", "")).lower()
                for v in links[0].get("vfinfo_list", []) if "vf" in v}
    out: dict[int, str] = {}
    for i in indexes:
        net = ctx.host.path(f"/sys/class/net/{pf}/device/virtfn{i}/net")
        for nd in sorted(net.iterdir()) if net.is_dir() else []:
            addr = ctx.host.read(f"/sys/class/net/{pf}/device/virtfn{i}/net/{nd.name}/address")
            if addr:
                out[i] = addr.strip().lower()
                break
    return out


def vf_pci(ctx: StepContext, pf: str, index: int) -> str:
    """PCI address of VF `index`: the virtfn link, or (VFs not created yet, dry run) the
    address the kernel will give it: PF routing ID + sriov_offset + index * sriov_stride."""
    link = ctx.host.path(f"/sys/class/net/{pf}/device/virtfn{index}")
    if link.is_symlink() or link.exists():
        return link.resolve().name
    pf_pci = ctx.host.path(f"/sys/class/net/{pf}/device").resolve().name
    off = ctx.host.read(f"/sys/class/net/{pf}/device/sriov_offset")
    stride = ctx.host.read(f"/sys/class/net/{pf}/device/sriov_stride")
    if not ctx.dry_run or off is None or stride is None or ":" not in pf_pci:
        raise StepError(f"{pf} has no VF {index} (no virtfn{index} link)",
                         hint="create the VFs first (sriov_numvfs step)")
    dom, bus, devfn = pf_pci.split(":")
    dev, fn = devfn.split(".")
    rid = (int(bus, 16) << 8 | int(dev, 16) << 3 | int(fn)) + int(off) + index * int(stride)
    return f"{dom}:{rid >> 8 & 0xff:02x}:{rid >> 3 & 0x1f:02x}.{rid & 7}"


def set_vf_macs(step: SetVfMacs, ctx: StepContext) -> Result:
    pf = step.pf
    dev = f"/sys/class/net/{pf}/device"
    numvfs_raw = ctx.host.read(f"{dev}/sriov_numvfs")
    planned = ctx.state.planned_numvfs.get(pf) if ctx.dry_run else None
    numvfs = planned if planned is not None else (
        int(numvfs_raw) if numvfs_raw and numvfs_raw.isdigit() else None)
    if numvfs is None:
        raise StepError(f"{pf} has no SR-IOV VFs (no readable {ctx.host.path(dev)}/sriov_numvfs)")
    indexes = step.vf_indexes or list(range(numvfs))
    bad = [i for i in indexes if i >= numvfs]
    if bad:
        raise StepError(f"VF index {bad[0]} does not exist: {pf} has {numvfs} VFs")
    pf_mac = link_attr(ctx, pf, "address")
    want = {i: vf_mac(step.mac_prefix, pf_mac, i) for i in indexes}
    have = vf_macs_now(ctx, pf, indexes)
    todo = [i for i in indexes if have.get(i) != want[i]]
    ctx.checked = True
    if not todo:
        return StepStatus.UNCHANGED, f"{len(indexes)} VF MACs on {pf} set already"
    drivers = "/sys/bus/pci/drivers"
    for i in todo:
        pci = vf_pci(ctx, pf, i)
        old = have.get(i) or "00:00:00:00:00:00"
        drv = bound_driver(ctx, pci) or RDMA_CM_DRIVER
        mark = len(ctx.undo_groups)
        ctx.must(ctx.host.ip_argv(["link", "set", pf, "vf", str(i), "mac", want[i]]))
        setback = Action(op="run", argv=ctx.host.ip_argv(["link", "set", pf, "vf", str(i),
                                                           "mac", old]))
        ctx.push_undo([setback])
        # The rebind makes mlx5 derive the VF's node/port GUID from the new MAC (RDMA CM needs it).
        unbind = Action(op="write_sysfs", path=str(ctx.host.path(f"{drivers}/{drv}/unbind")),
                        value=pci)
        bind = Action(op="write_sysfs", path=str(ctx.host.path(f"{drivers}/{drv}/bind")),
                      value=pci)
        try:
            if bound_driver(ctx, pci) is not None or ctx.dry_run:
                ctx.write_sysfs(f"{drivers}/{drv}/unbind", pci)
                # Undo of a half-done VF: old MAC first, then bind (GUID from the old MAC).
                del ctx.undo_groups[mark:]
                ctx.push_undo([setback, bind])
            ctx.write_sysfs(f"{drivers}/{drv}/bind", pci)
        except HostWriteError as exc:
            raise StepError(str(exc), hint=f"rebind {pci} by hand: {bind.render()}") from exc
        del ctx.undo_groups[mark:]
        ctx.push_undo([setback, unbind, bind])
    msg = f"VF MACs on {pf}: set {len(todo)} and rebound to {RDMA_CM_DRIVER}"
    if ctx.dry_run:
        return StepStatus.WOULD_CHANGE, msg
    after = vf_macs_now(ctx, pf, todo)
    wrong = [i for i in todo if after.get(i) != want[i]]
    if wrong:
        raise StepError(f"VF {wrong[0]} of {pf} has MAC {after.get(wrong[0])} after setting "
                         f"{want[wrong[0]]}")
    unbound = [i for i in todo if bound_driver(ctx, vf_pci(ctx, pf, i)) is None]
    if unbound:
        raise StepError(f"VF {unbound[0]} of {pf} is not bound to a driver after the rebind")
    ctx.verified = True
    return StepStatus.CHANGED, msg
