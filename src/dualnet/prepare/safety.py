"""What no step may touch, and the checks that refuse a run before anything changes.

Pain point 12 of the field reports: a driver restart on the NIC that carries the management link
cuts the node off. So the interface with the default route and the node IP is off limits, found
from the host facts when given, else from the routing table (of the test netns, or under root).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from dualnet.errors import UsageError
from dualnet.host.models import HostReport
from dualnet.names import check_ifname, check_module, check_pci_address
from dualnet.plan.steps import (
    BindDriver,
    CreateVfs,
    HostStep,
    InstallCniPlugins,
    K3sWithoutFlannel,
    SetEswitchMode,
    SetHwTcOffload,
    SetMtu,
    SetVfMacs,
)
from dualnet.prepare.host import Host
from dualnet.prepare.macs import check_mac, check_mac_prefix

_PLUGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Protected:
    names: frozenset[str]
    known: bool  # False: no source said which interface is the management one
    source: str


def protected_interfaces(host: Host, facts: HostReport | None,
                         extra: tuple[str, ...] = ()) -> Protected:
    names = {check_ifname(x, field="--protect") for x in extra}
    if facts is not None and facts.management is not None:
        names.add(facts.management.name)
        names.update(r.interface for r in facts.routes
                     if _is_default(r.destination) and r.mask in (None, "0.0.0.0", "0"))
        return Protected(frozenset(names), True, "host facts (management interface)")
    if host.netns is not None:
        found = _netns_default_devs(host)
        if found is not None:
            return Protected(frozenset(names | found), True,
                             f"default routes in netns {host.netns}")
    found = _proc_default_devs(host)
    if found is not None:
        return Protected(frozenset(names | found), True, f"{host.path('/proc/net/route')}")
    return Protected(frozenset(names), bool(names), "--protect only" if names else "unknown")


def _is_default(dest: str) -> bool:
    return dest in {"0.0.0.0", "default", "::", "0.0.0.0/0", "::/0"}


def _netns_default_devs(host: Host) -> set[str] | None:
    devs: set[str] = set()
    for fam in ("-4", "-6"):
        res = host.query(host.ip_argv(["-j", fam, "route", "show", "default"]))
        if not res.ok:
            return None
        try:
            routes = json.loads(res.stdout or "[]")
        except json.JSONDecodeError:
            return None
        devs.update(str(r["dev"]) for r in routes if isinstance(r, dict) and "dev" in r)
    return devs


def _proc_default_devs(host: Host) -> set[str] | None:
    text = host.read("/proc/net/route")
    if text is None:
        return None
    devs: set[str] = set()
    for line in text.splitlines()[1:]:
        cols = line.split()
        # Iface Destination Gateway Flags ... Mask: a default route has destination 0 and mask 0.
        if len(cols) >= 8 and cols[1] == "00000000" and cols[7] == "00000000":
            devs.add(cols[0])
    v6 = host.read("/proc/net/ipv6_route") or ""
    for line in v6.splitlines():
        cols = line.split()
        if len(cols) >= 10 and set(cols[0]) == {"0"} and cols[1] == "00" and cols[9] != "lo":
            devs.add(cols[9])
    return devs


def validate_names(step: HostStep) -> None:
    """Fields the shared models leave free-form but that end up in paths or commands."""
    if isinstance(step, BindDriver):
        check_pci_address(step.pci_address, field="bind_driver.pci_address")
        check_module(step.driver, field="bind_driver.driver")
    elif isinstance(step, InstallCniPlugins):
        for p in step.plugins:
            if not _PLUGIN.match(p):
                raise UsageError(f"cni_plugins.plugins[]: {p!r} is not a plugin binary name",
                                 hint="letters, digits, '_', '.', '-'; no '/'")
        for fld, val in (("bin_dir", step.bin_dir), ("source_dir", step.source_dir)):
            if val is not None and (not val.startswith("/") or ".." in PurePosixPath(val).parts):
                raise UsageError(
                    f"cni_plugins.{fld}: {val!r} must be an absolute path without '..'")
    elif isinstance(step, SetVfMacs):
        check_mac_prefix(step.mac_prefix, field="vf_macs.mac_prefix")
        for i in step.vf_indexes:
            if i < 0:
                raise UsageError(f"vf_macs.vf_indexes: {i} is negative")
    elif isinstance(step, K3sWithoutFlannel):
        from dualnet.prepare.steps_k3s import check_cidr

        check_cidr(step.pod_cidr, field="k3s.pod_cidr")
        check_cidr(step.flannel_manifest_cidr, field="k3s.flannel_manifest_cidr")
    mac = getattr(step, "mac", None)
    if isinstance(mac, str):
        check_mac(mac, field=f"{step.kind}.mac")


def touched_interfaces(step: HostStep, host: Host, facts: HostReport | None) -> set[str]:
    """Netdevs a step changes (for BindDriver: every netdev of the PCI function)."""
    if isinstance(step, SetMtu):
        return {step.interface}
    if isinstance(step, CreateVfs | SetVfMacs):
        # Re-creating or rebinding VFs takes their netdevs down too (a VM's uplink may be one).
        dev = host.path(f"/sys/class/net/{step.pf}/device")
        vfs = dev.glob("virtfn*/net/*") if dev.is_dir() else iter(())
        return {step.pf, *(vf.name for vf in vfs)}
    if isinstance(step, SetEswitchMode | SetHwTcOffload):
        # mlx5 re-registers the uplink netdev on an eswitch switch and the VFs are rebound:
        # the PF, its VFs and the representors on its function all go down for a moment
        dev = host.path(f"/sys/class/net/{step.pf}/device")
        own = dev.glob("net/*") if dev.is_dir() else iter(())
        vfs = dev.glob("virtfn*/net/*") if dev.is_dir() else iter(())
        return {step.pf, *(p.name for p in own), *(vf.name for vf in vfs)}
    if isinstance(step, BindDriver):
        out: set[str] = set()
        net = host.path(f"/sys/bus/pci/devices/{step.pci_address}/net")
        if net.is_dir():
            out.update(p.name for p in net.iterdir())
        if facts is not None:
            nic = facts.nic_by_pci(step.pci_address)
            if nic is not None:
                out.update(nic.netdevs)
                if nic.netdev:
                    out.add(nic.netdev)
        return out
    iface = getattr(step, "interface", None)
    return {iface} if isinstance(iface, str) else set()


def refusal(step: HostStep, host: Host, facts: HostReport | None,
            protected: Protected) -> tuple[str, str] | None:
    """(reason, hint) when the step must not run; None when it may."""
    touched = touched_interfaces(step, host, facts)
    hit = sorted(touched & protected.names)
    if hit:
        return (f"{', '.join(hit)} carries the node's default route or node IP "
                f"({protected.source}); dualnet never changes the management interface",
                "use a dedicated training NIC; if this really is not the management interface, "
                "fix the host facts")
    if touched and not protected.known and not host.dry_run:
        return ("cannot tell which interface is the management one (no host facts, "
                f"no readable {host.path('/proc/net/route')})",
                "pass the discovered host facts, or --protect IFACE for the management interface")
    if isinstance(step, CreateVfs):
        total = host.read(f"/sys/class/net/{step.pf}/device/sriov_totalvfs")
        if total is not None and total.strip().isdigit() and step.num_vfs > int(total):
            return (f"{step.num_vfs} VFs asked on {step.pf}, sriov_totalvfs is {total.strip()}",
                    f"ask for at most {total.strip()} (or raise NUM_OF_VFS in the NIC firmware "
                    "with mlxconfig and reboot)")
    return None
