"""Text views of a HostReport in the layouts of the tools people know, so outputs can be diffed.

* `show_gids_text`: mlnx-tools `sbin/show_gids` (Mellanox/mlnx-tools, commit 088fadb3db34):
  header and separator lines as that script echoes them, one TAB-separated row per GID, all-zero
  and bare `fe80:0000:...:0000` GIDs skipped, devices/ports/indexes in `ls` order (byte order),
  IPv4 column `<a.b.c.d>  ` (two spaces) for GIDs whose first group is `0000`, VER = the `v1`/`v2`
  tail of the type, then `n_gids_found=N`.
* `ibdev2netdev_text`: mlnx-tools `ofed_scripts/ibdev2netdev` (commit 1259c00b9291):
  `<ibdev> port <n> ==> <netdev> (Up|Down)`; `-v` prefixes the PCI address and adds
  `(MT<decimal device id> - <VPD part>) <VPD description> fw <fw> port <n> (<state padded to 6>)`.
  sysfs has no VPD text here, so part is `NA` and the description empty, as the script prints
  for functions without VPD (VFs).
* `topo_text`: `nvidia-smi topo -m` (formats.md section 6.1): TAB-separated matrix of GPUs and
  NICs, ` X ` on the diagonal, affinity columns for GPU rows, the Legend and the NIC Legend.
  GPU x GPU cells show the PCI relation (NVLink is not visible in sysfs).
"""

from __future__ import annotations

from dualnet.host.models import HostReport, PciRelation, RdmaPort

_LEGEND = [
    "  X    = Self",
    "  SYS  = Connection traversing PCIe as well as the SMP interconnect between NUMA nodes "
    "(e.g., QPI/UPI)",
    "  NODE = Connection traversing PCIe as well as the interconnect between PCIe Host Bridges "
    "within a NUMA node",
    "  PHB  = Connection traversing PCIe as well as a PCIe Host Bridge (typically the CPU)",
    "  PXB  = Connection traversing multiple PCIe bridges (without traversing the PCIe Host "
    "Bridge)",
    "  PIX  = Connection traversing at most a single PCIe bridge",
    "  NV#  = Connection traversing a bonded set of # NVLinks",
]
# GPU<->GPU cells come from the PCI tree alone: sysfs cannot see NVLink, so where nvidia-smi would
# print NV# this prints the PCI path. The mark keeps it from reading as nvidia-smi's answer.
PCI_ONLY_MARK = "*"
_PCI_ONLY_LEGEND = (f"  {PCI_ONLY_MARK}    = GPU<->GPU cell: the PCI path only (sysfs cannot see "
                    "NVLink; nvidia-smi topo -m shows NV# where GPUs share NVLinks)")


def show_gids_text(report: HostReport, dev: str | None = None) -> str:
    """MOFED `show_gids [dev]` output (see module docstring)."""
    lines = [
        "DEV\tPORT\tINDEX\tGID\t\t\t\t\tIPv4  \t\tVER\tDEV",
        "---\t----\t-----\t---\t\t\t\t\t------------  \t---\t---",
    ]
    count = 0
    devices = sorted(report.rdma_devices, key=lambda d: d.name)
    for d in devices:
        if dev is not None and d.name != dev:
            continue
        for p in sorted(d.ports, key=lambda p: str(p.number)):
            for g in sorted(p.gids, key=lambda g: str(g.index)):
                if g.gid in ("0000:0000:0000:0000:0000:0000:0000:0000",
                             "fe80:0000:0000:0000:0000:0000:0000:0000"):
                    continue
                ver = ""
                if g.type:
                    i = g.type.lower().find("v")
                    ver = g.type[i:] if i >= 0 else ""
                ndev = g.netdev or ""
                if g.gid.split(":", 1)[0] == "0000":
                    lines.append(f"{d.name}\t{p.number}\t{g.index}\t{g.gid}\t{_v4(g.gid)}  "
                                 f"\t{ver}\t{ndev}")
                else:
                    lines.append(f"{d.name}\t{p.number}\t{g.index}\t{g.gid}\t\t\t{ver}\t{ndev}")
                count += 1
    lines.append(f"n_gids_found={count}")
    return "\n".join(lines) + "\n"


