"""Eswitch facts of a `--from` folder: `devlink dev eswitch show`, `devlink port show` and the
`portname`/`switchid` detail fields of `ip -d link` (host/switchdev.py reads the same from sysfs).

`ip -d link` prints every netdev, representors included, with `parentdev` = the PF: without
their port names they would count as the PF's own netdevs. `representor_names` says which
netdevs to keep out of that; `eswitch_facts` builds `report.eswitches`/`report.representors`.
"""

from __future__ import annotations

import copy

from dualnet.host.models import Eswitch, Nic, Representor
from dualnet.host.switchdev import is_representor_port_name, parse_port_name
from dualnet.parse.ip import IpInterface

_REPRESENTOR = ("pcivf", "pcisf", "pcipf")


def representor_names(interfaces: list[IpInterface], ports: list[Representor]) -> set[str]:
    names = {i.name for i in interfaces if is_representor_port_name(i.portname)}
    return names | {p.netdev for p in ports if p.flavour in _REPRESENTOR}


def eswitch_facts(
    nics: list[Nic],
    interfaces: list[IpInterface],
    ports: list[Representor],
    eswitches: list[Eswitch],
) -> tuple[list[Eswitch], list[Representor]]:
    reps: dict[str, Representor] = {
        p.netdev: copy.copy(p) for p in ports if p.flavour in _REPRESENTOR}
    uplinks = {p.pf_pci_address: p.netdev for p in ports
               if p.flavour == "physical" and p.pf_pci_address}
    for iface in interfaces:
        parsed = parse_port_name(iface.name, iface.portname) if iface.portname else None
        if parsed is None:
            continue
        if parsed.flavour == "physical":
            if iface.parentbus in (None, "pci") and iface.parentdev:
                uplinks.setdefault(iface.parentdev, iface.name)
            continue
        rep = reps.setdefault(iface.name, parsed)
        rep.pf_pci_address = rep.pf_pci_address or (
            iface.parentdev if iface.parentbus in (None, "pci") else None)
        rep.operstate = rep.operstate or iface.operstate
        rep.switch_id = rep.switch_id or iface.switchid
    by_pci = {n.pci_address: n for n in nics}
    for rep in reps.values():
        nic = by_pci.get(rep.pf_pci_address or "")
        if nic is not None and rep.vfnum is not None and rep.controller is None \
                and rep.vfnum < len(nic.vfs):
            rep.vf_pci_address = nic.vfs[rep.vfnum]
    out = [copy.copy(e) for e in eswitches]
    known = {e.pf_pci_address for e in out}
    for pf in sorted({r.pf_pci_address for r in reps.values() if r.pf_pci_address} - known):
        if any(r.flavour in ("pcivf", "pcisf") for r in reps.values() if r.pf_pci_address == pf):
            out.append(Eswitch(pf_pci_address=pf, mode="switchdev", mode_source="representors"))
    for esw in out:
        nic = by_pci.get(esw.pf_pci_address)
        esw.uplink_netdev = esw.uplink_netdev or uplinks.get(esw.pf_pci_address) or (
            nic.netdev if nic else None)
        up = next((i for i in interfaces if i.name == esw.uplink_netdev), None)
        esw.switch_id = esw.switch_id or (up.switchid if up else None)
    return out, sorted(reps.values(), key=lambda r: r.netdev)
