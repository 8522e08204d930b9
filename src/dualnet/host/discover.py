# ruff: noqa: PTH100, PTH110, PTH112, PTH113, PTH114, PTH115, PTH118, PTH119, PTH120, PTH208
# os.path/os.open on str paths on purpose: pathlib objects cost several times more per file and
# these modules touch ~300k files on the benchmark node.
"""Discovery: one node's facts, read only from files under a root (sysfs, procfs, /dev, CNI dirs).

`discover(root)` never raises for an odd tree: every file that should be there and cannot be read
becomes a `ReadProblem` in `report.problems` and the rest of the report stands. Files that are
legitimately absent or fail with EINVAL on real kernels (GID attributes of empty slots, `speed` of
a down link, `ndevs` of InfiniBand GIDs) read as "not there" and are not problems.

Derivations (each value is read from the tree; only these are computed):

* RoCE active MTU: mlx5 reports `min(max_mtu, iboe_get_mtu(netdev_mtu))`, where iboe_get_mtu
  subtracts the RoCE headers (GRH 40 + UDP 8 + BTH 12 + XRC ETH 4 + AtomicETH 28 + ICRC 4 = 96
  bytes) and rounds down to an IB MTU (256, 512, 1024, 2048, 4096). MTU 1500 -> 1024, 9000 -> 4096.
  InfiniBand ports negotiate their MTU with the subnet manager, which sysfs does not show: None.
* GPU x NIC relation in `nvidia-smi topo -m` terms, from the PCI device paths under
  `sys/devices/pci<domain>:<bus>/...`:
  - different host bridges (root complexes): NODE when both sit on the same NUMA node (or either
    node is unknown, -1), otherwise SYS;
  - same host bridge, no bridge in common: PHB;
  - common bridges, and each device at most one bridge below the deepest common one (same
    device, same switch): PIX;
  - otherwise (a switch hierarchy between them): PXB.
* RoCE v2 IPv4 GID index: lowest GID index of type `RoCE v2` holding an IPv4-mapped GID.
* Management interface: the `/proc/net/route` default route with the lowest metric; its addresses
  are the local addresses (`/proc/net/fib_trie`, `/32 host LOCAL`) inside that interface's
  connected routes, with the connected route's prefix length.
* RDMA provider: from the PCI driver (mlx5_core -> mlx5_ib, ...), as sysfs has no provider file.
* `memlock_kb`: `Max locked memory` soft limit of `proc/self/limits` under root; -1 = unlimited.

Speed: the hot loop (GID tables) opens each `gids/<i>` once with `dir_fd` and plain `os.read`,
and reads `gid_attrs` only for non-empty slots.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from dualnet.host import pciids
from dualnet.host.models import (
    CniConfigFile,
    CniState,
    Gid,
    Gpu,
    HostReport,
    Hugepages,
    KernelModule,
    LinkLayer,
    ManagementInterface,
    NetnsMode,
    Nic,
    PciPair,
    PciRelation,
    PhysState,
    PortState,
    RdmaDevice,
    RdmaPort,
    ReadProblem,
    Route,
    TopoEntry,
)
from dualnet.host.roce import gid_ipv4, roce_active_mtu, roce_v2_ipv4_gid_index
from dualnet.host.switchdev import (
    is_representor_port_name,
    is_scalable_function_path,
    read_eswitches,
    read_scalable_functions,
)
from dualnet.host.vpd import Vpd, parse_vpd
from dualnet.names import is_ifname, is_pci_address, small_int

_VPD_MAX = 32768  # the PCI VPD address space is 15 bits

RELEVANT_MODULES = (
    "mlx5_core", "mlx5_ib", "ib_core", "ib_uverbs", "ib_umad", "rdma_ucm", "rdma_cm", "ib_ipoib",
    "nvidia_peermem", "mlx_compat",
)
CNI_BIN_DIRS = ("opt/cni/bin", "var/lib/rancher/k3s/data/current/bin")
CNI_CONF_DIR = "etc/cni/net.d"
K3S_CNI_CONF_DIR = "var/lib/rancher/k3s/agent/etc/cni/net.d"
PROVIDERS = {"mlx5_core": "mlx5_ib", "mlx4_core": "mlx4_ib", "irdma": "irdma", "bnxt_en": "bnxt_re",
             "qede": "qedr", "ice": "irdma", "i40e": "irdma", "hns3": "hns_roce_hw_v2",
             "erdma": "erdma", "efa": "efa"}
PHYS_WORDS = {
    "sleep": PhysState.SLEEP, "polling": PhysState.POLLING, "disabled": PhysState.DISABLED,
    "portconfigurationtraining": PhysState.PORT_CONFIGURATION_TRAINING,
    "linkup": PhysState.LINK_UP, "linkerrorrecovery": PhysState.LINK_ERROR_RECOVERY,
    "phy test": PhysState.PHY_TEST, "nop": PhysState.NOP,
}
ZERO_GID = b"0000:0000:0000:0000:0000:0000:0000:0000"
# ASCII digits only: `\d` and str.isdigit() also take "²" or "٣", which int() refuses or reads
_NUM_RE = re.compile(r"([0-9]+)")
# the kernel's GID format (8 groups of 4 lowercase hex digits): anything else in a gids/<i>
# file is a broken tree, reported as a problem rather than passed on to show-gids and NCCL
_GID_TEXT = re.compile(r"[0-9a-f]{4}(?::[0-9a-f]{4}){7}")
_QUIET = (errno.ENOENT, errno.EINVAL, errno.ENODATA, errno.EOPNOTSUPP)


_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*Gb/sec")


def sysfs_rate_gbps(text: str | None) -> float | None:
    """A port's sysfs `rate` ('400 Gb/sec (4X NDR)', '2.5 Gb/sec (1X SDR)') in Gb/s, else None.
    The one reader of that format: discovery and bench (the rate read inside a pod) use it."""
    m = _RATE.match(text or "")
    return float(m.group(1)) if m else None


def natural_key(name: str) -> list[tuple[int, str] | str]:
    """mlx5_2 before mlx5_10.

    A digit run sorts as (its length without leading zeros, its digits): numeric order without
    int(), which refuses runs over sys.int_max_str_digits (a tool output can hold one in a name).
    re.split with one group alternates text and digit runs, so every position holds one type."""
    return [(len(p.lstrip("0")), p.lstrip("0")) if i % 2 else p
            for i, p in enumerate(_NUM_RE.split(name))]


class _Reader:
    """File access under root that turns every failure into a ReadProblem (or a quiet None)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.problems: list[ReadProblem] = []

    def rel(self, path: str) -> str:
        return "/" + os.path.relpath(path, self.root) if path.startswith(self.root) else path

    def problem(self, path: str, exc: OSError | str) -> None:
        if isinstance(exc, OSError):
            if exc.errno == errno.ENOENT and os.path.islink(path):
                what = "dangling symlink"
            else:
                what = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
        else:
            what = exc
        self.problems.append(ReadProblem(path=self.rel(path), error=what))

    def read(self, path: str, required: bool = False) -> str | None:
        """File content stripped; None when unreadable (a problem only if `required` or odd)."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            if required or exc.errno not in _QUIET:
                self.problem(path, exc)
            return None
        try:
            return os.read(fd, 65536).decode("utf-8", "replace").strip()
        except OSError as exc:
            if required or exc.errno not in _QUIET:
                self.problem(path, exc)
            return None
        finally:
            os.close(fd)

    def read_int(self, path: str, required: bool = False, base: int = 10) -> int | None:
        text = self.read(path, required)
        if text is None:
            return None
        try:
            return int(text, base)
        except ValueError:
            self.problem(path, f"not a number: {text[:40]!r}")
            return None

    def listdir(self, path: str, required: bool = False) -> list[str]:
        try:
            return os.listdir(path)
        except OSError as exc:
            if required or exc.errno not in _QUIET:
                self.problem(path, exc)
            return []

    def readlink_name(self, path: str) -> str | None:
        try:
            return os.path.basename(os.readlink(path))
        except OSError:
            return None


@dataclass
class _PciFn:
    address: str
    components: list[str]
    path: str
    vendor: str
    device: str
    pci_class: str
    numa: int | None
    entries: set[str] = field(default_factory=set)

    @property
    def pci_path(self) -> list[str] | None:
        """The bridges above the function (root port first); None for a flattened fixture."""
        return None if self.components[0] == "?" else list(self.components[1:-1])


@dataclass
class _Netdev:
    name: str
    mac: str | None = None
    mtu: int | None = None
    operstate: str | None = None
    speed: int | None = None
    arphrd: int | None = None
    carrier: bool | None = None


def _hex_id(text: str | None) -> str:
    return (text or "").lower().removeprefix("0x").zfill(4) if text else ""


class _Discovery:
    def __init__(self, root: str) -> None:
        self.root = root
        self.sys = os.path.join(root, "sys")
        self.r = _Reader(root)
        self.fns: dict[str, _PciFn] = {}
        self.netdevs: dict[str, _Netdev] = {}

    # --- PCI ---------------------------------------------------------------------------------
    def scan_pci(self) -> None:
        bus = os.path.join(self.sys, "bus/pci/devices")
        devices_dir = os.path.join(self.sys, "devices")
        for name in sorted(self.r.listdir(bus, required=True)):
            link = os.path.join(bus, name)
            try:
                target = os.path.normpath(os.path.join(bus, os.readlink(link)))
            except OSError:
                target = link  # a plain directory (flattened fixture) is read as is
            if not os.path.isdir(target):
                self.r.problem(link, "dangling symlink")
                continue
            relp = os.path.relpath(target, devices_dir)
            comps = relp.split("/") if not relp.startswith("..") else ["?", name]
            try:
                entries = set(os.listdir(target))
            except OSError as exc:
                self.r.problem(target, exc)
                continue
            vendor = _hex_id(self.r.read(os.path.join(target, "vendor"), True))
            device = _hex_id(self.r.read(os.path.join(target, "device"), True))
            cls = self.r.read(os.path.join(target, "class"), True) or ""
            numa = None
            if "numa_node" in entries:
                numa = self.r.read_int(os.path.join(target, "numa_node"))
                if numa is not None and numa < 0:
                    numa = None
            self.fns[name] = _PciFn(name, comps, target, vendor, device, cls.lower(), numa,
                                    entries)

    def _netdev(self, name: str, d: str) -> _Netdev:
        r = self.r
        nd = _Netdev(name)
        nd.mac = r.read(os.path.join(d, "address"), True)
        nd.mtu = r.read_int(os.path.join(d, "mtu"), True)
        nd.operstate = r.read(os.path.join(d, "operstate"), True)
        nd.arphrd = r.read_int(os.path.join(d, "type"))
        speed = r.read_int(os.path.join(d, "speed"))
        nd.speed = speed if speed is not None and speed > 0 else None
        carrier = r.read(os.path.join(d, "carrier"))
        nd.carrier = None if carrier is None else carrier == "1"
        self.netdevs[name] = nd
        return nd

    def child_netdevs(self) -> dict[str, list[str]]:
        """Netdevs that sit under a child device of a PCI function rather than in `<pci>/net`:
        virtio (`0000:00:03.0/virtio2/net/eth0`), auxiliary and SF devices. Found from
        `sys/class/net/*` resolved back to the nearest PCI function above it."""
        by_path = {os.path.realpath(fn.path): fn.address for fn in self.fns.values()}
        out: dict[str, list[str]] = {}
        class_net = os.path.join(self.sys, "class/net")
        for name in self.r.listdir(class_net):
            target = os.path.realpath(os.path.join(class_net, name))
            parent = os.path.dirname(os.path.dirname(target))  # drop "net/<name>"
            if os.path.basename(os.path.dirname(target)) != "net" or parent in by_path:
                continue  # not a device netdev, or directly in <pci>/net (read there)
            up = parent
            while up not in by_path and os.path.dirname(up) != up:
                up = os.path.dirname(up)
            # an mlx5 SF's netdev is the SF's own (report.scalable_functions), not its PF's
            if up in by_path and not is_scalable_function_path(target):
                out.setdefault(by_path[up], []).append(name)
        return {k: sorted(v, key=natural_key) for k, v in out.items()}

    def nics(self) -> list[Nic]:
        out: list[Nic] = []
        vf_index: dict[str, int] = {}
        r = self.r
        children = self.child_netdevs()
        for fn in self.fns.values():
            klass = fn.pci_class.removeprefix("0x")
            if not klass.startswith("02"):
                continue
            p = fn.path
            driver = r.readlink_name(os.path.join(p, "driver")) if "driver" in fn.entries else None
            netdev_names = (sorted(r.listdir(os.path.join(p, "net")), key=natural_key)
                            if "net" in fn.entries else [])
            # In switchdev mode the VF/SF representors are netdevs of the PF's function too;
            # they are eswitch ports, not the PF's own netdev (host/switchdev.py reads them).
            netdev_names = [n for n in netdev_names if not is_representor_port_name(
                r.read(os.path.join(p, "net", n, "phys_port_name")))]
            nds = [self._netdev(n, os.path.join(p, "net", n)) for n in netdev_names]
            for n in children.get(fn.address, []):
                if n not in netdev_names:
                    netdev_names.append(n)
                    nds.append(self._netdev(n, os.path.join(self.sys, "class/net", n)))
            rdma = (sorted(r.listdir(os.path.join(p, "infiniband")), key=natural_key)
                    if "infiniband" in fn.entries else [])
            pf = r.readlink_name(os.path.join(p, "physfn")) if "physfn" in fn.entries else None
            vfs: list[tuple[int, str]] = []
            for e in fn.entries:
                if e.startswith("virtfn"):
                    target = r.readlink_name(os.path.join(p, e))
                    if target is None:
                        r.problem(os.path.join(p, e), "dangling symlink")
                        continue
                    idx = -1 if (vf_n := small_int(e[6:])) is None else vf_n
                    vfs.append((idx, target))
                    vf_index[target] = idx
            vfs.sort()
            total = numvfs = None
            if "sriov_totalvfs" in fn.entries:
                total = r.read_int(os.path.join(p, "sriov_totalvfs"))
                numvfs = r.read_int(os.path.join(p, "sriov_numvfs"))
            first = nds[0] if nds else None
            is_vf = pf is not None or (fn.vendor == pciids.MELLANOX
                                       and pciids.mlx_is_vf(fn.device))
            link_type: Literal["ether", "infiniband"] | None = None
            if first is not None and first.arphrd in (1, 32):
                link_type = "ether" if first.arphrd == 1 else "infiniband"
            out.append(Nic(
                pci_address=fn.address, vendor_id=fn.vendor, device_id=fn.device,
                pci_class=fn.pci_class or None, model=pciids.nic_model(fn.vendor, fn.device),
                driver=driver, is_vf=is_vf, pf_pci_address=pf,
                netdev=first.name if first else None, netdevs=netdev_names,
                mac=first.mac if first else None, mtu=first.mtu if first else None,
                operstate=first.operstate if first else None,
                speed_mbps=first.speed if first else None, link_type=link_type,
                numa_node=fn.numa, sriov_totalvfs=total, sriov_numvfs=numvfs,
                vfs=[a for _, a in vfs], rdma_devices=rdma, pci_path=fn.pci_path,
            ))
        for nic in out:
            if nic.is_vf and nic.pci_address in vf_index:
                nic.vf_index = vf_index[nic.pci_address]
        return out

    # --- RDMA --------------------------------------------------------------------------------
    def rdma(self, nics: list[Nic]) -> list[RdmaDevice]:
        r = self.r
        cls = os.path.join(self.sys, "class/infiniband")
        if not os.path.isdir(cls):
            return []
        nic_by_pci = {n.pci_address: n for n in nics}
        out = []
        for name in sorted(r.listdir(cls), key=natural_key):
            link = os.path.join(cls, name)
            try:
                d = os.path.normpath(os.path.join(cls, os.readlink(link)))
            except OSError:
                d = link
            if not os.path.isdir(d):
                r.problem(link, "dangling symlink")
                continue
            parent = os.path.basename(os.path.dirname(os.path.dirname(d)))
            pci = parent if is_pci_address(parent) else r.readlink_name(os.path.join(d, "device"))
            if pci is not None and not is_pci_address(pci):
                pci = None
            nic = nic_by_pci.get(pci or "")
            part = None
            fn = self.fns.get(pci or "")
            if fn is not None:
                try:
                    part = int(fn.device, 16)
                except ValueError:
                    part = None
            vpd = self.vpd(fn)
            dev = RdmaDevice(
                name=name, pci_address=pci,
                part_number=vpd.part_number if vpd else None,
                product_name=vpd.identifier if vpd else None,
                driver=PROVIDERS.get(nic.driver or "") if nic else None,
                node_type=r.read(os.path.join(d, "node_type")),
                fw_ver=r.read(os.path.join(d, "fw_ver")),
                node_guid=r.read(os.path.join(d, "node_guid")),
                sys_image_guid=r.read(os.path.join(d, "sys_image_guid")),
                hca_type=r.read(os.path.join(d, "hca_type")),
                board_id=r.read(os.path.join(d, "board_id")),
                vendor_part_id=part,
                netdevs=list(nic.netdevs) if nic else [],
            )
            ports_dir = os.path.join(d, "ports")
            for pn in sorted(r.listdir(ports_dir, required=True), key=natural_key):
                if (port := small_int(pn)) is not None:
                    dev.ports.append(self._port(port, os.path.join(ports_dir, pn), nic))
            if not dev.netdevs:
                dev.netdevs = sorted({p.netdev for p in dev.ports if p.netdev}, key=natural_key)
            out.append(dev)
        return out

    def vpd(self, fn: _PciFn | None) -> Vpd | None:
        """The function's VPD, if it has one: optional, so an unreadable one is not there."""
        if fn is None or "vpd" not in fn.entries:
            return None
        try:
            with Path(fn.path, "vpd").open("rb") as f:
                return parse_vpd(f.read(_VPD_MAX))
        except OSError:
            return None

    def _netdev_state(self, name: str) -> tuple[bool | None, str | None]:
        """Carrier and operstate of any netdev (also one without a PCI NIC, e.g. under rxe)."""
        if name in self.netdevs:
            nd = self.netdevs[name]
            return nd.carrier, nd.operstate
        d = os.path.join(self.sys, "class/net", name)
        carrier = self.r.read(os.path.join(d, "carrier"))
        return (None if carrier is None else carrier == "1",
                self.r.read(os.path.join(d, "operstate")))

    def _port(self, number: int, p: str, nic: Nic | None) -> RdmaPort:
        r = self.r
        port = RdmaPort(number=number)
        state = r.read(os.path.join(p, "state"), True)
        if state:
            word = state.split(":", 1)[-1].strip()
            port.state = PortState(word) if word in PortState.__members__ else PortState.UNKNOWN
        phys = r.read(os.path.join(p, "phys_state"), True)
        if phys:
            port.phys_state = PHYS_WORDS.get(phys.split(":", 1)[-1].strip().lower(),
                                             PhysState.UNKNOWN)
        ll = r.read(os.path.join(p, "link_layer"), True)
        if ll == "Ethernet":
            port.link_layer = LinkLayer.ETHERNET
        elif ll == "InfiniBand":
            port.link_layer = LinkLayer.INFINIBAND
        elif ll is not None:
            port.link_layer = LinkLayer.UNSPECIFIED
        port.rate = r.read(os.path.join(p, "rate"), True)
        port.rate_gbps = sysfs_rate_gbps(port.rate)
        port.lid = r.read_int(os.path.join(p, "lid"), base=16)
        port.sm_lid = r.read_int(os.path.join(p, "sm_lid"), base=16)
        port.gids = self._gids(p)
        port.roce_v2_ipv4_gid_index = roce_v2_ipv4_gid_index(port.gids)
        # Port netdev: the GID-0 netdev on RoCE (what ibdev2netdev reads), else the function's.
        nd = next((g.netdev for g in port.gids if g.index == 0 and g.netdev), None)
        if nd is None and nic is not None and nic.netdevs:
            nd = nic.netdevs[number - 1] if len(nic.netdevs) >= number else nic.netdevs[0]
        port.netdev = nd
        if nd is not None and is_ifname(nd):
            port.netdev_carrier, port.netdev_operstate = self._netdev_state(nd)
        if nic is not None and nic.driver == "mlx5_core":
            port.max_mtu = 4096
        if port.link_layer is LinkLayer.ETHERNET and nd:
            if nd in self.netdevs:
                mtu = self.netdevs[nd].mtu
            else:
                # RoCE on a netdev no PCI function lists (Soft-RoCE on a veth, macvlan or
                # vlan, as `lab --vm` runs it): its MTU is still under class/net
                mtu = r.read_int(os.path.join(self.sys, "class/net", nd, "mtu"))
                port.netdev_mtu = mtu
            if mtu is not None:
                port.active_mtu = roce_active_mtu(mtu, port.max_mtu or 4096)
        return port

    def _gids(self, p: str) -> list[Gid]:
        r = self.r
        gdir = os.path.join(p, "gids")
        try:
            names = os.listdir(gdir)
            dfd = os.open(gdir, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                r.problem(gdir, exc)
            return []
        found: list[tuple[int, str]] = []
        o_open, o_read, o_close, rdonly = os.open, os.read, os.close, os.O_RDONLY
        try:
            for name in names:
                try:
                    fd = o_open(name, rdonly, dir_fd=dfd)
                    try:
                        raw = o_read(fd, 128)
                    finally:
                        o_close(fd)
                except OSError as exc:
                    if exc.errno not in _QUIET:
                        r.problem(os.path.join(gdir, name), exc)
                    continue
                if raw[:39] == ZERO_GID or not raw.strip():
                    continue
                if small_int(name) is not None:
                    gid = raw.decode("ascii", "replace").strip()
                    if _GID_TEXT.fullmatch(gid) is None:
                        r.problem(os.path.join(gdir, name), f"not a GID: {gid[:40]!r}")
                        continue
                    found.append((int(name), gid))
        finally:
            o_close(dfd)
        found.sort()
        out = []
        tdir = os.path.join(p, "gid_attrs", "types")
        ndir = os.path.join(p, "gid_attrs", "ndevs")
        for idx, gid in found:
            out.append(Gid(index=idx, gid=gid, ipv4=gid_ipv4(gid),
                           type=r.read(os.path.join(tdir, str(idx))) or None,
                           netdev=r.read(os.path.join(ndir, str(idx))) or None))
        return out

    def char_devices(self, devs: list[RdmaDevice]) -> list[str]:
        names = sorted(self.r.listdir(os.path.join(self.root, "dev/infiniband")), key=natural_key)
        by_name = {d.name: d for d in devs}
        for n in names:
            kind = "infiniband_verbs" if n.startswith("uverbs") else (
                "infiniband_mad" if n.startswith(("umad", "issm")) else None)
            if kind is None:
                continue
            ib = self.r.read(os.path.join(self.sys, "class", kind, n, "ibdev"))
            if ib in by_name:
                by_name[ib].char_devices.append(n)
        return names

    # --- kernel, GPUs, topology ----------------------------------------------------------------
    def modules(self) -> list[KernelModule]:
        path = os.path.join(self.root, "proc/modules")
        text = self.r.read(path, True)
        loaded: dict[str, KernelModule] = {}
        for line in (text or "").splitlines():
            f = line.split()
            if len(f) < 4:
                continue
            try:
                ref = int(f[2])
            except ValueError:
                ref = None
            used = [u for u in f[3].split(",") if u and u != "-"]
            loaded[f[0]] = KernelModule(name=f[0], loaded=True, refcount=ref, used_by=used)
        out = [loaded.pop(n) if n in loaded else self._absent_module(n) for n in RELEVANT_MODULES]
        return out + sorted(loaded.values(), key=lambda m: m.name)

    def _absent_module(self, name: str) -> KernelModule:
        # Built-in drivers are absent from /proc/modules but have /sys/module/<name> (without
        # the `initstate` that loadable modules have).
        d = os.path.join(self.sys, "module", name)
        builtin = os.path.isdir(d) and not os.path.exists(os.path.join(d, "initstate"))
        return KernelModule(name=name, loaded=False, builtin=builtin)

    def netns_mode(self) -> NetnsMode | None:
        v = self.r.read(os.path.join(self.sys, "module/ib_core/parameters/netns_mode"))
        if v is None:
            return None
        return NetnsMode.SHARED if v.upper().startswith(("Y", "1")) else NetnsMode.EXCLUSIVE

    def gpus(self) -> list[Gpu]:
        out = []
        fns = [f for f in self.fns.values()
               if f.vendor == pciids.NVIDIA and f.pci_class.removeprefix("0x").startswith("03")]
        for i, fn in enumerate(sorted(fns, key=lambda f: f.address)):
            cpus = (self.r.read(os.path.join(fn.path, "local_cpulist"))
                    if "local_cpulist" in fn.entries else None)
            out.append(Gpu(index=i, pci_address=fn.address, vendor_id=fn.vendor,
                           device_id=fn.device, name=pciids.gpu_name(fn.vendor, fn.device),
                           numa_node=fn.numa, local_cpulist=cpus, pci_path=fn.pci_path))
        return out

    def relation(self, a: str, b: str) -> PciRelation:
        fa, fb = self.fns[a], self.fns[b]
        return pci_relation(fa.components, fa.numa, fb.components, fb.numa)


def pci_relation(a: list[str], a_numa: int | None, b: list[str], b_numa: int | None
                 ) -> PciRelation:
    """`nvidia-smi topo -m` relation of two PCI functions from their `sys/devices` paths
    (`["pci0000:00", "0000:00:01.0", ..., "<bdf>"]`); see the module docstring."""
    if a == b:
        return PciRelation.X
    if a[0] != b[0]:
        if a_numa is None or b_numa is None or a_numa == b_numa:
            return PciRelation.NODE
        return PciRelation.SYS
    pa, pb = a[1:-1], b[1:-1]
    common = 0
    for x, y in zip(pa, pb, strict=False):
        if x != y:
            break
        common += 1
    if common == 0:
        return PciRelation.PHB
    if len(pa) - common <= 1 and len(pb) - common <= 1:
        return PciRelation.PIX
    return PciRelation.PXB


def _parse_hex_le(h: str) -> str:
    v = int(h, 16)
    return f"{v & 255}.{v >> 8 & 255}.{v >> 16 & 255}.{v >> 24 & 255}"


def _mask_len(mask: str) -> int:
    return sum(bin(int(x)).count("1") for x in mask.split("."))


def _routes(d: _Discovery) -> tuple[list[Route], ManagementInterface | None]:
    text = d.r.read(os.path.join(d.root, "proc/net/route"), True)
    if text is None:
        return [], None
    routes: list[Route] = []
    metrics: list[int] = []
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 8:
            continue
        try:
            dest, gw, mask = _parse_hex_le(f[1]), _parse_hex_le(f[2]), _parse_hex_le(f[7])
            metric = int(f[6])
        except ValueError:
            d.r.problem(os.path.join(d.root, "proc/net/route"), f"bad line: {line[:60]!r}")
            continue
        routes.append(Route(interface=f[0], destination=dest,
                            gateway=None if gw == "0.0.0.0" else gw, mask=mask))
        metrics.append(metric)
    defaults = [(m, i) for i, (rt, m) in enumerate(zip(routes, metrics, strict=True))
                if rt.destination == "0.0.0.0" and rt.mask == "0.0.0.0"]
    if not defaults:
        return routes, None
    best = routes[min(defaults)[1]]
    locals_ = _fib_locals(d)
    addrs: list[str] = []
    for ip in locals_:
        ipv = _ip_int(ip)
        best_len = -1
        for rt in routes:
            if rt.interface != best.interface or rt.gateway or rt.mask is None:
                continue
            plen = _mask_len(rt.mask)
            if plen == 0:
                continue
            m = (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF
            if ipv & m == _ip_int(rt.destination) & m and plen > best_len:
                best_len = plen
        if best_len > 0:
            addrs.append(f"{ip}/{best_len}")
    return routes, ManagementInterface(name=best.interface, addresses=addrs, gateway=best.gateway)


def _ip_int(ip: str) -> int:
    a, b, c, e = (int(x) for x in ip.split("."))
    return a << 24 | b << 16 | c << 8 | e


def _fib_locals(d: _Discovery) -> list[str]:
    text = d.r.read(os.path.join(d.root, "proc/net/fib_trie"))
    if text is None:
        return []
    out: list[str] = []
    last = None
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("|-- "):
            last = s[4:].strip()
        elif (s.startswith("/32 host LOCAL") and last and not last.startswith("127.")
              and last not in out):
            out.append(last)
    return out


def _hugepages(d: _Discovery) -> list[Hugepages]:
    base = os.path.join(d.sys, "kernel/mm/hugepages")
    out = []
    for name in sorted(d.r.listdir(base), key=natural_key):
        m = re.fullmatch(r"hugepages-(\d+)kB", name)
        if not m:
            continue
        total = d.r.read_int(os.path.join(base, name, "nr_hugepages"), True)
        free = d.r.read_int(os.path.join(base, name, "free_hugepages"))
        out.append(Hugepages(size_kb=int(m.group(1)), total=total or 0, free=free))
    return out


def _memlock(d: _Discovery) -> int | None:
    text = d.r.read(os.path.join(d.root, "proc/self/limits"))
    for line in (text or "").splitlines():
        if line.startswith("Max locked memory"):
            soft = line[len("Max locked memory"):].split()[0]
            if soft == "unlimited":
                return -1
            return None if (b := small_int(soft, max_digits=20)) is None else b // 1024
    return None


def _cni(d: _Discovery) -> CniState:
    state = CniState()
    plugins: set[str] = set()
    for rel in CNI_BIN_DIRS:
        p = os.path.join(d.root, rel)
        if not os.path.isdir(p):
            continue
        state.bin_dirs.append("/" + rel)
        for e in d.r.listdir(p):
            fp = os.path.join(p, e)
            if os.path.isfile(fp) and os.access(fp, os.X_OK):
                plugins.add(e)
    state.plugins = sorted(plugins)
    k3s = os.path.join(d.root, K3S_CNI_CONF_DIR)
    conf = os.path.join(d.root, CNI_CONF_DIR)
    chosen = CNI_CONF_DIR if os.path.isdir(conf) else (K3S_CNI_CONF_DIR if os.path.isdir(k3s)
                                                        else None)
    if chosen is not None:
        state.conf_dir = "/" + chosen
        cdir = os.path.join(d.root, chosen)
        # libcni ConfFiles: extensions .conf/.conflist/.json, sorted lexically (the kubelet and
        # Multus take the first one).
        for name in sorted(d.r.listdir(cdir)):
            ext = name.rsplit(".", 1)[-1] if "." in name else ""
            if ext not in ("conf", "conflist", "json"):
                continue
            state.conf_files.append(_cni_file(d, os.path.join(cdir, name), name, ext))
    if os.path.isdir(k3s):
        state.k3s_flannel_builtin = any("flannel" in n for n in d.r.listdir(k3s))
    return state


def _cni_file(d: _Discovery, path: str, name: str, ext: str) -> CniConfigFile:
    kind: Literal["conf", "conflist", "json"] = (
        "conflist" if ext == "conflist" else ("json" if ext == "json" else "conf"))
    f = CniConfigFile(name=name, kind=kind)
    text = d.r.read(path, True)
    if text is None:
        f.error = "unreadable"
        return f
    try:
        data = json.loads(text)
    except ValueError as exc:
        f.error = f"invalid JSON: {exc}"
        return f
    if not isinstance(data, dict):
        f.error = "not a JSON object"
        return f
    name_v = data.get("name")
    f.network_name = name_v if isinstance(name_v, str) else None
    plugins = data.get("plugins")
    if isinstance(plugins, list):
        f.plugin_types = [str(p.get("type")) for p in plugins if isinstance(p, dict)]
    elif isinstance(data.get("type"), str):
        f.plugin_types = [data["type"]]
    return f


def discover(root: Path = Path("/")) -> HostReport:
    """Everything about the node under `root` (default `/`), read from files only."""
    root_s = os.path.abspath(str(root))
    d = _Discovery(root_s)
    r = d.r
    report = HostReport(
        root=root_s, source="sysfs",
        hostname=r.read(os.path.join(root_s, "proc/sys/kernel/hostname")),
        kernel=r.read(os.path.join(root_s, "proc/sys/kernel/osrelease")),
        arch=r.read(os.path.join(root_s, "proc/sys/kernel/arch")),
    )
    d.scan_pci()
    report.nics = d.nics()
    report.rdma_devices = d.rdma(report.nics)
    report.infiniband_char_devices = d.char_devices(report.rdma_devices)
    report.modules = d.modules()
    report.netns_mode = d.netns_mode()
    report.gpus = d.gpus()
    gpu_fn = {f"GPU{g.index}": g.pci_address for g in report.gpus if g.pci_address}
    nic_fn = {x.name: x.pci_address for x in report.rdma_devices
              if x.pci_address in d.fns}
    for g, ga in gpu_fn.items():
        for n, na in nic_fn.items():
            report.topology.append(TopoEntry(gpu=g, nic=n, relation=d.relation(ga, na or "")))
    if report.gpus:  # NIC x NIC relations only matter for the topo matrix, which needs GPUs
        for group in (list(gpu_fn.items()), list(nic_fn.items())):
            for i, (an, aa) in enumerate(group):
                for bn, ba in group[i + 1:]:
                    report.pci_pairs.append(PciPair(a=an, b=bn,
                                                    relation=d.relation(aa or "", ba or "")))
    report.routes, report.management = _routes(d)
    report.hugepages = _hugepages(d)
    report.memlock_kb = _memlock(d)
    report.cni = _cni(d)
    pf_paths = {n.pci_address: d.fns[n.pci_address].path for n in report.nics if not n.is_vf}
    report.eswitches, report.representors = read_eswitches(r, pf_paths, report.nics)
    report.scalable_functions = read_scalable_functions(r, d.sys)
    report.dra.nri_socket = _nri_socket(root_s)
    report.dra.nri_socket_present = report.dra.nri_socket is not None
    report.problems = r.problems
    return report


# containerd's and CRI-O's default NRI `socket_path`; /var/run is a link to /run on most
# distributions but not always under a copied --root tree, so both are looked at.
NRI_SOCKETS = ("var/run/nri/nri.sock", "run/nri/nri.sock")


def _nri_socket(root: str) -> str | None:
    """The runtime's NRI socket as a path on the node, when one is there (dranet needs it)."""
    for rel in NRI_SOCKETS:
        try:
            if stat.S_ISSOCK(Path(root, rel).stat().st_mode):
                return "/" + rel
        except OSError:
            continue
    return None
