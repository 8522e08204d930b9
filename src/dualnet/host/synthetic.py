# ruff: noqa: PTH101, PTH103, PTH118, PTH119, PTH120, PTH123, PTH211
# os.path/os.open on str paths on purpose: pathlib objects cost several times more per file and
# these modules touch ~300k files on the benchmark node.
"""Build realistic sysfs/procfs trees from a compact node description.

The trees follow the real kernel layout so that `discover()` reads them exactly as it reads `/`:

* every PCI function is a real directory under `sys/devices/pci<dddd>:<bb>/`, nested below the
  bridges (root ports, switch up/downstream ports) that lead to it; SR-IOV VFs are siblings of
  their PF under the PF's parent bridge (as `drivers/pci/iov.c` adds them);
* `sys/bus/pci/devices/<bdf>`, `sys/class/net/<if>`, `sys/class/infiniband/<ibdev>`,
  `sys/class/infiniband_verbs/uverbsN`, `sys/class/infiniband_mad/umadN` and the
  `sys/bus/pci/drivers/<drv>/<bdf>` entries are RELATIVE symlinks into those directories, and
  `device`, `driver`, `physfn`, `virtfnN` are relative symlinks as the kernel makes them
  (`net/<if>/device -> ../../../<bdf>`);
* every value file ends with a newline and uses the kernel's format (formats.md section 5):
  `0x%04x` ids, `"4: ACTIVE"` port states, `"5: LinkUp"` phys states, uncompressed GIDs.

Kernel behaviour a plain file cannot reproduce, and the convention used instead (the reader in
`discover.py` treats "absent" and "unreadable" alike, so real trees and these trees read the same):

* `ports/N/gid_attrs/types/<i>` and `gid_attrs/ndevs/<i>` of an EMPTY GID slot fail with EINVAL
  on a real kernel; here those files are ABSENT (the `gids/<i>` file exists and reads all zeros).
  `ndevs/<i>` of InfiniBand GIDs (EINVAL on real kernels) is absent as well.
* `net/<if>/speed` and `carrier` fail with EINVAL when the link is down; here they are absent.
* `/dev/infiniband/*` are character devices on a real node; here they are empty regular files
  (discovery only lists the names).

Checked against: the Linux ABI documents `Documentation/ABI/stable/sysfs-class-infiniband`,
`Documentation/ABI/testing/sysfs-class-net`, `Documentation/ABI/testing/sysfs-bus-pci` and
`drivers/infiniband/core/sysfs.c`, `drivers/pci/iov.c`; and the sysfs fixtures of
prometheus/procfs (`testdata/fixtures/sys/class.ttar`, commit 33f935aa2735, e.g.
`class/infiniband/mlx5_0/ports/1/state` = `4: ACTIVE`, `rate` = `25 Gb/sec (1X EDR)`,
`hca_type` = `MT4118`, `class/drm/card0/device/driver -> ../../../../bus/pci/drivers/amdgpu`,
`numa_node` = `-1`). Those fixtures flatten `class/*` into directories; real kernels (and this
builder) make them symlinks into `devices/`.
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

STATE_CODES = {"NOP": 0, "DOWN": 1, "INIT": 2, "ARMED": 3, "ACTIVE": 4, "ACTIVE_DEFER": 5}
PHYS_CODES = {
    "SLEEP": (1, "Sleep"),
    "POLLING": (2, "Polling"),
    "DISABLED": (3, "Disabled"),
    "PORT_CONFIGURATION_TRAINING": (4, "PortConfigurationTraining"),
    "LINK_UP": (5, "LinkUp"),
    "LINK_ERROR_RECOVERY": (6, "LinkErrorRecovery"),
    "PHY_TEST": (7, "Phy Test"),
}
ZERO_GID = "0000:0000:0000:0000:0000:0000:0000:0000"


@dataclass
class GidSlot:
    """One non-empty GID table entry; `type` is `IB/RoCE v1` or `RoCE v2`."""

    index: int
    gid: str
    type: str | None = "IB/RoCE v1"
    ndev: str | None = None


@dataclass
class IbPort:
    number: int = 1
    state: str = "ACTIVE"
    phys_state: str = "LINK_UP"
    link_layer: Literal["Ethernet", "InfiniBand"] = "Ethernet"
    rate: str = "400 Gb/sec (4X NDR)"
    lid: int = 0
    sm_lid: int = 0
    gid_tbl_len: int = 256
    # None: derived like the kernel does (RoCE: link-local + IPv4-mapped of the netdev, v1 and v2;
    # IB: subnet prefix fe80:: + port GUID at index 0).
    gids: list[GidSlot] | None = None
    netdev: str | None = None  # RoCE netdev the GIDs are bound to (default: the function's Nth)


@dataclass
class RdmaDev:
    name: str
    node_guid: str
    fw_ver: str = "28.40.1000"
    board_id: str = "MT_0000000838"
    sys_image_guid: str | None = None
    node_type: str = "1: CA"
    hw_rev: str = "0"
    ports: list[IbPort] = field(default_factory=lambda: [IbPort()])


@dataclass
class Netdev:
    name: str
    mac: str
    mtu: int = 1500
    operstate: str = "up"
    speed: int | None = None
    arphrd: int = 1
    ipv4: list[str] = field(default_factory=list)
    phys_port_name: str | None = None
    dev_port: int = 0
    # eswitch ports (host/switchdev.py): the uplink and its representors share one switch id;
    # `compat_devlink_mode` is MOFED's `compat/devlink/mode` file (absent upstream).
    phys_switch_id: str | None = None
    compat_devlink_mode: str | None = None


@dataclass
class SubFunction:
    """An mlx5 SF: auxiliary device `mlx5_core.sf.<index>` under its PF (switchdev mode only)."""

    index: int
    sfnum: int
    netdevs: list[Netdev] = field(default_factory=list)
    rdma: list[RdmaDev] = field(default_factory=list)


@dataclass
class Function:
    """A PCI function (endpoint). `vfs` are its enabled SR-IOV VFs (placed beside it)."""

    address: str
    vendor: str
    device: str
    pci_class: str
    driver: str | None = None
    revision: str = "0x00"
    subsystem_vendor: str = "0x15b3"
    subsystem_device: str = "0x0000"
    numa_node: int | None = None  # None: the host bridge's
    local_cpulist: str | None = None
    netdevs: list[Netdev] = field(default_factory=list)
    rdma: list[RdmaDev] = field(default_factory=list)
    sriov_totalvfs: int | None = None
    sriov_offset: int = 2
    vfs: list[Function] = field(default_factory=list)
    sfs: list[SubFunction] = field(default_factory=list)


@dataclass
class Bridge:
    """A PCI-to-PCI bridge: a root port or a switch port (class 0x0604)."""

    address: str
    children: list[Bridge | Function] = field(default_factory=list)
    vendor: str = "0x10b5"
    device: str = "0x9797"


@dataclass
class HostBridge:
    """A PCI root complex, `sys/devices/pci<domain>:<bus>`."""

    domain: str = "0000"
    bus: str = "00"
    numa_node: int = -1
    local_cpulist: str = "0-1"
    children: list[Bridge | Function] = field(default_factory=list)


@dataclass
class Module:
    name: str
    size: int = 65536
    refcount: int = 0
    deps: list[str] = field(default_factory=list)


@dataclass
class RouteDesc:
    iface: str
    destination: str  # CIDR, "0.0.0.0/0" for the default route
    gateway: str | None = None
    metric: int = 0


@dataclass
class NodeDescription:
    hostname: str = "node"
    kernel: str = "6.8.0-1050-nvidia-64k"
    arch: str = "x86_64"
    pci: list[HostBridge] = field(default_factory=list)
    modules: list[Module] = field(default_factory=list)
    builtin_modules: list[str] = field(default_factory=list)
    netns_mode: Literal["shared", "exclusive"] | None = "shared"
    virtual_netdevs: list[Netdev] = field(default_factory=list)
    routes: list[RouteDesc] = field(default_factory=list)  # connected routes are added for you
    hugepages: list[tuple[int, int, int]] = field(default_factory=list)  # size_kb, total, free
    memlock_kb: int | None = 8192  # -1: unlimited; None: no proc/self/limits
    cni_bin: list[str] = field(default_factory=list)
    cni_conf: dict[str, str] = field(default_factory=dict)
    k3s_cni_conf: dict[str, str] | None = None
    k3s_cni_bin: list[str] = field(default_factory=list)


# --- helpers ---------------------------------------------------------------------------------


def _w(path: str, value: object) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{value}\n")


def _link(target: str, link: str) -> None:
    """Relative symlink `link -> target`, as the kernel's sysfs makes them."""
    # Spelled as the kernel spells them: up to the common ancestor, then down by name
    # (`net/eth0/device -> ../../../0000:01:00.0`, never `../..`).
    up = os.path.relpath(os.path.dirname(target), os.path.dirname(link))
    os.symlink(os.path.join(up, os.path.basename(target)), link)


