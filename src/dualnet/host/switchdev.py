# ruff: noqa: PTH115, PTH118, PTH119, PTH120
# os.path on str paths, like discover.py (same reader, same hot tree).
"""Eswitch facts from sysfs: each PF's eswitch mode, its representor netdevs, its subfunctions.

What sysfs shows, and where (kernel `Documentation/networking/devlink/devlink-port.rst`,
`Documentation/networking/device_drivers/ethernet/mellanox/mlx5/switchdev.rst`, and the SF
patches of Parav Pandit, netdev 2020-12, which print the layouts below):

* `net/<if>/phys_port_name` is devlink's port name (`__devlink_port_phys_port_name_get`,
  net/devlink/port.c): `p<port>` (or `p<port>s<split>`) for the physical uplink, `pf<N>` for a
  PF port, `pf<N>vf<M>` for a VF representor, `pf<N>sf<S>` for an SF representor, each with a
  `c<controller>` prefix when the function sits on an external controller (a BlueField host).
  Representors are netdevs of the PF's PCI function: they sit in the PF's `net/` directory.
* `net/<if>/phys_switch_id` is the same on the uplink and every representor of one eswitch; it
  fails with EOPNOTSUPP where the driver has no switch id (read here as "unknown").
* MOFED adds `net/<pf>/compat/devlink/mode` (`legacy` / `switchdev`); upstream kernels have no
  sysfs file for the mode, so without it the mode is inferred: representors present ->
  switchdev; VFs enabled and no representor -> legacy (switchdev creates one per VF); else None.
* Subfunctions are auxiliary devices `mlx5_core.sf.<i>` under the PF's PCI directory, linked
  from `bus/auxiliary/devices/`, with a `sfnum` file; their netdevs and RDMA devices are
  children of the SF device (`net/<if>/device -> ../../../mlx5_core.sf.0`).
* `hw-tc-offload` is an ethtool feature (ETHTOOL_GFEATURES): sysfs does not expose it, so
  discovery reports it as unknown (None); a `--from` capture of `ethtool -k` could fill it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from shlex import quote
from typing import Literal, Protocol

from dualnet.host.models import Eswitch, Nic, Representor, ScalableFunction
from dualnet.names import is_pci_address, small_int

_PORT_NAME = re.compile(
    # ASCII, bounded digit runs: int() never sees "²" or a 5000-digit run from a tool output
    r"(?:c(?P<controller>[0-9]{1,9}))?pf(?P<pf>[0-9]{1,9})"
    r"(?:vf(?P<vf>[0-9]{1,9})|sf(?P<sf>[0-9]{1,9}))?"
    r"|p(?P<port>[0-9]{1,9})(?:s[0-9]{1,9})?"
)
_SF_AUX = re.compile(r"mlx5_core\.sf\.\d+")
_SF_AUX_IN_PATH = re.compile(r"/mlx5_core\.sf\.\d+/")
_REPRESENTOR_FLAVOURS = frozenset({"pcivf", "pcisf", "pcipf"})


class Reads(Protocol):
    """The part of discovery's reader this module uses (quiet on absent/EOPNOTSUPP files)."""

    def read(self, path: str, required: bool = False) -> str | None: ...

    def listdir(self, path: str, required: bool = False) -> list[str]: ...


def parse_port_name(netdev: str, name: str) -> Representor | None:
    """The representor described by a `phys_port_name`, or None when it is not devlink's."""
    m = _PORT_NAME.fullmatch(name.strip())
    if m is None:
        return None
    if m.group("port") is not None:
        return Representor(netdev=netdev, flavour="physical", port=int(m.group("port")))
    ctrl = int(m.group("controller")) if m.group("controller") else None
    pf = int(m.group("pf"))
    if m.group("vf") is not None:
        return Representor(netdev=netdev, flavour="pcivf", controller=ctrl, pfnum=pf,
                           vfnum=int(m.group("vf")))
    if m.group("sf") is not None:
        return Representor(netdev=netdev, flavour="pcisf", controller=ctrl, pfnum=pf,
                           sfnum=int(m.group("sf")))
    return Representor(netdev=netdev, flavour="pcipf", controller=ctrl, pfnum=pf)


