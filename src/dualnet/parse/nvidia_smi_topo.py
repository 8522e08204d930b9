"""`nvidia-smi topo -m` -> GPUs (with CPU/NUMA affinity) and GPU<->NIC relations.

Handles (formats.md §6.1): any number of GPUs and NICs; `NIC<j>` columns resolved through the
`NIC Legend:`; old drivers that name NIC columns by RDMA device and print no legend; 1 to 3
affinity columns (`CPU Affinity`, `NUMA Affinity`, `GPU NUMA ID`, or an author's shortened
`NUMA`/`GPU NUMA`); empty affinity cells (placed by column position); whitespace collapsed by a
blog; a dashed rule under the header; and columns glued together by a broken re-formatter
(`NODENODE`, `PIXPIX`): a cell that is exactly two known relation tokens is split. Best effort,
each with a warning: a NUMA affinity printed as a range (`0-7`, older drivers; the node is then
unknown), a matrix cut after its GPU rows (every GPU x NIC cell is there; the missing NIC rows
are named), and a row whose label is no header column (prose). A table that is still
inconsistent (a GPU row missing, wrong cell count, diagonal not `X`) is a ParseError.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from dualnet.host.models import Gpu, PciRelation, TopoEntry
from dualnet.host.views import PCI_ONLY_MARK
from dualnet.names import small_int
from dualnet.parse._text import Line, fail, guarded, prepare, warn

SOURCE = "nvidia-smi topo -m"

# A trailing `*` is dualnet's own mark (host.views.topo_text): a GPU<->GPU cell that shows the PCI
# path only, because sysfs cannot see NVLink.
_REL = r"(?:X|NV\d+|PIX|PXB|PHB|NODE|SYS|SOC|N/A)\*?"
_REL_ONE = re.compile(rf"^(?:{_REL})$")
_REL_MANY = re.compile(rf"^(?:{_REL})+$")
_REL_TOKEN = re.compile(_REL)
_GPU = re.compile(r"^GPU(\d+)$")
_NIC_LABEL = re.compile(r"^NIC\d+$")
_DEVICE = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*$")
_LEGEND_NIC = re.compile(r"^(NIC\d+):\s*(\S+)$")
_CPULIST = re.compile(r"^\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*$")
_RULE = re.compile(r"^[-=\s]+$")
# Affinity headers, longest first so "GPU NUMA ID" is not read as "GPU NUMA".
_AFFINITY = (
    ("CPU Affinity", "cpu"),
    ("NUMA Affinity", "numa"),
    ("GPU NUMA ID", "gpu_numa"),
    ("GPU NUMA", "gpu_numa"),
    ("NUMA", "numa"),
)


class TopoResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gpus: list[Gpu] = Field(default_factory=list)
    topology: list[TopoEntry] = Field(default_factory=list)
    nics: list[str] = Field(default_factory=list, description="RDMA device names, column order")
    unresolved_nics: list[str] = Field(
        default_factory=list, description="NIC<j> labels the output named but no legend resolved"
    )


def _relation(token: str) -> PciRelation | None:
    """GPU<->NIC cell -> relation; NVLink and N/A cells are not PCI relations."""
    token = token.removesuffix(PCI_ONLY_MARK)
    if token == "SOC":  # pre-2017 drivers: socket link, today's SYS
        return PciRelation.SYS
    if token.startswith("NV") or token == "N/A":
        return None
    return PciRelation(token)


def _split_cells(tokens: list[str]) -> list[str]:
    out: list[str] = []
    for token in tokens:
        if _REL_ONE.match(token) or not _REL_MANY.match(token):
            out.append(token)
        else:
            out.extend(_REL_TOKEN.findall(token))
    return out


def _header(line: Line) -> tuple[list[str], list[tuple[str, int]]]:
    """Device labels, and affinity columns as (key, character offset)."""
    expanded = line.text.expandtabs(8)
    cut = expanded.find("CPU Affinity")
    devices_part = expanded if cut < 0 else expanded[:cut]
    devices = devices_part.split()
    columns: list[tuple[str, int]] = []
    if cut >= 0:
        pos = cut
        rest = expanded[cut:]
        while rest.strip():
            stripped = rest.lstrip()
            pos += len(rest) - len(stripped)
            rest = stripped
            for title, key in _AFFINITY:
                if rest.startswith(title):
                    columns.append((key, pos))
                    pos += len(title)
                    rest = rest[len(title) :]
                    break
            else:
                raise fail(SOURCE, f"unknown header column at {rest.split()[0]!r}", line)
    for name in devices:
        if not _DEVICE.match(name) or _REL_ONE.match(name):
            raise fail(SOURCE, f"header column {name!r} is no device name", line)
    if not devices:
        raise fail(SOURCE, "header names no GPU<i> or NIC column", line)
    if len(set(devices)) != len(devices):
        raise fail(SOURCE, "a device column appears twice in the header", line)
    return devices, columns


def _assign_affinity(
    line: Line, tokens: list[str], columns: list[tuple[str, int]]
) -> dict[str, str]:
    if len(tokens) > len(columns):
        raise fail(SOURCE, "more affinity values than affinity columns", line)
    if len(tokens) == len(columns):
        return {key: tok for (key, _), tok in zip(columns, tokens, strict=True)}
    # Empty cells: place each value under the header column nearest to where it starts.
    expanded = line.text.expandtabs(8)
    out: dict[str, str] = {}
    search_from = len(expanded)
    positions: list[int] = []
    for tok in reversed(tokens):
        search_from = expanded.rfind(tok, 0, search_from)
        positions.append(search_from)
    positions.reverse()
    next_col = 0
    for i, (tok, pos) in enumerate(zip(tokens, positions, strict=True)):
        last_allowed = len(columns) - (len(tokens) - i)
        candidates = range(next_col, last_allowed + 1)
        best = min(candidates, key=lambda j: abs(columns[j][1] - pos))
        out[columns[best][0]] = tok
        next_col = best + 1
    return out


def _gpu(index: int, affinity: dict[str, str], line: Line) -> Gpu:
    cpu = affinity.get("cpu")
    if cpu is not None and cpu != "N/A" and not _CPULIST.match(cpu):
        raise fail(SOURCE, f"CPU affinity {cpu!r} is no CPU list", line)
    numa = affinity.get("numa")
    if numa is not None and numa != "N/A" and small_int(numa) is None:
        # a digit run too long for a node number is as wrong as a word (and int() refuses it)
        if not _CPULIST.match(numa) or (numa.isascii() and numa.isdigit()):
            raise fail(SOURCE, f"NUMA affinity {numa!r} is no NUMA node number", line)
        # Older drivers print the nodes of the CPU set ("0-1"): no single node to take.
        warn(f"NUMA affinity {numa!r} names several nodes; the GPU's node is left unknown", line)
        numa = None
    return Gpu(
        index=index,
        local_cpulist=None if cpu in (None, "N/A") else cpu,
        numa_node=None if numa is None else small_int(numa),
    )


@guarded(SOURCE)
def parse_nvidia_smi_topo(text: str) -> TopoResult:
    lines = [ln for ln in prepare(text, labels=False) if not _RULE.match(ln.text)]
    if not lines:
        raise fail(SOURCE, "empty input")
    # Tools that wrap the output print a title first ("GPU Topology:"): skip such lines.
    start = 0
    while start < len(lines) and lines[start].stripped.endswith(":"):
        start += 1
    if start == len(lines):
        raise fail(SOURCE, "no header line 'GPU0 ... CPU Affinity'")
    devices, columns = _header(lines[start])
    n = len(devices)
    rows: dict[str, tuple[list[str], dict[str, str], Line]] = {}
    legend: dict[str, str] = {}
    in_legend = False
    for line in lines[start + 1 :]:
        s = line.stripped
        if s.endswith("Legend:"):
            in_legend = True
            continue
        m = _LEGEND_NIC.match(s)
        if m:
            if m.group(1) in legend:
                raise fail(SOURCE, f"{m.group(1)} appears twice in the NIC legend", line)
            legend[m.group(1)] = m.group(2)
            continue
        if in_legend:
            continue  # legend prose, in any language
        tokens = s.split()
        label = tokens[0]
        if label not in devices:
            if rows:
                warn("skipped a line that is no row of the matrix", line)
                continue
            raise fail(SOURCE, f"row label {label!r} is not a header column", line)
        if label in rows:
            raise fail(SOURCE, f"row {label} appears twice", line)
        cells = _split_cells(tokens[1:])
        relations, extra = cells[:n], cells[n:]
        if len(relations) < n or not all(_REL_ONE.match(c) for c in relations):
            raise fail(SOURCE, f"row {label} has not {n} relation cells", line)
        if relations[devices.index(label)] != "X":
            raise fail(SOURCE, f"row {label}: the cell in its own column is not X", line)
        affinity = _assign_affinity(line, extra, columns) if _GPU.match(label) else {}
        rows[label] = (relations, affinity, line)
    gpu_labels = [d for d in devices if _GPU.match(d)]
    nic_labels = [d for d in devices if not _GPU.match(d)]
    missing = [d for d in devices if d not in rows]
    if any(d in gpu_labels for d in missing) or (missing and not gpu_labels):
        raise fail(SOURCE, f"rows missing for {', '.join(missing)} (output cut?)")
    if missing:
        # Every GPU x NIC cell is in the GPU rows; NIC rows only repeat them (and NIC x NIC).
        warn(f"rows missing for {', '.join(missing)} (output cut?); GPU rows read in full")
    unresolved = [d for d in nic_labels if _NIC_LABEL.match(d) and d not in legend]
    names = {d: legend.get(d, d) for d in nic_labels}
    result = TopoResult(nics=[names[d] for d in nic_labels], unresolved_nics=unresolved)
    for label in gpu_labels:
        relations, affinity, line = rows[label]
        index = int(label[3:])
        result.gpus.append(_gpu(index, affinity, line))
        for nic in nic_labels:
            cell = relations[devices.index(nic)]
            relation = _relation(cell)
            if relation is None:
                continue
            if relation is PciRelation.X:
                raise fail(SOURCE, f"{label} and {nic} cannot be the same device (X)", line)
            result.topology.append(TopoEntry(gpu=label, nic=names[nic], relation=relation))
    return result