def _hex4(value: str) -> str:
    v = value.lower().removeprefix("0x")
    return f"0x{v}"


def link_local_gid(mac: str) -> str:
    """fe80::/64 + modified EUI-64 of the MAC, uncompressed (what roce_gid_mgmt adds)."""
    b = [int(x, 16) for x in mac.split(":")]
    eui = [b[0] ^ 0x02, b[1], b[2], 0xFF, 0xFE, b[3], b[4], b[5]]
    groups = [f"{eui[i]:02x}{eui[i + 1]:02x}" for i in range(0, 8, 2)]
    return "fe80:0000:0000:0000:" + ":".join(groups)


def ipv4_gid(ip: str) -> str:
    a, b, c, d = (int(x) for x in ip.split("."))
    return f"0000:0000:0000:0000:0000:ffff:{a:02x}{b:02x}:{c:02x}{d:02x}"


def _port_gids(port: IbPort, netdev: Netdev | None, node_guid: str) -> list[GidSlot]:
    if port.gids is not None:
        return port.gids
    if port.link_layer == "InfiniBand":
        guid = node_guid.split(":")
        # Port GUID of port N is node GUID + N - 1 on mlx5; the subnet prefix is the default one.
        g = int("".join(guid), 16) + port.number - 1
        h = f"{g:016x}"
        groups = ":".join(h[i : i + 4] for i in range(0, 16, 4))
        return [GidSlot(0, "fe80:0000:0000:0000:" + groups)]
    if netdev is None:
        return []
    out = [
        GidSlot(0, link_local_gid(netdev.mac), "IB/RoCE v1", netdev.name),
        GidSlot(1, link_local_gid(netdev.mac), "RoCE v2", netdev.name),
    ]
    for cidr in netdev.ipv4:
        ip = cidr.split("/")[0]
        n = len(out)
        out.append(GidSlot(n, ipv4_gid(ip), "IB/RoCE v1", netdev.name))
        out.append(GidSlot(n + 1, ipv4_gid(ip), "RoCE v2", netdev.name))
    return out