def is_representor_port_name(name: str | None) -> bool:
    """True for `pfNvfM`/`pfNsfM`/`pfN` port names: those netdevs are not the function's own."""
    if not name:
        return False
    rep = parse_port_name("", name)
    return rep is not None and rep.flavour in _REPRESENTOR_FLAVOURS


def is_scalable_function_path(path: str) -> bool:
    """True for a sysfs path below an mlx5 SF auxiliary device (`.../mlx5_core.sf.4/net/x`)."""
    return _SF_AUX_IN_PATH.search(path) is not None


def read_eswitches(
    r: Reads, pf_paths: Mapping[str, str], nics: list[Nic]
) -> tuple[list[Eswitch], list[Representor]]:
    """Eswitch of every PF in `pf_paths` (PCI address -> sysfs dir) and the representors in it."""
    eswitches: list[Eswitch] = []
    reps: list[Representor] = []
    by_pci = {n.pci_address: n for n in nics}
    for pci, path in pf_paths.items():
        nic = by_pci.get(pci)
        if nic is None or nic.is_vf:
            continue
        net = os.path.join(path, "net")
        found: list[Representor] = []
        for name in sorted(r.listdir(net)):
            d = os.path.join(net, name)
            port_name = r.read(os.path.join(d, "phys_port_name"))
            rep = parse_port_name(name, port_name) if port_name else None
            if rep is None or rep.flavour not in _REPRESENTOR_FLAVOURS:
                continue
            rep.pf_pci_address = pci
            rep.operstate = r.read(os.path.join(d, "operstate"))
            rep.switch_id = r.read(os.path.join(d, "phys_switch_id"))
            if rep.vfnum is not None and rep.controller is None and rep.vfnum < len(nic.vfs):
                rep.vf_pci_address = nic.vfs[rep.vfnum]
            found.append(rep)
        uplink = nic.netdev
        compat = switch_id = None
        if uplink is not None:
            compat = r.read(os.path.join(net, uplink, "compat/devlink/mode"))
            switch_id = r.read(os.path.join(net, uplink, "phys_switch_id"))
        esw = Eswitch(pf_pci_address=pci, uplink_netdev=uplink, switch_id=switch_id)
        if compat == "legacy":
            esw.mode, esw.mode_source = "legacy", "compat/devlink/mode"
        elif compat == "switchdev":
            esw.mode, esw.mode_source = "switchdev", "compat/devlink/mode"
        elif any(x.flavour in ("pcivf", "pcisf") for x in found):
            esw.mode, esw.mode_source = "switchdev", "representors"
        elif nic.vfs or (nic.sriov_numvfs or 0) > 0:
            esw.mode, esw.mode_source = "legacy", "VFs without representors"
        if esw.mode is None and esw.switch_id is None and nic.driver != "mlx5_core":
            continue  # nothing eswitch-like to say about this PF
        eswitches.append(esw)
        reps.extend(found)
    return eswitches, reps


def _aux_index(name: str) -> int:
    """mlx5_core.sf.<n> -> n (-1 when not a number), the order the kernel made them in."""
    n = small_int(name.rsplit(".", 1)[-1])
    return -1 if n is None else n


def read_scalable_functions(r: Reads, sys_dir: str) -> list[ScalableFunction]:
    """mlx5 SFs from `bus/auxiliary/devices` (absent bus: none)."""
    bus = os.path.join(sys_dir, "bus/auxiliary/devices")
    out: list[ScalableFunction] = []
    for name in sorted(r.listdir(bus), key=_aux_index):
        if not _SF_AUX.fullmatch(name):
            continue
        link = os.path.join(bus, name)
        try:
            d = os.path.normpath(os.path.join(bus, os.readlink(link)))
        except OSError:
            d = link
        sfnum = r.read(os.path.join(d, "sfnum"))
        parent = os.path.basename(os.path.dirname(d))
        out.append(ScalableFunction(
            name=name,
            sfnum=small_int(sfnum.strip()) if sfnum else None,
            pf_pci_address=parent if is_pci_address(parent) else None,
            netdevs=sorted(r.listdir(os.path.join(d, "net"))),
            rdma_devices=sorted(r.listdir(os.path.join(d, "infiniband"))),
        ))
    return out


