"""mlnx-tools `ibdev2netdev` (plain and `-v`) -> rows, and -> RdmaDevice list.

Plain: `<ibdev> port <n> ==> <netdev> (Up|Down)`. Verbose: `<pci> <ibdev> (<MTxxxx> - <PSID>)
<description> fw <fw> port <n> (<STATE>) ==> <netdev> (Up|Down)` on one line; a device
with no PCI function (Soft-RoCE) has no `<pci>` (the script's `find_pdev` prints nothing) and
`NA` for the id: ` rxe0 (NA - NA)  fw NA port 1 (ACTIVE) ==> eth0 (Up)`.
`(Up)/(Down)` is the NETDEV carrier, not the RDMA port state (an IB port can be ACTIVE while its
IPoIB netdev is down). `column -t` spacing, trailing `# notes` and a Lustre LNet tag such as
`(o2ib)` after the state are accepted. Any other line (e.g. `ifconfig` output interleaved with
it) is skipped with a warning naming it; when no line at all is a row (e.g. `rdma link` output
saved under this name) the text is a ParseError, with a hint when it is recognisably `rdma link`.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from dualnet.host.models import PortState, RdmaDevice, RdmaPort
from dualnet.parse._text import Line, Skipped, fail, full_pci, guarded, prepare

SOURCE = "ibdev2netdev"

_NAME = r"[A-Za-z0-9_.\-]+"
_TAIL = (
    rf"port\s+(?P<port>\d+)(?:\s+\((?P<state>[A-Z_ ]+)\))?\s+==>\s+(?P<netdev>{_NAME})"
    r"\s+\((?P<carrier>Up|Down)\)(?:\s+\((?P<lnet>o2ib\d*)\))?"
)
_PLAIN = re.compile(rf"^(?P<ibdev>{_NAME})\s+{_TAIL}$")
_VERBOSE = re.compile(
    rf"^(?:(?P<pci>[0-9a-fA-F]{{4}}:[0-9a-fA-F]{{2}}:[0-9a-fA-F]{{2}}\.[0-7])\s+)?(?P<ibdev>{_NAME})\s+"
    rf"\((?P<hca>MT\d+|NA)\s+-\s+(?P<board>[^)]*?)\)\s*(?P<desc>.*?)\s*fw\s+(?P<fw>\S+)\s+{_TAIL}$"
)
_STATES = {
    "ACTIVE": PortState.ACTIVE,
    "DOWN": PortState.DOWN,
    "INIT": PortState.INIT,
    "ARMED": PortState.ARMED,
    "ACTIVE_DEFER": PortState.ACTIVE_DEFER,
    "NOP": PortState.NOP,
}


class Ibdev2netdevRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ibdev: str
    port: int
    netdev: str
    carrier_up: bool
    pci_address: str | None = None
    hca_type: str | None = None
    board_id: str | None = None
    description: str | None = None
    fw_ver: str | None = None
    port_state: PortState | None = None


def _strip_note(text: str) -> str:
    # `# note` added after the output; '#' never occurs in the tool's own text.
    return text.split("#", 1)[0].rstrip()


def _row(line: Line, skipped: Skipped) -> Ibdev2netdevRow | None:
    s = _strip_note(line.stripped)
    m = _VERBOSE.match(s) or _PLAIN.match(s)
    if m is None:
        hint = None
        if re.search(r"\bstate\s+\S+\s+physical_state\b", s):
            hint = "this is `rdma link` output; save it as rdma_link.txt"
        skipped.skip(line, hint=hint)
        return None
    groups = m.groupdict()
    state: PortState | None = None
    if groups.get("state"):
        raw = groups["state"].strip()
        if raw not in _STATES:
            raise fail(SOURCE, f"unknown port state {raw!r}", line)
        state = _STATES[raw]
    board = (groups.get("board") or "").strip() or None
    return Ibdev2netdevRow(
        ibdev=groups["ibdev"],
        port=int(groups["port"]),
        netdev=groups["netdev"],
        carrier_up=groups["carrier"] == "Up",
        pci_address=full_pci(groups["pci"]) if groups.get("pci") else None,
        hca_type=None if groups.get("hca") in (None, "NA") else groups["hca"],
        board_id=None if board in (None, "NA") else board,
        description=(groups.get("desc") or "").strip() or None,
        fw_ver=groups.get("fw"),
        port_state=state,
    )


@guarded(SOURCE)
def parse_ibdev2netdev_rows(text: str) -> list[Ibdev2netdevRow]:
    lines = prepare(text)
    if not lines:
        raise fail(SOURCE, "empty input")
    rows: list[Ibdev2netdevRow] = []
    skipped = Skipped(SOURCE, "'<ibdev> port <n> ==> <netdev> (Up|Down)'")
    for line in lines:
        row = _row(line, skipped)
        if row is None:
            continue
        if any((r.ibdev, r.port) == (row.ibdev, row.port) for r in rows):
            raise fail(SOURCE, f"{row.ibdev} port {row.port} listed twice", line)
        rows.append(row)
    skipped.check(len(rows))
    return rows


def rows_to_devices(rows: list[Ibdev2netdevRow]) -> list[RdmaDevice]:
    devices: dict[str, RdmaDevice] = {}
    for row in rows:
        dev = devices.setdefault(row.ibdev, RdmaDevice(name=row.ibdev))
        dev.pci_address = dev.pci_address or row.pci_address
        dev.hca_type = dev.hca_type or row.hca_type
        if row.hca_type and dev.vendor_part_id is None:
            # hca_type is "MT" + the PCI device id in decimal (formats.md §5.1).
            dev.vendor_part_id = int(row.hca_type[2:])
        dev.board_id = dev.board_id or row.board_id
        dev.fw_ver = dev.fw_ver or row.fw_ver
        port = RdmaPort(number=row.port, netdev=row.netdev, netdev_carrier=row.carrier_up)
        if row.port_state is not None:
            port.state = row.port_state
            port.state_read = True
        dev.ports.append(port)
        if row.netdev not in dev.netdevs:
            dev.netdevs.append(row.netdev)
    for dev in devices.values():
        dev.ports.sort(key=lambda p: p.number)
    return list(devices.values())


def parse_ibdev2netdev(text: str) -> list[RdmaDevice]:
    return rows_to_devices(parse_ibdev2netdev_rows(text))