# --- the builder -----------------------------------------------------------------------------


class _Builder:
    def __init__(self, root: Path, node: NodeDescription) -> None:
        self.root = str(root)
        self.sys = os.path.join(self.root, "sys")
        self.node = node
        self.uverbs = 0
        self.umad = 0
        self.all_netdevs: list[Netdev] = []
        self.modules = {m.name for m in node.modules}

    def mk(self, *parts: str) -> str:
        p = os.path.join(*parts)
        os.makedirs(p, exist_ok=True)
        return p

    def build(self) -> None:
        for d in ("class/net", "bus/pci/devices", "bus/pci/drivers", "devices/virtual/net",
                  "kernel/mm/hugepages", "module"):
            self.mk(self.sys, d)
        if "ib_core" in self.modules:
            # The RDMA classes exist only once ib_core (and ib_uverbs/ib_umad) registered them.
            self.mk(self.sys, "class/infiniband")
        if "ib_uverbs" in self.modules:
            self.mk(self.sys, "class/infiniband_verbs")
        if "ib_umad" in self.modules:
            self.mk(self.sys, "class/infiniband_mad")
        for hb in self.node.pci:
            hb_dir = self.mk(self.sys, "devices", f"pci{hb.domain}:{hb.bus}")
            for child in hb.children:
                self._child(child, hb_dir, hb)
        for nd in self.node.virtual_netdevs:
            d = self.mk(self.sys, "devices/virtual/net", nd.name)
            self._netdev_files(d, nd)
            _link(d, os.path.join(self.sys, "class/net", nd.name))
            self.all_netdevs.append(nd)
        self._proc()
        self._modules()
        self._misc()

    def _child(self, child: Bridge | Function, parent: str, hb: HostBridge) -> None:
        if isinstance(child, Bridge):
            d = self.mk(parent, child.address)
            self._pci_common(d, child.address, child.vendor, child.device, "0x060400",
                             "pcieport", hb.numa_node, hb.local_cpulist, "0x00")
            for c in child.children:
                self._child(c, d, hb)
            return
        pf_dir = self._function(child, parent, hb)
        for i, vf in enumerate(child.vfs):
            vf_dir = self._function(vf, parent, hb)
            _link(pf_dir, os.path.join(vf_dir, "physfn"))
            _link(vf_dir, os.path.join(pf_dir, f"virtfn{i}"))

    def _pci_common(self, d: str, addr: str, vendor: str, device: str, cls: str,
                    driver: str | None, numa: int, cpulist: str, rev: str) -> None:
        _w(os.path.join(d, "vendor"), _hex4(vendor))
        _w(os.path.join(d, "device"), _hex4(device))
        _w(os.path.join(d, "class"), cls)
        _w(os.path.join(d, "revision"), rev)
        _w(os.path.join(d, "numa_node"), numa)
        _w(os.path.join(d, "local_cpulist"), cpulist)
        v = vendor.lower().removeprefix("0x")
        dv = device.lower().removeprefix("0x")
        _w(os.path.join(d, "modalias"), f"pci:v0000{v.upper()}d0000{dv.upper()}sv*sd*")
        _link(d, os.path.join(self.sys, "bus/pci/devices", addr))
        if driver:
            drv = self.mk(self.sys, "bus/pci/drivers", driver)
            _link(drv, os.path.join(d, "driver"))
            _link(d, os.path.join(drv, addr))

    def _function(self, fn: Function, parent: str, hb: HostBridge) -> str:
        d = self.mk(parent, fn.address)
        numa = hb.numa_node if fn.numa_node is None else fn.numa_node
        self._pci_common(d, fn.address, fn.vendor, fn.device, fn.pci_class, fn.driver, numa,
                         fn.local_cpulist or hb.local_cpulist, fn.revision)
        _w(os.path.join(d, "subsystem_vendor"), _hex4(fn.subsystem_vendor))
        _w(os.path.join(d, "subsystem_device"), _hex4(fn.subsystem_device))
        if fn.sriov_totalvfs is not None:
            _w(os.path.join(d, "sriov_totalvfs"), fn.sriov_totalvfs)
            _w(os.path.join(d, "sriov_numvfs"), len(fn.vfs))
            _w(os.path.join(d, "sriov_offset"), fn.sriov_offset)
            _w(os.path.join(d, "sriov_stride"), 1)
        if fn.netdevs:
            net = self.mk(d, "net")
            for nd in fn.netdevs:
                nd_dir = self.mk(net, nd.name)
                self._netdev_files(nd_dir, nd)
                _link(d, os.path.join(nd_dir, "device"))
                _link(nd_dir, os.path.join(self.sys, "class/net", nd.name))
                self.all_netdevs.append(nd)
        if fn.rdma:
            ib = self.mk(d, "infiniband")
            for dev in fn.rdma:
                self._rdma(dev, ib, d, fn)
        for sf in fn.sfs:
            self._subfunction(sf, d, fn)
        return d

    def _subfunction(self, sf: SubFunction, pf_dir: str, pf: Function) -> None:
        # Layout of the mlx5 SF patches (netdev, 2020-12): `bus/auxiliary/devices/mlx5_core.sf.N
        # -> ../../../devices/pci0000:00/0000:00:03.0/0000:06:00.0/mlx5_core.sf.N`, a `sfnum`
        # file, and the SF's netdev/RDMA device as children (`net/eth1/device ->
        # ../../../mlx5_core.sf.0`).
        name = f"mlx5_core.sf.{sf.index}"
        d = self.mk(pf_dir, name)
        _w(os.path.join(d, "sfnum"), sf.sfnum)
        _link(d, os.path.join(self.mk(self.sys, "bus/auxiliary/devices"), name))
        drv = self.mk(self.sys, "bus/auxiliary/drivers/mlx5_core.sf")
        _link(drv, os.path.join(d, "driver"))
        if sf.netdevs:
            net = self.mk(d, "net")
            for nd in sf.netdevs:
                nd_dir = self.mk(net, nd.name)
                self._netdev_files(nd_dir, nd)
                _link(d, os.path.join(nd_dir, "device"))
                _link(nd_dir, os.path.join(self.sys, "class/net", nd.name))
                self.all_netdevs.append(nd)
        if sf.rdma:
            ib = self.mk(d, "infiniband")
            as_fn = Function(pf.address, pf.vendor, pf.device, pf.pci_class, netdevs=sf.netdevs)
            for dev in sf.rdma:
                self._rdma(dev, ib, d, as_fn)

    def _netdev_files(self, d: str, nd: Netdev) -> None:
        _w(os.path.join(d, "address"), nd.mac)
        _w(os.path.join(d, "addr_len"), 20 if nd.arphrd == 32 else 6)
        _w(os.path.join(d, "type"), nd.arphrd)
        _w(os.path.join(d, "mtu"), nd.mtu)
        _w(os.path.join(d, "operstate"), nd.operstate)
        _w(os.path.join(d, "dev_port"), nd.dev_port)
        _w(os.path.join(d, "ifindex"), len(self.all_netdevs) + 2)
        if nd.operstate == "up":
            _w(os.path.join(d, "carrier"), 1)
            if nd.speed is not None:
                _w(os.path.join(d, "speed"), nd.speed)
        if nd.phys_port_name:
            _w(os.path.join(d, "phys_port_name"), nd.phys_port_name)
        if nd.phys_switch_id:
            _w(os.path.join(d, "phys_switch_id"), nd.phys_switch_id)
        if nd.compat_devlink_mode:
            c = self.mk(d, "compat/devlink")
            _w(os.path.join(c, "mode"), nd.compat_devlink_mode)

    def _rdma(self, dev: RdmaDev, ib_parent: str, fn_dir: str, fn: Function) -> None:
        d = self.mk(ib_parent, dev.name)
        _link(fn_dir, os.path.join(d, "device"))
        _link(d, os.path.join(self.mk(self.sys, "class/infiniband"), dev.name))
        _w(os.path.join(d, "node_type"), dev.node_type)
        _w(os.path.join(d, "node_guid"), dev.node_guid)
        _w(os.path.join(d, "sys_image_guid"), dev.sys_image_guid or dev.node_guid)
        _w(os.path.join(d, "fw_ver"), dev.fw_ver)
        _w(os.path.join(d, "hca_type"), f"MT{int(fn.device, 16)}")
        _w(os.path.join(d, "hw_rev"), dev.hw_rev)
        _w(os.path.join(d, "board_id"), dev.board_id)
        _w(os.path.join(d, "node_desc"), f"{self.node.hostname} {dev.name}")
        by_name = {n.name: n for n in fn.netdevs}
        for port in dev.ports:
            p = self.mk(d, "ports", str(port.number))
            _w(os.path.join(p, "state"), f"{STATE_CODES[port.state]}: {port.state}")
            code, word = PHYS_CODES[port.phys_state]
            _w(os.path.join(p, "phys_state"), f"{code}: {word}")
            _w(os.path.join(p, "link_layer"), port.link_layer)
            _w(os.path.join(p, "rate"), port.rate)
            _w(os.path.join(p, "lid"), f"0x{port.lid:x}")
            _w(os.path.join(p, "sm_lid"), f"0x{port.sm_lid:x}")
            _w(os.path.join(p, "lid_mask_count"), 0)
            _w(os.path.join(p, "cap_mask"), "0x04010000")
            nd_name = port.netdev or (fn.netdevs[port.number - 1].name
                                      if len(fn.netdevs) >= port.number else None)
            gids = _port_gids(port, by_name.get(nd_name or ""), dev.node_guid)
            by_index = {g.index: g for g in gids}
            gdir = self.mk(p, "gids")
            tdir = self.mk(p, "gid_attrs", "types")
            ndir = self.mk(p, "gid_attrs", "ndevs")
            for i in range(port.gid_tbl_len):
                g = by_index.get(i)
                _w(os.path.join(gdir, str(i)), g.gid if g else ZERO_GID)
                if g is not None and g.gid != ZERO_GID:
                    if g.type is not None:
                        _w(os.path.join(tdir, str(i)), g.type)
                    if g.ndev is not None:
                        _w(os.path.join(ndir, str(i)), g.ndev)
            pk = self.mk(p, "pkeys")
            _w(os.path.join(pk, "0"), "0xffff")
        self._char_devices(dev, fn_dir)

    def _char_devices(self, dev: RdmaDev, fn_dir: str) -> None:
        if "ib_uverbs" in self.modules:
            n = f"uverbs{self.uverbs}"
            self.uverbs += 1
            c = self.mk(fn_dir, "infiniband_verbs", n)
            _w(os.path.join(c, "ibdev"), dev.name)
            _w(os.path.join(c, "abi_version"), 1)
            _w(os.path.join(c, "dev"), f"231:{192 + self.uverbs - 1}")
            _link(c, os.path.join(self.sys, "class/infiniband_verbs", n))
            self._devnode(n)
        if "ib_umad" in self.modules:
            for port in dev.ports:
                for kind in ("umad", "issm"):
                    n = f"{kind}{self.umad}"
                    c = self.mk(fn_dir, "infiniband_mad", n)
                    _w(os.path.join(c, "ibdev"), dev.name)
                    _w(os.path.join(c, "port"), port.number)
                    _link(c, os.path.join(self.sys, "class/infiniband_mad", n))
                    self._devnode(n)
                self.umad += 1

    def _devnode(self, name: str) -> None:
        d = self.mk(self.root, "dev/infiniband")
        Path(d, name).touch()

    def _proc(self) -> None:
        proc = self.mk(self.root, "proc")
        k = self.mk(proc, "sys/kernel")
        _w(os.path.join(k, "hostname"), self.node.hostname)
        _w(os.path.join(k, "osrelease"), self.node.kernel)
        _w(os.path.join(k, "arch"), self.node.arch)
        if self.node.memlock_kb is not None:
            lim = "unlimited" if self.node.memlock_kb < 0 else str(self.node.memlock_kb * 1024)
            self.mk(proc, "self")
            _w(os.path.join(proc, "self/limits"),
               "Limit                     Soft Limit           Hard Limit           Units     \n"
               f"Max locked memory         {lim:<21}{lim:<21}bytes     ")
        net = self.mk(proc, "net")
        routes: list[RouteDesc] = []
        locals_: list[tuple[str, str]] = []
        for nd in self.all_netdevs:
            for cidr in nd.ipv4:
                iface = ipaddress.IPv4Interface(cidr)
                routes.append(RouteDesc(nd.name, str(iface.network)))
                locals_.append((str(iface.ip), nd.name))
        routes = list(self.node.routes) + routes
        lines = ["Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU"
                 "\tWindow\tIRTT"]
        for r in routes:
            net_ = ipaddress.IPv4Network(r.destination)
            gw = ipaddress.IPv4Address(r.gateway or "0.0.0.0")
            flags = 0x1 | (0x2 if r.gateway else 0)
            lines.append("\t".join([
                r.iface, _le(net_.network_address), _le(gw), f"{flags:04X}", "0", "0",
                str(r.metric), _le(net_.netmask), "0", "0", "0",
            ]))
        with open(os.path.join(net, "route"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(net, "fib_trie"), "w", encoding="utf-8") as f:
            f.write(_fib_trie(routes, locals_))

    def _modules(self) -> None:
        lines = []
        for m in self.node.modules:
            deps = ",".join(m.deps) + "," if m.deps else "-"
            lines.append(f"{m.name} {m.size} {m.refcount} {deps} Live 0x0000000000000000")
            md = self.mk(self.sys, "module", m.name)
            _w(os.path.join(md, "initstate"), "live")
            _w(os.path.join(md, "refcnt"), m.refcount)
        for name in self.node.builtin_modules:
            self.mk(self.sys, "module", name, "parameters")
        with open(os.path.join(self.root, "proc/modules"), "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))
        if self.node.netns_mode is not None:
            p = self.mk(self.sys, "module/ib_core/parameters")
            _w(os.path.join(p, "netns_mode"), "Y" if self.node.netns_mode == "shared" else "N")

    def _misc(self) -> None:
        for size, total, free in self.node.hugepages:
            h = self.mk(self.sys, "kernel/mm/hugepages", f"hugepages-{size}kB")
            _w(os.path.join(h, "nr_hugepages"), total)
            _w(os.path.join(h, "free_hugepages"), free)
        if "rdma_ucm" in self.modules:
            self._devnode("rdma_cm")
        if self.node.cni_bin:
            b = self.mk(self.root, "opt/cni/bin")
            for name in self.node.cni_bin:
                p = os.path.join(b, name)
                Path(p).touch()
                os.chmod(p, 0o755)
        if self.node.cni_conf:
            c = self.mk(self.root, "etc/cni/net.d")
            for name, text in self.node.cni_conf.items():
                Path(c, name).write_text(text, encoding="utf-8")
        if self.node.k3s_cni_conf is not None:
            c = self.mk(self.root, "var/lib/rancher/k3s/agent/etc/cni/net.d")
            for name, text in self.node.k3s_cni_conf.items():
                Path(c, name).write_text(text, encoding="utf-8")
            b = self.mk(self.root, "var/lib/rancher/k3s/data/current/bin")
            for name in self.node.k3s_cni_bin:
                Path(b, name).touch()
                os.chmod(os.path.join(b, name), 0o755)


def _le(addr: ipaddress.IPv4Address) -> str:
    """/proc/net/route prints addresses as the raw little-endian u32 in hex."""
    return f"{int.from_bytes(addr.packed, 'little'):08X}"


def _fib_trie(routes: list[RouteDesc], locals_: list[tuple[str, str]]) -> str:
    """A /proc/net/fib_trie with the leaf lines discovery reads (`|-- ip` + `/32 host LOCAL`).

    Real files nest `+--` trie nodes; readers only rely on the leaf lines, so the trie nodes here
    are flat (one per route) but keep the real indentation and wording."""
    out = ["Main:", "  +-- 0.0.0.0/0 3 0 5"]
    for r in routes:
        net = ipaddress.IPv4Network(r.destination)
        out.append(f"     |-- {net.network_address}")
        kind = "universe" if r.gateway else "link"
        out.append(f"        /{net.prefixlen} {kind} UNICAST")
    out += ["Local:", "  +-- 0.0.0.0/0 3 0 5"]
    for ip, _name in locals_:
        out.append(f"     |-- {ip}")
        out.append("        /32 host LOCAL")
    out += ["     |-- 127.0.0.1", "        /32 host LOCAL"]
    return "\n".join(out) + "\n"


def build_tree(node: NodeDescription, root: Path) -> Path:
    """Write the sysfs/procfs tree of `node` under `root` (created; must be empty or absent)."""
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty")
    _Builder(root, node).build()
    return root


def cni_conf_json(name: str, plugin_types: list[str], conflist: bool = True) -> str:
    """A minimal but valid CNI config text, for descriptions."""
    if conflist:
        return json.dumps({"cniVersion": "1.0.0", "name": name,
                           "plugins": [{"type": t} for t in plugin_types]}, indent=2)
    return json.dumps({"cniVersion": "0.3.1", "name": name, "type": plugin_types[0]}, indent=2)
