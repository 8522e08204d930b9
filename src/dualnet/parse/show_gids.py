"""mlnx-tools `show_gids` -> rows, and -> RdmaDevice list with per-port GID tables.

Columns (formats.md §5.7): `DEV PORT INDEX GID IPv4 VER DEV`, tab separated, IPv4 and the netdev
may be empty, then `n_gids_found=<N>`. When that footer is present the row count must match it:
a mismatch means rows were lost or duplicated in the paste, which is reported, not guessed at.
Rows whose GID an author redacted (`fe80:0000:0000:0000:xxxx:xxxx:xxxx:xxxx`) are dropped with a
warning unless the GID is IPv4-mapped and the IPv4 column is intact: the GID is then rebuilt from
it, the way the kernel builds it. Other lines that are no row (prose) are skipped with a warning.
"""

from __future__ import annotations

import ipaddress
import re

from pydantic import BaseModel, ConfigDict

from dualnet.host.models import Gid, RdmaDevice, RdmaPort
from dualnet.host.roce import roce_v2_ipv4_gid_index
from dualnet.parse._text import Line, Skipped, fail, guarded, prepare, to_int, warn

SOURCE = "show_gids"

_HEADER = re.compile(r"^DEV\s+PORT\s+INDEX\s+GID\s+IPv4\s+VER\s+DEV$")
_RULE = re.compile(r"^-+(?:\s+-+){6}$")
_FOOTER = re.compile(r"^n_gids_found=(\d+)$")
_GID = re.compile(r"^[0-9a-fA-F]{4}(?::[0-9a-fA-F]{4}){7}$")
_NAME = re.compile(r"^[A-Za-z0-9_.\-@]+$")
_REDACTED = re.compile(r"^[0-9a-fA-FxX*]{4}(?::[0-9a-fA-FxX*]{4}){7}$")
_ROW_START = re.compile(r"^\S+\s+\d+\s+\d+\s+\S+")


class _RedactedError(Exception):
    """A row whose GID was partly masked and cannot be rebuilt."""


class GidRow(BaseModel):
    """One row of `show_gids` as printed."""

    model_config = ConfigDict(extra="forbid")

    device: str
    port: int
    index: int
    gid: str
    ipv4: str | None = None
    version: str  # "v1" | "v2"
    netdev: str | None = None


def _row(line: Line) -> GidRow:
    tokens = line.stripped.split()
    if len(tokens) < 5:
        raise fail(SOURCE, "expected 'DEV PORT INDEX GID [IPv4] VER [DEV]'", line)
    device, port, index, gid = tokens[:4]
    rest = tokens[4:]
    if not _NAME.match(device):
        raise fail(SOURCE, f"device name {device!r} is not valid", line)
    redacted = not _GID.match(gid)
    if redacted and not (_REDACTED.match(gid) or "..." in gid or "…" in gid):
        raise fail(SOURCE, f"GID {gid!r} is not 8 groups of 4 hex digits", line)
    ipv4: str | None = None
    if rest and rest[0] not in ("v1", "v2"):
        try:
            ipv4 = str(ipaddress.IPv4Address(rest[0]))
        except ValueError:
            raise fail(SOURCE, f"{rest[0]!r} is neither an IPv4 address nor v1/v2", line) from None
        rest = rest[1:]
    if not rest or rest[0] not in ("v1", "v2"):
        raise fail(SOURCE, "the VER column must be v1 or v2", line)
    version, rest = rest[0], rest[1:]
    if len(rest) > 1 or (rest and not _NAME.match(rest[0])):
        raise fail(SOURCE, "unexpected text after the netdev column", line)
    if redacted:
        if ipv4 is None:
            raise _RedactedError
        # An IPv4-mapped GID is ::ffff:<IPv4>: the intact IPv4 column gives it back exactly.
        mapped = ipaddress.IPv6Address(f"::ffff:{ipv4}").exploded
        if len(gid) == len(mapped) and not all(
            a == b or a in "xX*" for a, b in zip(gid.lower(), mapped, strict=True)
        ):
            raise fail(SOURCE, f"GID {gid!r} does not match the IPv4 column {ipv4}", line)
        gid = mapped
    return GidRow(
        device=device,
        port=to_int(SOURCE, port, line, "PORT"),
        index=to_int(SOURCE, index, line, "INDEX"),
        gid=gid.lower(),
        ipv4=ipv4,
        version=version,
        netdev=rest[0] if rest else None,
    )


@guarded(SOURCE)
def parse_show_gids_rows(text: str) -> list[GidRow]:
    lines = prepare(text)
    if not lines:
        raise fail(SOURCE, "empty input")
    rows: list[GidRow] = []
    dropped = 0
    footer: tuple[int, Line] | None = None
    skipped = Skipped(SOURCE, "a row 'DEV PORT INDEX GID [IPv4] VER [DEV]'")
    for line in lines:
        s = line.stripped
        if _HEADER.match(s) or _RULE.match(s):
            continue
        m = _FOOTER.match(s)
        if m:
            if footer is not None:
                raise fail(SOURCE, "n_gids_found appears twice (outputs concatenated?)", line)
            footer = (int(m.group(1)), line)
            continue
        if footer is not None:
            raise fail(SOURCE, "row after the n_gids_found footer", line)
        if not _ROW_START.match(s):
            skipped.skip(line)
            continue
        try:
            row = _row(line)
        except _RedactedError:
            warn("dropped a row whose GID is redacted and has no IPv4 to rebuild it from", line)
            dropped += 1
            continue
        if any((r.device, r.port, r.index) == (row.device, row.port, row.index) for r in rows):
            raise fail(SOURCE, f"{row.device} port {row.port} index {row.index} twice", line)
        rows.append(row)
    if footer is not None and footer[0] != len(rows) + dropped:
        raise fail(
            SOURCE, f"footer says {footer[0]} GIDs but {len(rows)} rows were read", footer[1]
        )
    skipped.check(len(rows) + dropped)
    return rows


def rows_to_devices(rows: list[GidRow]) -> list[RdmaDevice]:
    """Group rows into devices and ports; sets the port netdev and the RoCE v2 IPv4 index."""
    devices: dict[str, RdmaDevice] = {}
    for row in rows:
        dev = devices.setdefault(row.device, RdmaDevice(name=row.device))
        port = next((p for p in dev.ports if p.number == row.port), None)
        if port is None:
            port = RdmaPort(number=row.port)
            dev.ports.append(port)
        # show_gids prints sysfs's type with only its v1/v2 tail; restore the sysfs spelling.
        gid_type = "RoCE v2" if row.version == "v2" else "IB/RoCE v1"
        port.gids.append(
            Gid(index=row.index, gid=row.gid, ipv4=row.ipv4, type=gid_type, netdev=row.netdev)
        )
        if row.netdev and port.netdev is None:
            port.netdev = row.netdev
        if row.netdev and row.netdev not in dev.netdevs:
            dev.netdevs.append(row.netdev)
    for dev in devices.values():
        dev.ports.sort(key=lambda p: p.number)
        for port in dev.ports:
            port.gids.sort(key=lambda g: g.index)
            port.roce_v2_ipv4_gid_index = roce_v2_ipv4_gid_index(port.gids)
    return list(devices.values())


def parse_show_gids(text: str) -> list[RdmaDevice]:
    return rows_to_devices(parse_show_gids_rows(text))
