"""dualnet's discovery on a real kernel's RDMA sysfs, compared with the real tools.

In the guest: an rxe device on a veth in the guest's own root namespace (the guest is thrown
away), then a copy of what `discover` reads (the /sys/class/infiniband links, the device
directory, the netdev's attributes, /dev/infiniband, ib_core's netns_mode) is taken, each
attribute read by the guest's kernel (one `grep -r -H .` per tree: attributes that fail to
read, EINVAL for empty GID slots' gid_attrs, are left out as the kernel leaves them
unreadable; empty GID slots are left out, as discover skips them). On the host: `discover()`
on that copy, compared field by field with `rdma link`, `rdma system`, `ibv_devices` and
`ibv_devinfo` run in the guest and read by dualnet's own parsers.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from dualnet.host.discover import discover
from dualnet.host.models import HostReport, RdmaDevice
from dualnet.lab import where
from dualnet.lab.models import Check
from dualnet.parse.ibv_devices import parse_ibv_devices
from dualnet.parse.ibv_devinfo import parse_ibv_devinfo
from dualnet.parse.rdma import parse_rdma_link, parse_rdma_system

ZERO_GID = "0000:0000:0000:0000:0000:0000:0000:0000"
TOOLS = {
    "rdma_link.txt": ["rdma", "link"],
    "rdma_system.txt": ["rdma", "system"],
    "ibv_devices.txt": ["ibv_devices"],
    "ibv_devinfo.txt": ["ibv_devinfo"],
}
# the sysfs trees discover reads for an rxe device on `netdev`
_SNAPSHOT = r"""
ib=/sys/class/infiniband
echo "L $ib/$1 $(readlink "$ib/$1")"
dev=$(cd "$ib/$1" && pwd -P)
for l in "$dev"/* ; do [ -L "$l" ] && echo "L $l $(readlink "$l")"; done
grep -r -H . "$dev/ports" "$dev/node_type" "$dev/node_guid" "$dev/sys_image_guid" \
  "$dev/fw_ver" "$dev/hca_type" "$dev/board_id" 2>/dev/null | sed 's/^/F /' || true
echo "L /sys/class/net/$2 $(readlink /sys/class/net/$2)"
nd=$(cd /sys/class/net/$2 && pwd -P)
for f in mtu address operstate type carrier ifindex; do
  echo "F $nd/$f:$(cat $nd/$f 2>/dev/null)"
done
for c in /dev/infiniband/*; do echo "C $c"; done
for u in /sys/class/infiniband_verbs/uverbs*; do echo "F $u/ibdev:$(cat $u/ibdev)"; done
grep -E '^(ib_core|ib_uverbs|rdma_ucm|rdma_cm|rdma_rxe) ' /proc/modules \
  | sed 's|^|F /proc/modules:|'
echo "D /sys/bus/pci/devices"
for f in /proc/net/route /proc/net/fib_trie; do sed "s|^|F $f:|" $f; done
echo "F /sys/module/ib_core/parameters/netns_mode:$(cat /sys/module/ib_core/parameters/netns_mode)"
"""


_SKIP_LINKS = {"subsystem", "power"}
# port attributes discover does not read (statistics), left out of the copy
_SKIP_DIRS = ("counters/", "hw_counters/", "power/", "cm_rx_duplicates/", "cm_rx_msgs/",
              "cm_tx_msgs/", "cm_tx_retries/")


@dataclass(frozen=True)
class RealSys:
    root: Path  # a tree discover() reads
    tools: dict[str, str]  # file name -> output of the real tool in the guest


def parse_snapshot(text: str, dest: Path) -> None:
    """Write the guest's `_SNAPSHOT` lines as a tree under `dest` (files, symlinks, /dev
    entries as empty files, and an empty /sys/bus/pci/devices: rxe has no PCI function, and
    the guest's virtio functions are not what the comparison is about)."""
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "F":
            path, _, value = rest.partition(":")
            if "/gids/" in path and value.strip() == ZERO_GID:
                continue
            if any(f"/{d}" in path for d in _SKIP_DIRS):
                continue  # not read by discover
            target = dest / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("a") as fh:
                fh.write(value + "\n")
        elif kind == "L":
            path, _, link = rest.partition(" ")
            if not link or path.rsplit("/", 1)[-1] in _SKIP_LINKS:
                continue
            target = dest / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            # the link's target exists in the copy too (a directory), so paths through it work
            (target.parent / link).resolve().mkdir(parents=True, exist_ok=True)
            if not target.is_symlink():
                target.symlink_to(link)
        elif kind == "D":
            (dest / rest.lstrip("/")).mkdir(parents=True, exist_ok=True)
        elif kind == "C":
            target = dest / rest.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch()


def capture(ibdev: str, netdev: str, dest: Path) -> RealSys:
    """Snapshot the guest's sysfs for `ibdev` on `netdev` into `dest`, and run the tools."""
    ex = where.current()
    snap = ex.run(["sh", "-c", _SNAPSHOT, "snapshot", ibdev, netdev], timeout_s=60)
    parse_snapshot(snap.out, dest)
    tools = {}
    for name, argv in TOOLS.items():
        res = ex.run(argv, timeout_s=60)
        tools[name] = res.out if res.ok else f"(rc {res.returncode}) {res.err}"
    return RealSys(root=dest, tools=tools)


def _dev(devs: list[RdmaDevice], name: str) -> RdmaDevice | None:
    return next((d for d in devs if d.name == name), None)


def compare(real: RealSys, ibdev: str) -> list[Check]:
    """discover() on the copy against each real tool; one check per tool."""
    report: HostReport = discover(real.root)
    mine = _dev(report.rdma_devices, ibdev)
    out: list[Check] = []
    if mine is None or not mine.ports:
        probs = "; ".join(f"{p.path}: {p.error}" for p in report.problems[:3])
        return [Check(name="discover-real-sysfs", passed=False,
                      evidence=f"discover found no {ibdev} with ports ({probs or 'no problems'})")]
    port = mine.ports[0]
    out.append(Check(name="discover-real-sysfs", passed=not report.problems,
                     evidence=f"{ibdev}: {len(port.gids)} GIDs, RoCE v2 IPv4 index "
                     f"{port.roce_v2_ipv4_gid_index}, netdev {port.netdev}, state "
                     f"{port.state.value}, active_mtu {port.active_mtu}"
                     + (f"; problems: {report.problems[:2]}" if report.problems else "")))

    def pair(name: str, ours: object, theirs: object, tool: str) -> None:
        out.append(Check(name=f"discover-vs-{tool.replace(' ', '-')}", passed=ours == theirs,
                         evidence=f"{name}: discover {ours!r}, {tool} {theirs!r}"))

    link = _dev(parse_rdma_link(real.tools["rdma_link.txt"]), ibdev)
    lport = link.ports[0] if link and link.ports else None
    pair("state/netdev", (port.state.value, port.netdev),
         (lport.state.value, lport.netdev) if lport else None, "rdma link")
    pair("netns mode", report.netns_mode.value if report.netns_mode else None,
         parse_rdma_system(real.tools["rdma_system.txt"]).value, "rdma system")
    dv = _dev(parse_ibv_devices(real.tools["ibv_devices.txt"]), ibdev)
    pair("node GUID", (mine.node_guid or "").replace(":", ""),
         (dv.node_guid or "").replace(":", "") if dv else None, "ibv_devices")
    info = _dev(parse_ibv_devinfo(real.tools["ibv_devinfo.txt"]), ibdev)
    iport = info.ports[0] if info and info.ports else None
    pair("state/link_layer/active_mtu",
         (port.state.value, port.link_layer.value if port.link_layer else None,
          port.active_mtu),
         (iport.state.value, iport.link_layer.value if iport.link_layer else None,
          iport.active_mtu) if iport else None, "ibv_devinfo")
    return out


SETUP = ("ip link add {v} type veth peer name {p} && ip addr add {ip} dev {v} && "
         "ip link set {v} up && ip link set {p} up && rdma link add {ib} type rxe netdev {v}")


def real_sysfs_checks(dest: Path, run_id: str) -> tuple[list[Check], RealSys | None]:
    """Set up an rxe device in the guest's root namespace, compare, tear it down."""
    ex = where.current()
    v, p, ib = f"dnv{run_id}", f"dnp{run_id}", f"rx{run_id}r"
    setup = SETUP.format(v=shlex.quote(v), p=shlex.quote(p), ip="10.254.0.1/24",
                         ib=shlex.quote(ib))
    try:
        res = ex.run(["sh", "-c", setup], timeout_s=60)
        if not res.ok:
            return [Check(name="discover-real-sysfs", passed=False,
                          evidence=f"setting up {ib} on {v}: {res.err.strip()[-200:]}")], None
        real = capture(ib, v, dest)
        return compare(real, ib), real
    finally:
        ex.run(["sh", "-c", f"rdma link delete {ib}; ip link delete {v}"], timeout_s=60)
