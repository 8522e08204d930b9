"""dualnet's MOFED-style views and doctor on a real kernel's RDMA tree, judged by the facts the
real tools print in the same guest.

MOFED's `show_gids` and `ibdev2netdev` are not in rdma-core, so they cannot run in the guest;
what they print is made of facts that can be read there: each GID slot's `gids/N`,
`gid_attrs/types/N` and `gid_attrs/ndevs/N` (read by `cat`), `ibv_devinfo -v`'s GID lines,
`rdma link` (port state and netdev) and the netdev's `carrier`. Each of dualnet's rows is
compared with those, row by row, after reading dualnet's own text back with dualnet's
parsers of those layouts (what a user diffing the two would do).

doctor is judged twice: on a healthy rxe node (no warning or error may appear: the guest is no
Kubernetes node, so only info-level CNI notes are expected) and after a fault caused for real
in the guest (netdev down; no IPv4 address), where the one right finding must appear.
"""

from __future__ import annotations

from collections.abc import Sequence

from dualnet.doctor import Severity, diagnose
from dualnet.host.models import HostReport
from dualnet.host.roce import gid_ipv4
from dualnet.host.views import ibdev2netdev_text, show_gids_text
from dualnet.lab.models import Check
from dualnet.parse.ibdev2netdev import parse_ibdev2netdev_rows
from dualnet.parse.ibv_devinfo import parse_ibv_devinfo
from dualnet.parse.rdma import parse_rdma_link
from dualnet.parse.show_gids import parse_show_gids_rows

# show_gids skips these two, as dualnet's view does
_UNSHOWN = ("0000:0000:0000:0000:0000:0000:0000:0000", "fe80:0000:0000:0000:0000:0000:0000:0000")
# `gids/N<TAB>gid<TAB>type<TAB>ndev` per non-empty slot, each value read with its own `cat`
GID_FACTS = r"""
b=/sys/class/infiniband/$1/ports/1
for n in $(grep -l -v -x '0000:0000:0000:0000:0000:0000:0000:0000' $b/gids/* 2>/dev/null \
           | sed 's|.*/||' | sort -n); do
  printf '%s\t%s\t%s\t%s\n' "$n" "$(cat $b/gids/$n)" "$(cat $b/gid_attrs/types/$n 2>/dev/null)" \
    "$(cat $b/gid_attrs/ndevs/$n 2>/dev/null)"
done
"""

Row = tuple[int, str, str, str | None, str | None]  # index, gid, version, netdev, ipv4


def _version(kind: str) -> str:
    return "v2" if kind.endswith("v2") else "v1" if kind.endswith("v1") else ""


def sysfs_gid_rows(text: str) -> list[Row]:
    """The rows show_gids would print, from the GID_FACTS lines."""
    out: list[Row] = []
    for line in text.splitlines():
        cols = line.split("\t")
        if len(cols) < 4 or not cols[0].isdigit() or cols[1] in _UNSHOWN:
            continue
        out.append((int(cols[0]), cols[1], _version(cols[2]), cols[3] or None, gid_ipv4(cols[1])))
    return out


def _diff(ours: Sequence[tuple[object, ...]], theirs: Sequence[tuple[object, ...]]) -> str:
    only_ours = [r for r in ours if r not in theirs]
    only_theirs = [r for r in theirs if r not in ours]
    parts = []
    if only_ours:
        parts.append(f"only dualnet: {only_ours[:2]}")
    if only_theirs:
        parts.append(f"only the kernel: {only_theirs[:2]}")
    return "; ".join(parts)


def show_gids_checks(report: HostReport, tools: dict[str, str], ibdev: str) -> list[Check]:
    """`dualnet show-gids` row by row against sysfs (cat) and `ibv_devinfo -v`'s GID lines."""
    text = show_gids_text(report, ibdev)
    rows = parse_show_gids_rows(text)
    ours: list[Row] = [(r.index, r.gid, r.version, r.netdev, r.ipv4) for r in rows
                       if r.device == ibdev and r.port == 1]
    sysfs = sysfs_gid_rows(tools.get("sysfs_gids.txt", ""))
    out = [Check(name="show-gids-vs-sysfs", passed=bool(ours) and ours == sysfs,
                 evidence=f"{len(ours)} rows (index, GID, version, ndev, IPv4) "
                 + ("equal to gids/N, gid_attrs/types/N, gid_attrs/ndevs/N read by cat"
                    if ours == sysfs else f"differ: {_diff(ours, sysfs) or 'order'}"))]
    info = next((d for d in parse_ibv_devinfo(tools.get("ibv_devinfo_v.txt", ""))
                 if d.name == ibdev), None)
    port = info.ports[0] if info and info.ports else None
    theirs = [(g.index, g.gid, g.roce_version or "") for g in (port.gids if port else [])
              if g.gid not in _UNSHOWN]
    mine = [(i, g, v) for i, g, v, _, _ in ours]
    out.append(Check(name="show-gids-vs-ibv_devinfo-v", passed=bool(mine) and mine == theirs,
                     evidence=f"{len(mine)} rows (index, GID, version) "
                     + ("equal to ibv_devinfo -v's GID lines" if mine == theirs else
                        f"differ: {_diff(mine, theirs) or 'order'}")))
    return out


def ibdev2netdev_checks(report: HostReport, tools: dict[str, str], ibdev: str,
                        carrier: str | None) -> list[Check]:
    """`dualnet ibdev2netdev -v` against `rdma link` (netdev, state) and sysfs carrier."""
    rows = [r for r in parse_ibdev2netdev_rows(ibdev2netdev_text(report, verbose=True))
            if r.ibdev == ibdev]
    ours = [(r.port, r.netdev, r.carrier_up, r.port_state.value if r.port_state else None)
            for r in rows]
    link = next((d for d in parse_rdma_link(tools.get("rdma_link.txt", "")) if d.name == ibdev),
                None)
    theirs = [(p.number, p.netdev, carrier == "1", p.state.value)
              for p in (link.ports if link else [])]
    return [Check(name="ibdev2netdev-vs-rdma-link", passed=bool(ours) and ours == theirs,
                  evidence=f"(port, netdev, Up, state): dualnet {ours}, rdma link + "
                  f"class/net carrier {theirs}")]


def doctor_healthy_check(report: HostReport, ibdev: str) -> Check:
    findings = diagnose(report)
    bad = [f for f in findings if f.severity is not Severity.INFO]
    return Check(name="doctor-healthy-rxe", passed=not bad,
                 evidence=(f"no warning or error on {ibdev}'s node (info: "
                           f"{', '.join(sorted({f.id for f in findings})) or 'none'})")
                 if not bad else "false finding(s) on a healthy rxe node: "
                 + "; ".join(f"{f.id} {f.subject}: {f.title}" for f in bad[:3]))


def doctor_fault_check(report: HostReport, ibdev: str, fault: str, want: str) -> Check:
    """After `fault` was caused in the guest, doctor must report `want` on the port."""
    subject = f"{ibdev}/1"
    findings = diagnose(report)
    hit = next((f for f in findings if f.id == want and f.subject == subject), None)
    others = sorted({f.id for f in findings if f.severity is not Severity.INFO and f is not hit})
    return Check(name=f"doctor-finds-{want}", passed=hit is not None,
                 evidence=f"{fault}: " + (f"{hit.severity} {hit.id} {subject}: {hit.title}"
                                          if hit else f"no {want} on {subject}")
                 + (f" (also: {', '.join(others)})" if others else ""))
