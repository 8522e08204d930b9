"""iproute2 `ip [-d] link show`, `ip addr` and `ip route` outputs.

An interface block starts with `<ifindex>: <name>[@<link>]: <FLAGS> mtu N ... state S ...`;
continuation lines (`link/ether`, `vf N ...`, `altname`, `inet`, the `-d` detail lines carrying
`parentbus pci parentdev <bdf>`) are recognised by their first word, since indentation may be lost.
The `-o` (one-line) form folds each block onto one line with a backslash where a newline was;
`ip -o addr` lines carry no flags (`<index>: <name>    inet <cidr> ...`), one line per address,
and are merged into one interface by name. Authors abridge with `...`; a line cut inside a `vf`
entry keeps the VF with an unknown MAC.
Unrecognised continuation lines (the many `-d` kind-specific details) are skipped. Best effort,
with a warning: a first header that lost its `N:` ifindex prefix in the paste (`eth0: <...> mtu`;
ifindex unknown), a `vf` entry wrapped onto the next line (`spoof checking off, link-state auto,
trust off` is joined to its VF), and lines before the first header (prose, labels); text with
no interface header at all is a ParseError.
"""

from __future__ import annotations

import ipaddress
import re

from pydantic import BaseModel, ConfigDict, Field

from dualnet.host.models import Route
from dualnet.parse._text import (
    Line,
    Skipped,
    fail,
    full_pci,
    guarded,
    is_mac,
    prepare,
    to_int,
    warn,
)

LINK = "ip link"
ADDR = "ip addr"
ROUTE = "ip route"

_HEAD = re.compile(
    r"^(?P<idx>\d+):\s+(?P<name>[^\s:@]+)(?:@(?P<link>[^\s:]+))?:\s+<(?P<flags>[^>]*)>(?P<rest>.*)$"
)
# `ip -o addr`: "3: net1    inet 192.168.50.2/24 brd 192.168.50.255 scope global net1\ ..."
_ONELINE_ADDR = re.compile(
    r"^(?P<idx>\d+):\s+(?P<name>[^\s:@]+)(?:@(?P<link>[^\s:]+))?\s+(?P<rest>inet6?\s.*)$"
)
# The same header with its "<ifindex>: " cut off by the paste.
_HEAD_NO_INDEX = re.compile(
    r"^(?P<name>[^\s:@]+)(?:@(?P<link>[^\s:]+))?:\s+<(?P<flags>[^>]*)>(?P<rest>\s+mtu\s.*)$"
)
_VF = re.compile(r"^vf\s+(?P<idx>\d+)\b(?P<rest>.*)$")
# The tail of a vf entry that a terminal or a blog wrapped onto its own line.
_VF_TAIL = re.compile(r"^(?:spoof checking|link-state|trust|query_rss|vlan|tx rate|max_tx_rate|"
                      r"min_tx_rate|RX:|TX:)\b")
_VF_MAC = re.compile(r"(?:link/\w+|MAC)\s+(?P<mac>[0-9a-fA-F:]+)")


