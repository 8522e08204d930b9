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
from dualnet.lab.vm.realtools import (
    GID_FACTS,
    doctor_fault_check,
    doctor_healthy_check,
    ibdev2netdev_checks,
    show_gids_checks,
)
from dualnet.parse.ibv_devices import parse_ibv_devices
from dualnet.parse.ibv_devinfo import parse_ibv_devinfo
from dualnet.parse.rdma import parse_rdma_link, parse_rdma_system

ZERO_GID = "0000:0000:0000:0000:0000:0000:0000:0000"
TOOLS = {
    "rdma_link.txt": ["rdma", "link"],
    "rdma_system.txt": ["rdma", "system"],
    "ibv_devices.txt": ["ibv_devices"],
    "ibv_devinfo.txt": ["ibv_devinfo"],
    "ibv_devinfo_v.txt": ["ibv_devinfo", "-v"],
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


_SECTION = "=== dualnet section "


def _tools_script() -> str:
    """Every real tool of TOOLS (and the GID and carrier facts) in one guest command, each
    output under a `=== dualnet section NAME RC` line: one agent round trip, not eight."""
    parts = []
    for name, argv in TOOLS.items():
        parts.append(f'o=$({shlex.join(argv)} 2>&1); echo "{_SECTION}{name} $?"; '
                     'printf "%s\\n" "$o"')
    parts.append(f'echo "{_SECTION}sysfs_gids.txt 0"; sh -c {shlex.quote(GID_FACTS)} gids "$1"')
    parts.append(f'echo "{_SECTION}carrier.txt 0"; cat "/sys/class/net/$2/carrier"')
    return "\n".join(parts) + "\n"


def split_sections(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    name = None
    for line in text.splitlines(keepends=True):
        if line.startswith(_SECTION):
            name, _, rc = line[len(_SECTION):].strip().rpartition(" ")
            out[name] = "" if rc == "0" else f"(rc {rc}) "
        elif name is not None:
            out[name] += line
    return out


def capture(ibdev: str, netdev: str, dest: Path) -> RealSys:
    """Snapshot the guest's sysfs for `ibdev` on `netdev` into `dest`, and run the tools."""
    ex = where.current()
    snap = ex.run(["sh", "-c", _SNAPSHOT, "snapshot", ibdev, netdev], timeout_s=60)
    parse_snapshot(snap.out, dest)
    res = ex.run(["sh", "-c", _tools_script(), "tools", ibdev, netdev], timeout_s=90)
    return RealSys(root=dest, tools=split_sections(res.out))


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


# A healthy RoCE node: the netdev at MTU 9000 (RDMA MTU 4096), an IPv4 address, carrier up
SETUP = ("ip link add {v} mtu 9000 type veth peer name {p} mtu 9000 && ip addr add {ip} dev {v} "
         "&& ip link set {v} up && ip link set {p} up && rdma link add {ib} type rxe netdev {v}")
# Real faults, caused in the guest one after the other, each with the finding it must give.
# The GID cache follows address changes from a work queue: wait until the IPv4 GID is gone.
FAULTS = (
    ("netdev {v} down", "ip link set {v} down", "port.not-active"),
    ("no IPv4 address on {v}",
     "ip link set {v} up && ip -4 addr flush dev {v} && for i in 1 2 3 4 5 6 7 8 9 10; do "
     "grep -q -r ffff /sys/class/infiniband/{ib}/ports/1/gids/ || break; sleep 0.5; done",
     "roce.no-ipv4-v2-gid"),
)


def healthy_checks(real: RealSys, ibdev: str) -> list[Check]:
    """discover vs the real tools, show-gids and ibdev2netdev row by row, doctor quiet."""
    report = discover(real.root)
    carrier = real.tools.get("carrier.txt", "").strip() or None
    return [*compare(real, ibdev), *show_gids_checks(report, real.tools, ibdev),
            *ibdev2netdev_checks(report, real.tools, ibdev, carrier),
            doctor_healthy_check(report, ibdev)]


def real_sysfs_checks(dest: Path, run_id: str, *,
                      faults: bool = True) -> tuple[list[Check], RealSys | None]:
    """Set up an rxe device in the guest's root namespace, compare, cause each fault and see
    doctor name it, tear it down."""
    ex = where.current()
    v, p, ib = f"dnv{run_id}", f"dnp{run_id}", f"rx{run_id}r"
    names = {"v": shlex.quote(v), "p": shlex.quote(p), "ib": shlex.quote(ib)}
    setup = SETUP.format(ip="10.254.0.1/24", **names)
    try:
        res = ex.run(["sh", "-c", setup], timeout_s=60)
        if not res.ok:
            return [Check(name="discover-real-sysfs", passed=False,
                          evidence=f"setting up {ib} on {v}: {res.err.strip()[-200:]}")], None
        real = capture(ib, v, dest / "healthy")
        out = healthy_checks(real, ib)
        for i, (what, cmd, want) in enumerate(FAULTS if faults else ()):
            done = ex.run(["sh", "-c", cmd.format(**names)], timeout_s=60)
            fault = what.format(v=v)
            if not done.ok:
                out.append(Check(name=f"doctor-finds-{want}", passed=False,
                                 evidence=f"causing {fault}: {done.err.strip()[-200:]}"))
                continue
            broken = capture(ib, v, dest / f"fault{i}")
            out.append(doctor_fault_check(discover(broken.root), ib, fault, want))
        return out, real
    finally:
        ex.run(["sh", "-c", f"rdma link delete {ib}; ip link delete {v}"], timeout_s=60)
