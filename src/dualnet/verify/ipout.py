"""`ip addr` (full or `-o` one-line form) as run inside a pod: flags, state, addresses."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from dualnet.parse.errors import ParseError

SOURCE = "ip addr"

# "3: net1@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP ..."
_LINK = re.compile(
    r"^\s*(?P<idx>\d+):\s+(?P<name>[^:@\s]+)(?:@(?P<peer>[^:\s]+))?:\s+<(?P<flags>[^>]*)>"
    r"(?P<rest>.*)$"
)
# `ip -o addr`: "3: net1    inet 192.168.50.2/24 brd 192.168.50.255 scope global net1\ ..."
_OADDR = re.compile(r"^\s*\d+:\s+(?P<name>[^:@\s]+)(?:@\S+)?\s+(?P<fam>inet6?)\s+(?P<cidr>\S+)")
# full form: "    inet 192.168.50.2/24 brd ..." (indented, or not when pasted from a blog)
_ADDR = re.compile(r"^\s*(?P<fam>inet6?)\s+(?P<cidr>[0-9a-fA-F.:]+/\d+)")
_STATE = re.compile(r"\bstate\s+(\S+)")
_MTU = re.compile(r"\bmtu\s+(\d+)")


class Iface(BaseModel):
    name: str
    flags: list[str] = Field(default_factory=list)
    state: str | None = None
    mtu: int | None = None
    ipv4: list[str] = Field(default_factory=list, description="CIDRs")
    ipv6: list[str] = Field(default_factory=list)

    @property
    def up(self) -> bool:
        """Administratively up with carrier (what `ip a` shows as UP,LOWER_UP)."""
        return "UP" in self.flags and "LOWER_UP" in self.flags

    @property
    def addresses(self) -> list[str]:
        return [c.split("/", 1)[0] for c in self.ipv4 + self.ipv6]


def parse_ip_addr(text: str) -> dict[str, Iface]:
    """Interfaces by name. Lines that belong to no interface are an error naming the line."""
    out: dict[str, Iface] = {}
    current: Iface | None = None
    for no, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("# source:"):
            continue
        if (m := _OADDR.match(line)) is not None:
            iface = out.setdefault(m["name"], Iface(name=m["name"]))
            (iface.ipv4 if m["fam"] == "inet" else iface.ipv6).append(m["cidr"])
            continue
        if (m := _LINK.match(line)) is not None:
            st, mtu = _STATE.search(m["rest"]), _MTU.search(m["rest"])
            current = out.setdefault(m["name"], Iface(name=m["name"]))
            current.flags = m["flags"].split(",") if m["flags"] else []
            current.state = st.group(1) if st else None
            current.mtu = int(mtu.group(1)) if mtu else None
            continue
        if (m := _ADDR.match(line)) is not None:
            if current is None:
                raise ParseError(SOURCE, "address line before any interface line", line_no=no,
                                 line=line)
            (current.ipv4 if m["fam"] == "inet" else current.ipv6).append(m["cidr"])
            continue
        if current is None:
            raise ParseError(SOURCE, "expected 'N: name: <FLAGS> ...'", line_no=no, line=line)
        # link/ether, valid_lft, altname ...: details of the current interface
    return out