class IpVf(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int
    mac: str | None = None
    vlan: int | None = None
    spoof_check: bool | None = None
    trust: bool | None = None
    link_state: str | None = None


class IpInterface(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ifindex: int | None = Field(default=None, description="None when the paste cut it off")
    name: str
    link: str | None = Field(default=None, description="the @peer/parent part of the name")
    flags: list[str] = Field(default_factory=list)
    mtu: int | None = None
    state: str | None = Field(default=None, description="operstate as printed: UP, DOWN, UNKNOWN")
    master: str | None = None
    link_type: str | None = Field(default=None, description="ether, infiniband, loopback, ...")
    mac: str | None = None
    altnames: list[str] = Field(default_factory=list)
    parentbus: str | None = None
    parentdev: str | None = None
    portname: str | None = Field(default=None, description="`ip -d` phys_port_name: p0, pf0vf3")
    switchid: str | None = Field(default=None, description="`ip -d` phys_switch_id")
    vfs: list[IpVf] = Field(default_factory=list)
    addresses: list[str] = Field(default_factory=list, description="CIDRs, inet then inet6")

    @property
    def admin_up(self) -> bool:
        return "UP" in self.flags

    @property
    def operstate(self) -> str | None:
        return self.state.lower() if self.state else None

    @property
    def lower_up(self) -> bool:
        """Administratively up with carrier: `ip a` shows both UP and LOWER_UP."""
        return "UP" in self.flags and "LOWER_UP" in self.flags

    @property
    def ipv4(self) -> list[str]:
        """The inet CIDRs, in the order printed."""
        return [a for a in self.addresses if ":" not in a]

    @property
    def ipv6(self) -> list[str]:
        """The inet6 CIDRs, in the order printed."""
        return [a for a in self.addresses if ":" in a]

    @property
    def ips(self) -> list[str]:
        """The addresses without their prefix length."""
        return [a.split("/", 1)[0] for a in self.addresses]


def _words(rest: str) -> dict[str, str]:
    tokens = rest.split()
    return {tokens[i]: tokens[i + 1] for i in range(len(tokens) - 1)}


def _header(source: str, m: re.Match[str], line: Line) -> IpInterface:
    words = _words(m.group("rest"))
    idx = m.groupdict().get("idx")
    iface = IpInterface(
        ifindex=int(idx) if idx is not None else None,
        name=m.group("name"),
        link=m.group("link"),
        flags=[f for f in m.group("flags").split(",") if f],
        state=words.get("state"),
        master=words.get("master"),
    )
    if "mtu" in words:
        iface.mtu = to_int(source, words["mtu"], line, "mtu")
    return iface


def _vf(m: re.Match[str]) -> IpVf:
    vf = IpVf(index=int(m.group("idx")))
    _vf_fields(vf, m.group("rest"))
    return vf


def _vf_fields(vf: IpVf, rest: str) -> None:
    """Fill the fields `rest` names and `vf` does not know yet."""
    mac = _VF_MAC.search(rest)
    if vf.mac is None and mac and is_mac(mac.group("mac").rstrip(",")):
        vf.mac = mac.group("mac").rstrip(",").lower()
    vlan = re.search(r"\bvlan\s+(\d+)", rest)
    if vf.vlan is None and vlan:
        vf.vlan = int(vlan.group(1))
    spoof = re.search(r"spoof checking\s+(on|off)", rest)
    if vf.spoof_check is None and spoof:
        vf.spoof_check = spoof.group(1) == "on"
    trust = re.search(r"\btrust\s+(on|off)", rest)
    if vf.trust is None and trust:
        vf.trust = trust.group(1) == "on"
    state = re.search(r"link-state\s+(\w+)", rest)
    if vf.link_state is None and state:
        vf.link_state = state.group(1)


def _continuation(source: str, iface: IpInterface, line: Line, after_vf: bool) -> None:
    s = line.stripped
    first = s.split()[0]
    if after_vf and iface.vfs and _VF_TAIL.match(s):
        warn(f"joined a wrapped line to vf {iface.vfs[-1].index} of {iface.name}", line)
        _vf_fields(iface.vfs[-1], s)
        return
    if first.startswith("link/"):
        iface.link_type = first[len("link/") :]
        parts = s.split()
        if len(parts) > 1 and is_mac(parts[1]):
            iface.mac = parts[1].lower()
        # `ip -d` appends the detail fields (parentbus/parentdev) to this same line.
        _details(iface, s)
        return
    if first == "vf":
        m = _VF.match(s)
        if m is None:
            raise fail(source, "expected 'vf <N> ...'", line)
        vf = _vf(m)
        if any(v.index == vf.index for v in iface.vfs):
            raise fail(source, f"vf {vf.index} of {iface.name} listed twice", line)
        iface.vfs.append(vf)
        return
    if first == "altname":
        iface.altnames.extend(s.split()[1:])
        return
    if first in ("inet", "inet6"):
        parts = s.split()
        if len(parts) < 2:
            raise fail(source, f"'{first}' without an address", line)
        try:
            iface.addresses.append(str(ipaddress.ip_interface(parts[1])))
        except ValueError:
            raise fail(source, f"{parts[1]!r} is not an address/prefix", line) from None
        return
    _details(iface, s)


def _details(iface: IpInterface, text: str) -> None:
    words = _words(text)
    if "parentdev" in words:
        iface.parentbus = words.get("parentbus")
        iface.parentdev = full_pci(words["parentdev"]) or words["parentdev"]
    # eswitch ports (representors, uplinks): `portname pf0vf3 switchid fa67c3ffffc94094`
    if "portname" in words:
        iface.portname = words["portname"]
    if "switchid" in words:
        iface.switchid = words["switchid"]


def _segments(line: Line) -> list[Line]:
    """`ip -o` joins a block's lines with `\\`: split them back, keeping the line number."""
    if "\\" not in line.text:
        return [line]
    return [Line(line.no, p.strip()) for p in line.text.split("\\") if p.strip()]


def _parse(source: str, text: str) -> list[IpInterface]:
    lines = prepare(text)
    if not lines:
        raise fail(source, "empty input")
    interfaces: dict[str, IpInterface] = {}
    # interfaces met only through `ip -o addr` lines so far: a later header fills them in
    oneline_only: set[str] = set()
    current: IpInterface | None = None
    skipped = Skipped(source, "'<index>: <name>: <FLAGS> mtu ...'")
    after_vf = False
    for line in lines:
        first, *rest = _segments(line)
        head = _HEAD.match(first.stripped)
        if head is None and current is None:
            head = _HEAD_NO_INDEX.match(first.stripped)
            if head is not None:
                warn("interface header without its '<ifindex>: ' prefix; ifindex unknown", line)
        if head is not None:
            m = head
            current = _header(source, m, first)
            known = interfaces.get(current.name)
            if known is not None:
                if current.name not in oneline_only:
                    raise fail(source, f"interface {current.name} listed twice", line)
                oneline_only.discard(current.name)
                current.addresses = known.addresses
            interfaces[current.name] = current
        elif (o := _ONELINE_ADDR.match(first.stripped)) is not None:
            current = interfaces.get(o.group("name"))
            if current is None:
                current = IpInterface(ifindex=int(o.group("idx")), name=o.group("name"),
                                      link=o.group("link"))
                interfaces[current.name] = current
                oneline_only.add(current.name)
            rest = [Line(first.no, o.group("rest")), *rest]
        elif current is None:
            skipped.skip(line)
            continue
        else:
            rest = [first, *rest]
        for part in rest:
            _continuation(source, current, part, after_vf)
            after_vf = part.stripped.startswith("vf ") or (after_vf and bool(_VF_TAIL.match(
                part.stripped)))
    skipped.check(len(interfaces))
    return list(interfaces.values())


@guarded(LINK)
def parse_ip_link(text: str) -> list[IpInterface]:
    """`ip link show` / `ip -d link show` (VF lines included)."""
    return _parse(LINK, text)


@guarded(ADDR)
def parse_ip_addr(text: str) -> list[IpInterface]:
    """`ip addr` / `ip a`: like `ip link` plus `inet`/`inet6` addresses."""
    return _parse(ADDR, text)


_ROUTE_TYPES = {"unicast", "local", "broadcast", "multicast", "anycast", "nat"}
# Routes that drop packets: they name `dev lo` but are no way out, so they are not kept.
_DROP_TYPES = {"blackhole", "unreachable", "prohibit", "throw"}


@guarded(ROUTE)
def parse_ip_route(text: str) -> list[Route]:
    """`ip route` / `ip -6 route`: routes with a device; `default` becomes 0.0.0.0/0 (::/0).

    Drop routes (unreachable, blackhole, ...) are skipped; a multipath route takes the device and
    gateway of its first `nexthop` line.
    """
    routes: list[Route] = []
    pending: tuple[str, Line] | None = None  # destination of a route waiting for its nexthop
    for line in prepare(text):
        tokens = line.stripped.split()
        if tokens[0] == "nexthop":
            words = _words(" ".join(tokens[1:]))
            if pending is not None and "dev" in words:
                gateway = _gateway(words.get("via"), line)
                routes.append(
                    Route(interface=words["dev"], destination=pending[0], gateway=gateway)
                )
                pending = None
            continue
        if pending is not None:
            raise fail(ROUTE, "route names no 'dev' and no nexthop follows", pending[1])
        if tokens[0] in _DROP_TYPES:
            continue
        if tokens[0] in _ROUTE_TYPES:
            tokens = tokens[1:]
        if not tokens:
            raise fail(ROUTE, "route type without a destination", line)
        words = _words(" ".join(tokens[1:]))
        gateway = _gateway(words.get("via"), line)
        dest = _destination(tokens[0], gateway, line)
        if "dev" not in words:
            pending = (dest, line)
            continue
        routes.append(Route(interface=words["dev"], destination=dest, gateway=gateway))
    if pending is not None:
        raise fail(ROUTE, "route names no 'dev' and no nexthop follows", pending[1])
    return routes


def _gateway(value: str | None, line: Line) -> str | None:
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise fail(ROUTE, f"gateway {value!r} is not an address", line) from None


def _destination(value: str, gateway: str | None, line: Line) -> str:
    if value == "default":
        return "::/0" if gateway is not None and ":" in gateway else "0.0.0.0/0"
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise fail(ROUTE, f"destination {value!r} is not a network", line) from None
