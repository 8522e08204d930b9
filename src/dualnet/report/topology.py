"""The node's topology as a tree: NUMA nodes -> PCIe root complexes -> bridges (root ports,
switch ports) -> GPUs and NICs, built from the `sys/devices` paths discovery read, then drawn as a
left-to-right dendrogram with the GPU<->NIC relations as coloured arcs and as a matrix.

A report read from tool outputs (`--from`) knows no PCI paths: its devices hang under their NUMA
node (or "NUMA unknown") in a group that says so, and the relations come from `nvidia-smi topo`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Literal

from dualnet.host.models import Gpu, HostReport, Nic, PciRelation, PortState, RdmaDevice
from dualnet.report.svg import LINE_H, el, svg, text_width, tooltip

Kind = Literal["node", "numa", "rc", "bridge", "unknown", "gpu", "nic"]

# Nearest first, as nvidia-smi's legend orders them; one colour class each (the page's CSS).
RELATIONS = [PciRelation.PIX, PciRelation.PXB, PciRelation.PHB, PciRelation.NODE,
             PciRelation.SYS]
RELATION_MEANING = {
    PciRelation.PIX: "at most one PCIe bridge between them",
    PciRelation.PXB: "several PCIe bridges, no host bridge",
    PciRelation.PHB: "through a PCIe host bridge (the CPU)",
    PciRelation.NODE: "between host bridges of one NUMA node",
    PciRelation.SYS: "across NUMA nodes (the SMP interconnect)",
}


@dataclass
class Line:
    text: str
    cls: str = ""


@dataclass
class TreeNode:
    key: str
    kind: Kind
    label: str
    sub: str = ""
    lines: list[Line] = field(default_factory=list)
    children: list[TreeNode] = field(default_factory=list)
    data: dict[str, str] = field(default_factory=dict)

    @property
    def is_device(self) -> bool:
        return self.kind in ("gpu", "nic")

    def walk(self) -> list[TreeNode]:
        out = [self]
        for c in self.children:
            out += c.walk()
        return out


# --- the tree ---------------------------------------------------------------------------------


def leaf_devices(report: HostReport) -> list[Gpu | Nic]:
    """What the tree shows as leaves: every GPU and every NIC function except VFs whose PF is on
    this node (those are summarised on their PF)."""
    pfs = {n.pci_address for n in report.nics}
    nics = [n for n in report.nics if not (n.is_vf and n.pf_pci_address in pfs)]
    return [*report.gpus, *nics]


def topology_tree(report: HostReport) -> TreeNode:
    root = TreeNode("node", "node", report.hostname or "node")
    by_rc: dict[str, list[tuple[list[str], TreeNode]]] = {}
    pathless: dict[int | None, list[TreeNode]] = {}
    for dev in leaf_devices(report):
        leaf = _gpu_leaf(dev) if isinstance(dev, Gpu) else _nic_leaf(report, dev)
        if dev.pci_path is not None and dev.pci_address:
            path = [root_complex(dev.pci_path[0] if dev.pci_path else dev.pci_address),
                    *dev.pci_path, dev.pci_address]
            by_rc.setdefault(path[0], []).append((path, leaf))
        else:
            pathless.setdefault(dev.numa_node, []).append(leaf)
    numa_nodes: dict[int | None, TreeNode] = {}

    def numa(n: int | None) -> TreeNode:
        if n not in numa_nodes:
            label = f"NUMA {n}" if n is not None else "NUMA unknown"
            numa_nodes[n] = TreeNode(f"numa:{n}", "numa", label, _cpus(report, n))
        return numa_nodes[n]

    for rc, members in sorted(by_rc.items()):
        rc_numa = next((_numa_of(report, leaf) for _, leaf in members
                        if _numa_of(report, leaf) is not None), None)
        rc_node = TreeNode(rc, "rc", rc, "root complex")
        for path, leaf in members:
            _insert(rc_node, path[1:-1], leaf)
        numa(rc_numa).children.append(rc_node)
    for n, leaves in pathless.items():
        group = TreeNode(f"unknown:{n}", "unknown", "PCI path ?", "tool outputs")
        group.children = leaves
        numa(n).children.append(group)
    root.children = [numa_nodes[k] for k in sorted(numa_nodes, key=lambda k: (k is None, k or 0))]
    return root


def root_complex(address: str) -> str:
    """The root complex a function on the root bus hangs from, as sysfs names it: the root
    port 0000:40:01.0 sits on bus 40 of domain 0000, under pci0000:40."""
    domain, bus = address.split(":")[:2]
    return f"pci{domain}:{bus}"


def _insert(parent: TreeNode, bridges: list[str], leaf: TreeNode) -> None:
    node = parent
    for depth, bdf in enumerate(bridges):
        child = next((c for c in node.children if c.key == bdf and c.kind == "bridge"), None)
        if child is None:
            # the first bridge below a root complex is its root port; deeper ones are the up-
            # and downstream ports of PCIe switches
            child = TreeNode(bdf, "bridge", bdf, "root port" if depth == 0 else "switch port")
            node.children.append(child)
        node = child
    node.children.append(leaf)


def _numa_of(report: HostReport, leaf: TreeNode) -> int | None:
    pci = leaf.data.get("pci")
    for dev in leaf_devices(report):
        if dev.pci_address == pci:
            return dev.numa_node
    return None


def _cpus(report: HostReport, numa: int | None) -> str:
    for g in report.gpus:
        if g.numa_node == numa and g.local_cpulist:
            return f"CPUs {g.local_cpulist}"
    return ""


def _gpu_leaf(g: Gpu) -> TreeNode:
    where = [x for x in (g.pci_address, f"NUMA {g.numa_node}" if g.numa_node is not None
                         else None, f"CPUs {g.local_cpulist}" if g.local_cpulist else None) if x]
    return TreeNode(g.pci_address or f"GPU{g.index}", "gpu", f"GPU{g.index}",
                    g.name or f"NVIDIA {g.device_id or 'GPU'}",
                    [Line(" · ".join(where), "meta")],
                    data={"device": f"GPU{g.index}", "pci": g.pci_address or ""})


def _port_state_cls(state: PortState) -> str:
    return "ok" if state is PortState.ACTIVE else "bad"


def _nic_leaf(report: HostReport, n: Nic) -> TreeNode:
    names = n.netdevs or ([n.netdev] if n.netdev else [])
    mgmt = report.management is not None and report.management.name in names
    # None is "not known" (tool outputs often lack it), never "absent"
    link = f"{n.operstate or 'state unknown'}" + (
        f" {n.speed_mbps // 1000} Gb/s" if n.speed_mbps else "")
    meta = [n.pci_address, n.driver or "driver ?", f"{n.vendor_id}:{n.device_id}"]
    if n.mtu is not None:
        meta.append(f"MTU {n.mtu}")
    lines = [Line(" · ".join(meta), "meta"),
             Line(f"link {link}", {"up": "ok", None: "meta"}.get(n.operstate, "bad"))]
    rdma_names: list[str] = []
    for name in n.rdma_devices:
        dev = report.rdma_device(name)
        if dev is None:
            continue
        rdma_names.append(dev.name)
        lines += _rdma_lines(dev)
    if not n.rdma_devices and n.vendor_id == "15b3":
        lines.append(Line("no RDMA device (is mlx5_ib loaded?)", "bad"))
    if n.sriov_totalvfs:
        vf_rdma = [d for v in n.vfs if (vf := report.nic_by_pci(v)) is not None
                   for d in vf.rdma_devices]
        tail = f" ({vf_rdma[0]}..{vf_rdma[-1]})" if len(vf_rdma) > 1 else (
            f" ({vf_rdma[0]})" if vf_rdma else "")
        lines.append(Line(f"SR-IOV {n.sriov_numvfs or 0}/{n.sriov_totalvfs} VFs{tail}", "meta"))
    if mgmt and report.management is not None:
        addr = ", ".join(report.management.addresses)
        lines.append(Line(f"★ management: default route{' ' + addr if addr else ''}", "mgmt"))
    name = n.netdev or n.pci_address
    return TreeNode(n.pci_address, "nic", name, n.model or "NIC", lines,
                    data={"netdev": n.netdev or "", "pci": n.pci_address,
                          "rdma": " ".join(rdma_names), "mgmt": "true" if mgmt else "false"})


def _rdma_lines(dev: RdmaDevice) -> list[Line]:
    if not dev.ports:
        return [Line(f"{dev.name}: no ports read", "bad")]
    out = []
    for p in dev.ports:
        layer = p.link_layer.value if p.link_layer is not None else "link layer ?"
        rate = f" · {p.rate}" if p.rate else ""
        out.append(Line(f"{dev.name}/{p.number} {p.state.value} · {layer}{rate}",
                        _port_state_cls(p.state)))
    return out


# --- drawing ----------------------------------------------------------------------------------

_COL = 118.0   # width of one column of the tree (NUMA, root complex, each bridge level)
_PAD = 14.0
_HEAD = 2 * LINE_H + 6  # a device box's two title lines
_GAP = 10.0


def _depth(node: TreeNode) -> int:
    return 0 if not node.children else 1 + max(_depth(c) for c in node.children)


def _box_h(node: TreeNode) -> float:
    return _HEAD + LINE_H * len(node.lines) + 6


def topology_svg(report: HostReport) -> ET.Element:
    tree = topology_tree(report)
    leaves = [n for n in tree.walk() if n.is_device]
    levels = max(1, _depth(tree))  # internal columns: the root, NUMA, root complex, bridges
    leaf_x = _PAD + levels * _COL + 10
    box_w = max([260.0] + [text_width(line.text) + 24 for n in leaves for line in n.lines]
                + [text_width(f"{n.label}  {n.sub}") + 24 for n in leaves])
    pos: dict[int, tuple[float, float]] = {}
    cursor = _PAD + 20

    def place(node: TreeNode, depth: int) -> float:
        nonlocal cursor
        if node.is_device:
            h = _box_h(node)
            pos[id(node)] = (leaf_x, cursor)
            cursor += h + _GAP
            return pos[id(node)][1] + _HEAD / 2
        if not node.children:  # a NUMA node or host with nothing below it
            y = cursor + 10
            pos[id(node)] = (_PAD + depth * _COL, y)
            cursor += 40
            return y
        ys = [place(c, depth + 1) for c in node.children]
        y = (ys[0] + ys[-1]) / 2
        pos[id(node)] = (_PAD + depth * _COL, y)
        return y

    place(tree, 0)
    arcs = _nearest_pairs(report, leaves)
    lanes = _lanes(arcs, pos, {id(n): n for n in leaves})
    arc_room = 40 + 26 * (max(lanes.values()) + 1) if lanes else 20
    width = leaf_x + box_w + arc_room + _PAD
    height = max(cursor + _PAD, 120)
    root = svg(width, height, cls="topology", label=f"PCIe topology of {tree.label}",
               data_host=tree.label)
    edges = el(root, "g", cls="edges")
    nodes = el(root, "g", cls="nodes")
    for node in tree.walk():
        x, y = pos[id(node)]
        for c in node.children:
            cx, cy = pos[id(c)]
            cy = cy + _HEAD / 2 if c.is_device else cy
            mid = x + 16
            el(edges, "path", cls="edge", d=f"M{x:.1f},{y:.1f} H{mid:.1f} V{cy:.1f} H{cx:.1f}")
        if node.is_device:
            _device_box(nodes, node, x, y, box_w)
        else:
            _inner_node(nodes, node, x, y)
    _draw_arcs(root, arcs, lanes, pos, leaves, leaf_x + box_w)
    return root


def _inner_node(parent: ET.Element, node: TreeNode, x: float, y: float) -> None:
    g = el(parent, "g", cls=f"inner {node.kind}", data_key=node.key)
    el(g, "circle", cls="dot", cx=x, cy=y, r=4.5)
    el(g, "text", node.label, cls="label", x=x + 7, y=y - 6)
    if node.sub:
        el(g, "text", node.sub, cls="sub", x=x + 7, y=y + 14)


def _device_box(parent: ET.Element, node: TreeNode, x: float, y: float, w: float) -> None:
    cls = f"device {node.kind}" + (" mgmt" if node.data.get("mgmt") == "true" else "")
    g = el(parent, "g", cls=cls, **{f"data_{k}": v for k, v in node.data.items()})
    el(g, "rect", cls="box", x=x, y=y, width=w, height=_box_h(node), rx=6)
    el(g, "text", node.label, cls="name", x=x + 10, y=y + LINE_H + 2)
    el(g, "text", node.sub, cls="model", x=x + 18 + text_width(node.label) * 1.1,
       y=y + LINE_H + 2)
    for i, line in enumerate(node.lines):
        el(g, "text", line.text, cls=f"line {line.cls}".strip(), x=x + 10,
           y=y + _HEAD + LINE_H * (i + 0.7))


@dataclass(frozen=True)
class Arc:
    gpu: str
    nic: str  # RDMA device
    relation: PciRelation


def _nearest_pairs(report: HostReport, leaves: list[TreeNode]) -> list[Arc]:
    """Each GPU's nearest RDMA devices among the tree's NICs (ties all drawn)."""
    shown = {r for n in leaves if n.kind == "nic" for r in n.data["rdma"].split()}
    out: list[Arc] = []
    for g in report.gpus:
        gid = f"GPU{g.index}"
        cand = [t for t in report.topology if t.gpu == gid and t.nic in shown]
        if not cand:
            continue
        best = min(t.relation.rank for t in cand)
        out += [Arc(gid, t.nic, t.relation) for t in cand if t.relation.rank == best]
    return out


def _arc_ends(arc: Arc, pos: dict[int, tuple[float, float]], leaves: list[TreeNode]
              ) -> tuple[float, float] | None:
    g = next((n for n in leaves if n.data.get("device") == arc.gpu), None)
    nic = next((n for n in leaves if arc.nic in n.data.get("rdma", "").split()), None)
    if g is None or nic is None:
        return None
    return pos[id(g)][1] + _HEAD / 2, pos[id(nic)][1] + _HEAD / 2


def _lanes(arcs: list[Arc], pos: dict[int, tuple[float, float]], by_id: dict[int, TreeNode]
           ) -> dict[Arc, int]:
    """Greedy interval packing: arcs whose spans overlap get different lanes."""
    leaves = list(by_id.values())
    spans = []
    for a in arcs:
        ends = _arc_ends(a, pos, leaves)
        if ends is not None:
            spans.append((min(ends), max(ends), a))
    spans.sort(key=lambda s: (s[1] - s[0], s[0]))
    taken: list[list[tuple[float, float]]] = []
    out: dict[Arc, int] = {}
    for lo, hi, a in spans:
        for i, lane in enumerate(taken):
            if all(hi < x0 - 4 or lo > x1 + 4 for x0, x1 in lane):
                lane.append((lo, hi))
                out[a] = i
                break
        else:
            taken.append([(lo, hi)])
            out[a] = len(taken) - 1
    return out


def _draw_arcs(root: ET.Element, arcs: list[Arc], lanes: dict[Arc, int],
               pos: dict[int, tuple[float, float]], leaves: list[TreeNode], right: float) -> None:
    g = el(root, "g", cls="arcs")
    for a in arcs:
        ends = _arc_ends(a, pos, leaves)
        if ends is None or a not in lanes:
            continue
        y1, y2 = ends
        bulge = right + 30 + 26 * lanes[a]
        rel = a.relation.value
        path = el(g, "path", cls=f"arc rel-{rel}", data_gpu=a.gpu, data_nic=a.nic,
                  data_relation=rel,
                  d=f"M{right:.1f},{y1:.1f} C{bulge:.1f},{y1:.1f} {bulge:.1f},{y2:.1f} "
                    f"{right:.1f},{y2:.1f}")
        tooltip(path, f"{a.gpu} ↔ {a.nic}: {rel} ({RELATION_MEANING[a.relation]})")
        el(g, "text", rel, cls=f"arc-label rel-{rel}", x=bulge - 4, y=(y1 + y2) / 2 + 4)


# --- the matrix -------------------------------------------------------------------------------


def relation_matrix_svg(report: HostReport) -> ET.Element | None:
    """`nvidia-smi topo -m`'s GPU x NIC block, coloured; None when there is no pair to show."""
    gpus = [f"GPU{g.index}" for g in report.gpus]
    nics = list(dict.fromkeys(t.nic for t in report.topology))
    if not gpus or not nics:
        return None
    rel = {(t.gpu, t.nic): t.relation for t in report.topology}
    cell, left, top = 52.0, 64.0, 70.0
    width = left + cell * len(nics) + _PAD
    height = top + cell * 0.7 * len(gpus) + _PAD
    root = svg(width, height, cls="matrix", label="GPU to NIC PCI relations")
    for j, nic in enumerate(nics):
        x = left + j * cell + cell / 2
        el(root, "text", nic, cls="col", x=x, y=top - 10,
           transform=f"rotate(-40 {x:.1f} {top - 10:.1f})")
    for i, gpu in enumerate(gpus):
        y = top + i * cell * 0.7
        el(root, "text", gpu, cls="row", x=left - 8, y=y + cell * 0.45)
        for j, nic in enumerate(nics):
            r = rel.get((gpu, nic))
            x = left + j * cell
            name = r.value if r is not None else "?"
            g = el(root, "g", cls="cell")
            rect = el(g, "rect", cls=f"rel rel-{name}", x=x + 1, y=y + 1, width=cell - 2,
                      height=cell * 0.7 - 2, rx=3, data_gpu=gpu, data_nic=nic,
                      data_relation=name)
            tooltip(rect, f"{gpu} ↔ {nic}: {name}"
                    + (f" ({RELATION_MEANING[r]})" if r in RELATION_MEANING else ""))
            el(g, "text", name, cls="cell-text", x=x + cell / 2, y=y + cell * 0.45)
    return root