def _v4(gid: str) -> str:
    # show_gids decodes characters 30..39 of the GID whatever the prefix; do the same.
    try:
        return ".".join(str(int(gid[i : i + 2], 16)) for i in (30, 32, 35, 37))
    except ValueError:
        return ""


def _link_state(report: HostReport, port: RdmaPort) -> str:
    """Up/Down of the port's netdev as mlnx-tools reads it (its carrier), for any netdev, also
    one with no PCI NIC behind it (Soft-RoCE); operstate where carrier is unknown."""
    if port.netdev_carrier is not None:
        return "Up" if port.netdev_carrier else "Down"
    state = port.netdev_operstate
    if state is None and port.netdev:
        nic = report.nic_by_netdev(port.netdev)
        state = nic.operstate if nic is not None else None
    return "Up" if state == "up" else "Down"


def ibdev2netdev_text(report: HostReport, verbose: bool = False) -> str:
    """`ibdev2netdev [-v]` output (see module docstring)."""
    lines = []
    for d in sorted(report.rdma_devices, key=lambda d: d.name):
        for p in sorted(d.ports, key=lambda p: str(p.number)):
            if not p.netdev:
                continue
            link = _link_state(report, p)
            if not verbose:
                lines.append(f"{d.name} port {p.number} ==> {p.netdev} ({link})")
                continue
            devid = f"MT{d.vendor_part_id}" if d.vendor_part_id is not None else "NA"
            fw = d.fw_ver or "NA"
            state = f"{p.state.value:<6}"
            # mlnx-tools pads the part (%-11s) and the VPD's product name (%-15s); without a VPD
            # the part is NA and the name empty, hence its double space
            part = f"{d.part_number:<11}" if d.part_number else "NA"
            name = f"{d.product_name:<15}" if d.product_name else ""
            lines.append(f"{d.pci_address or ''} {d.name} ({devid} - {part}) {name} fw {fw} "
                         f"port {p.number} ({state}) ==> {p.netdev} ({link})")
    return "".join(line + "\n" for line in lines)


def topo_text(report: HostReport) -> str:
    """`nvidia-smi topo -m` layout (see module docstring)."""
    gpus = [f"GPU{g.index}" for g in report.gpus]
    nic_devs = [d.name for d in report.rdma_devices if d.pci_address]
    nics = [f"NIC{i}" for i in range(len(nic_devs))]
    rel: dict[tuple[str, str], PciRelation] = {}
    for t in report.topology:
        rel[(t.gpu, t.nic)] = rel[(t.nic, t.gpu)] = t.relation
    for pp in report.pci_pairs:
        rel[(pp.a, pp.b)] = rel[(pp.b, pp.a)] = pp.relation
    ids = gpus + nic_devs
    labels = gpus + nics
    gpu_ids = set(gpus)

    def cell(a: str, b: str) -> str:
        if a == b:
            return " X "
        r = rel.get((a, b))
        value = r.value if r is not None else "SYS"
        return value + PCI_ONLY_MARK if a in gpu_ids and b in gpu_ids else value

    lines = ["\t" + "\t".join([*labels, "CPU Affinity", "NUMA Affinity", "GPU NUMA ID"])]
    for g, gid in zip(report.gpus, gpus, strict=True):
        cells = [cell(gid, b) for b in ids]
        numa = str(g.numa_node) if g.numa_node is not None else "N/A"
        lines.append("\t".join([gid, *cells, g.local_cpulist or "", numa, "", "N/A"]))
    for dev, label in zip(nic_devs, nics, strict=True):
        cells = [cell(dev, b) for b in ids]
        lines.append("\t".join([label, *cells]) + "\t\t\t\t")
    lines += ["", "Legend:", "", *_LEGEND]
    if len(gpus) > 1:
        lines.append(_PCI_ONLY_LEGEND)
    if nics:
        lines += ["", "NIC Legend:", ""]
        lines += [f"  {label}: {dev}" for label, dev in zip(nics, nic_devs, strict=True)]
    return "\n".join(lines) + "\n"