SwitchOp = tuple[Literal["unbind", "switch", "bind"], str]


def switchdev_order(pf_pci_address: str, vfs: list[str]) -> list[SwitchOp]:
    """The order that puts a PF's eswitch in switchdev mode with VFs that work: each VF unbound,
    the eswitch switched (which creates one representor per VF), each VF bound again.

    mlx5 refuses the mode change while VFs are bound to a driver (EBUSY on older kernels; on all
    kernels the VF netdevs lose their eswitch vport). Shown with real values by
    OpenNebula/one-deploy#214 (a ConnectX-4 Lx), the mlx5 switchdev documentation, and the
    OVN-Kubernetes and Antrea OVS offload guides. One place for the order: doctor and plan print
    it (switchdev_steps), prepare's eswitch step carries it out.
    """
    return [*(("unbind", vf) for vf in vfs), ("switch", pf_pci_address),
            *(("bind", vf) for vf in vfs)]


def switchdev_steps(pf_pci_address: str, vfs: list[str], numvfs: int) -> list[str]:
    """switchdev_order as the commands a person runs (VFs created in legacy mode first)."""
    sysfs = f"/sys/bus/pci/devices/{pf_pci_address}"
    drv = "/sys/bus/pci/drivers/mlx5_core"
    out = [f"devlink dev eswitch show pci/{pf_pci_address}"]
    if not vfs:
        out.append(f"echo {numvfs} > {sysfs}/sriov_numvfs   # 1. create VFs in legacy mode")
        out.append(f"ls -l {sysfs}/ | grep virtfn   # their PCI addresses, for the steps below")
        vfs = ["<vf-pci-address>"]
    else:
        out.append(f"# 1. VFs exist: {', '.join(vfs)}")
    for op, target in switchdev_order(pf_pci_address, vfs):
        if op == "unbind":
            out.append(f"echo {target} > {drv}/unbind   # 2. unbind each VF")
        elif op == "switch":
            out.append(f"devlink dev eswitch set pci/{target} mode switchdev   # 3. switch")
        else:
            out.append(f"echo {target} > {drv}/bind   # 4. rebind each VF")
    out.append("ip -d link show   # representors: phys_port_name pf<N>vf<M>; bring them up")
    return out


OVS_SERVICES = ("openvswitch-switch", "openvswitch")  # Debian/Ubuntu; RHEL/Fedora


def hw_tc_offload_commands(pf: str, representors: list[str] | None = None) -> list[str]:
    """`hw-tc-offload` on for the uplink and every representor on its function (doctor's fix,
    the plan's step; the OVN-Kubernetes and Antrea guides turn it on for the PF). Representors
    not known yet (the eswitch switches later) are named by where they will be."""
    lines = [f"ethtool -K {quote(pf)} hw-tc-offload on"]
    if representors:
        return lines + [f"ethtool -K {quote(r)} hw-tc-offload on" for r in representors]
    return [*lines, f"# and on each representor: the pf<N>vf<M> netdevs in "
            f"/sys/class/net/{pf}/device/net/ once the eswitch is in switchdev mode"]


def ovs_hw_offload_commands(service: str | None = None) -> list[str]:
    """OVS' hw-offload setting, read when OVS starts: set it, then restart OVS."""
    unit = service or OVS_SERVICES[0]
    return ["ovs-vsctl set Open_vSwitch . other_config:hw-offload=true",
            f"systemctl restart {unit}"
            + ("   # RHEL/Fedora: openvswitch" if service is None else "")]
