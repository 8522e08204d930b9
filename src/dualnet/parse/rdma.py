"""iproute2 `rdma link`, `rdma dev` and `rdma system` outputs.

`rdma link` lines are `link <dev>/<port> <key> <value> ...` (IB ports add subnet_prefix, lid,
sm_lid, lmc; RoCE ports add netdev). Older iproute2 printed `<idx>/<port>: <dev>/<port>: ...`;
both are read. When the same port appears more than once (outputs of successive runs pasted one
after another) the LAST line wins: it is the newest state. The kernel sends `subnet_prefix` and
`lid` only for InfiniBand ports, so a port that prints them is InfiniBand and one that prints a
`netdev` without them is Ethernet (RoCE, iWARP); a printed `state UNKNOWN` is kept as read.
Lines that are not `link ...` (prose, another tool's output) are skipped with a warning.
"""

from __future__ import annotations

import re

from dualnet.host.models import (
    LinkLayer,
    NetnsMode,
    PhysState,
    PortState,
    RdmaDevice,
    RdmaPort,
)
from dualnet.parse._text import Line, Skipped, fail, guarded, prepare, to_int

LINK = "rdma link"
DEV = "rdma dev"
SYSTEM = "rdma system"

_LINK_NEW = re.compile(r"^link\s+([A-Za-z0-9_.\-]+)/(\d+)(?:\s+(.*))?$")
_LINK_OLD = re.compile(r"^\d+/\d+:\s+([A-Za-z0-9_.\-]+)/(\d+):(?:\s+(.*))?$")
_DEV = re.compile(r"^(\d+):\s+([A-Za-z0-9_.\-]+):(?:\s+(.*))?$")
_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")

_STATES = {s.value: s for s in PortState}
_PHYS = {s.value: s for s in PhysState}


def _pairs(source: str, rest: str, line: Line) -> dict[str, str]:
    """`state ACTIVE physical_state LINK_UP` -> dict; `caps: <...>` tails are dropped."""
    rest = re.sub(r"\bcaps:\s*<[^>]*>", "", rest)
    tokens = rest.split()
    if len(tokens) % 2:
        raise fail(source, f"attribute {tokens[-1]!r} has no value", line)
    return {tokens[i]: tokens[i + 1] for i in range(0, len(tokens), 2)}


def _port_from(attrs: dict[str, str], number: int, line: Line) -> RdmaPort:
    port = RdmaPort(number=number)
    if "state" in attrs:
        if attrs["state"] not in _STATES:
            raise fail(LINK, f"unknown state {attrs['state']!r}", line)
        port.state = _STATES[attrs["state"]]
        port.state_read = True
    if "physical_state" in attrs:
        if attrs["physical_state"] not in _PHYS:
            raise fail(LINK, f"unknown physical_state {attrs['physical_state']!r}", line)
        port.phys_state = _PHYS[attrs["physical_state"]]
    if "lid" in attrs:
        port.lid = to_int(LINK, attrs["lid"], line, "lid")
    if "sm_lid" in attrs:
        port.sm_lid = to_int(LINK, attrs["sm_lid"], line, "sm_lid")
    if "netdev" in attrs:
        if not _NAME.match(attrs["netdev"]):
            raise fail(LINK, f"netdev {attrs['netdev']!r} is no interface name", line)
        port.netdev = attrs["netdev"]
    if "subnet_prefix" in attrs or "lid" in attrs:
        port.link_layer = LinkLayer.INFINIBAND
    elif port.netdev is not None:
        port.link_layer = LinkLayer.ETHERNET
    return port


@guarded(LINK)
def parse_rdma_link(text: str) -> list[RdmaDevice]:
    """One RdmaDevice per device (first-seen order) with the ports seen; `netdevs` filled."""
    lines = prepare(text)
    if not lines:
        raise fail(LINK, "empty input")
    devices: dict[str, RdmaDevice] = {}
    skipped = Skipped(LINK, "'link <dev>/<port> state ... physical_state ...'")
    for line in lines:
        s = line.stripped
        m = _LINK_NEW.match(s) or _LINK_OLD.match(s)
        if m is None:
            skipped.skip(line)
            continue
        attrs = _pairs(LINK, m.group(3) or "", line)
        if "state" not in attrs:
            raise fail(LINK, "line has no 'state'", line)
        port = _port_from(attrs, to_int(LINK, m.group(2), line, "port"), line)
        dev = devices.setdefault(m.group(1), RdmaDevice(name=m.group(1)))
        dev.ports = [p for p in dev.ports if p.number != port.number] + [port]
        dev.ports.sort(key=lambda p: p.number)
        dev.netdevs = [p.netdev for p in dev.ports if p.netdev is not None]
    skipped.check(len(devices))
    return list(devices.values())


@guarded(DEV)
def parse_rdma_dev(text: str) -> list[RdmaDevice]:
    """`<idx>: <dev>: node_type ca fw X node_guid G sys_image_guid G [type smi parent D]`."""
    lines = prepare(text)
    if not lines:
        raise fail(DEV, "empty input")
    devices: list[RdmaDevice] = []
    skipped = Skipped(DEV, "'<index>: <device>: node_type ... fw ...'")
    for line in lines:
        m = _DEV.match(line.stripped)
        if m is None:
            skipped.skip(line)
            continue
        attrs = _pairs(DEV, m.group(3) or "", line)
        if "node_type" not in attrs:
            raise fail(DEV, "line has no 'node_type'", line)
        if any(d.name == m.group(2) for d in devices):
            raise fail(DEV, f"device {m.group(2)} listed twice", line)
        devices.append(
            RdmaDevice(
                name=m.group(2),
                node_type=attrs["node_type"].upper(),
                fw_ver=attrs.get("fw"),
                node_guid=attrs.get("node_guid"),
                sys_image_guid=attrs.get("sys_image_guid"),
            )
        )
    skipped.check(len(devices))
    return devices


@guarded(SYSTEM)
def parse_rdma_system(text: str) -> NetnsMode:
    """`netns shared|exclusive [copy-on-fork on|off] ...` -> NetnsMode."""
    lines = prepare(text)
    if not lines:
        raise fail(SYSTEM, "empty input")
    for line in lines:
        s = line.stripped
        if s.startswith("Unknown object") or s.startswith('Object "system" is unknown'):
            raise fail(
                SYSTEM,
                "this iproute2 'rdma' tool is too old to know 'rdma system'",
                line,
                hint="read /sys/module/ib_core/parameters/netns_mode instead (Y = shared, "
                "N = exclusive) and save it as rdma_system.txt in the form 'netns shared'",
            )
    if len(lines) != 1:
        raise fail(SYSTEM, "expected exactly one line 'netns shared|exclusive ...'", lines[1])
    line = lines[0]
    tokens = line.stripped.split()
    # The sysfs parameter /sys/module/ib_core/parameters/netns_mode reads Y (shared) / N.
    if tokens in (["Y"], ["N"]):
        return NetnsMode.SHARED if tokens == ["Y"] else NetnsMode.EXCLUSIVE
    if len(tokens) < 2 or tokens[0] != "netns":
        raise fail(SYSTEM, "expected 'netns shared|exclusive ...'", line)
    try:
        return NetnsMode(tokens[1])
    except ValueError:
        raise fail(
            SYSTEM, f"netns mode {tokens[1]!r} is neither shared nor exclusive", line
        ) from None
