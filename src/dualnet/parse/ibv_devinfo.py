"""`ibv_devinfo` (default, `-v`, `-l`) -> RdmaDevice list.

Layout per rdma-core `libibverbs/examples/devinfo.c` (formats.md §6.2). Quirks honoured:
`vendor_part_id` is DECIMAL (4129 = PCI 0x1021), `vendor_id` is the IEEE OUI (0x02c9), not the PCI
vendor, so it is not stored as one. Indentation is not trusted (blog renderings collapse it): a
key belongs to the port block once a `port:` line was seen. `-v` adds open-ended capability lines
(flag names on their own lines, `tag matching not supported`, ...): inside a device they are
skipped; before the first `hca_id:` libibverbs warnings and `Failed to open device` are noise
(kept by `verbs_messages` for doctor) and other text (a label, prose) is skipped with a warning.
`No IB devices found` is a fact: an empty list. Old libibverbs' `link_layer: IB` is InfiniBand.
The same output pasted twice (one device appears again) keeps the last run that names every
device, with a warning.
"""

from __future__ import annotations

import ipaddress
import re

from dualnet.host.models import Gid, LinkLayer, PhysState, PortState, RdmaDevice, RdmaPort
from dualnet.host.roce import gid_ipv4, roce_v2_ipv4_gid_index
from dualnet.parse._text import Line, fail, guarded, prepare, to_int, warn

SOURCE = "ibv_devinfo"

_HCA = re.compile(r"^hca_id:\s*(\S+)\s*$")
_PORT = re.compile(r"^port:\s*(\d+)\s*$")
_LIST_HEAD = re.compile(r"^(\d+)\s+HCAs?\s+found:?\s*$")
_KV = re.compile(r"^([A-Za-z_][A-Za-z0-9_ ]*?):\s*(.*)$")
_GID = re.compile(r"^GID\[\s*(\d+)\]:\s*([0-9A-Fa-f:.]+)\s*(?:,\s*(.+))?$")
_NOISE = (
    re.compile(r"^libibverbs: Warning:"),
    re.compile(r"^Failed to open device"),
    re.compile(r"^Failed to get IB_DEVICES list"),
    re.compile(r"^No IB devices found"),
    re.compile(r"^mlx\d: Fatal: kernel ABI version"),
)
# libibverbs' own diagnostics, kept for doctor: they say why no (or fewer) devices were listed.
_VERBS_MESSAGE = re.compile(
    r"^(?:libibverbs: Warning: .*|Failed to open device.*|Failed to get IB_DEVICES list.*"
    r"|No IB devices found.*|mlx\d: Fatal: kernel ABI version.*)$"
)


def verbs_messages(text: str) -> list[str]:
    """The libibverbs warnings and `No IB devices found` lines of an ibv_* output, in order."""
    return [ln.stripped for ln in prepare(text, labels=False) if _VERBS_MESSAGE.match(ln.stripped)]

_PORT_STATES = {
    "PORT_NOP": PortState.NOP,
    "PORT_DOWN": PortState.DOWN,
    "PORT_INIT": PortState.INIT,
    "PORT_ARMED": PortState.ARMED,
    "PORT_ACTIVE": PortState.ACTIVE,
    "PORT_ACTIVE_DEFER": PortState.ACTIVE_DEFER,
    "invalid state": PortState.UNKNOWN,
}
_PHYS_STATES = {
    "NOP": PhysState.NOP,
    "SLEEP": PhysState.SLEEP,
    "POLLING": PhysState.POLLING,
    "DISABLED": PhysState.DISABLED,
    "PORT_CONFIGURATION_TRAINING": PhysState.PORT_CONFIGURATION_TRAINING,
    "LINK_UP": PhysState.LINK_UP,
    "LINK_ERROR_RECOVERY": PhysState.LINK_ERROR_RECOVERY,
    "PHY_TEST": PhysState.PHY_TEST,
    "invalid physical state": PhysState.UNKNOWN,
}
_LINK_LAYERS = {
    "Ethernet": LinkLayer.ETHERNET,
    "InfiniBand": LinkLayer.INFINIBAND,
    # libibverbs of the OFED 1.5 era printed "IB" (tests/corpus/ibv_devinfo/NBSP-web-archive-*)
    "IB": LinkLayer.INFINIBAND,
    "Unspecified": LinkLayer.UNSPECIFIED,
}
_MTUS = {256, 512, 1024, 2048, 4096}
# The keys the default (not -v) output prints: free text inside a device block is only expected
# once a -v key was seen (capability flag names on their own lines), so before that it is prose.
_DEFAULT_KEYS = frozenset({
    "transport", "fw_ver", "node_guid", "sys_image_guid", "vendor_id", "vendor_part_id", "hw_ver",
    "board_id", "phys_port_cnt", "Device ports", "state", "max_mtu", "active_mtu", "sm_lid",
    "port_lid", "port_lmc", "link_layer",
})
# `active_speed: 25.0 Gbps (32)`: the enum in parentheses -> (lane Gb/s, IB speed name), as the
# kernel's sysfs `rate` names them (FDR lanes count as 14, FDR10 as 10).
_SPEEDS = {
    1: (2.5, "SDR"),
    2: (5.0, "DDR"),
    4: (10.0, "QDR"),
    8: (10.0, "FDR10"),
    16: (14.0, "FDR"),
    32: (25.0, "EDR"),
    64: (50.0, "HDR"),
    128: (100.0, "NDR"),
    256: (200.0, "XDR"),
}
# ibv_devinfo never prints '#'; an author's note after a value ("... RoCE v2   # index 3 used")
_TRAILING_COMMENT = re.compile(r"\s+#\s.*$")
_WIDTH = re.compile(r"^(\d+)X\b")
_SPEED_CODE = re.compile(r"\((\d+)\)\s*$")


def _enum_name(value: str) -> str:
    """`PORT_ACTIVE (4)` -> `PORT_ACTIVE`."""
    return re.sub(r"\s*\(\d+\)\s*$", "", value).strip()


def _mtu(value: str, line: Line) -> int:
    head = value.split()[0] if value.split() else ""
    mtu = to_int(SOURCE, head, line, "MTU")
    if mtu not in _MTUS:
        raise fail(SOURCE, f"MTU {mtu} is not an IB MTU (256..4096)", line)
    return mtu


def _gid(match: re.Match[str], line: Line) -> Gid:
    try:
        addr = ipaddress.IPv6Address(match.group(2))
    except ValueError:
        raise fail(SOURCE, f"GID {match.group(2)!r} is not 8 groups of hex", line) from None
    kind = (match.group(3) or "").strip() or None
    if kind is not None and kind not in ("RoCE v1", "RoCE v2", "IB/RoCE v1"):
        raise fail(SOURCE, f"unknown GID type {kind!r}", line)
    # ibv_devinfo drops sysfs's "IB/" prefix for v1; store the sysfs spelling like discovery does.
    gid_type = "IB/RoCE v1" if kind in ("RoCE v1", "IB/RoCE v1") else kind
    return Gid(
        index=int(match.group(1)), gid=addr.exploded, ipv4=gid_ipv4(addr.exploded), type=gid_type
    )


def _apply_rate(port: RdmaPort, width: str | None, speed: str | None) -> None:
    """sysfs-style `rate` ("100 Gb/sec (4X EDR)") from `-v`'s active_width and active_speed."""
    if width is None or speed is None:
        return
    w = _WIDTH.match(width)
    code = _SPEED_CODE.search(speed)
    if w is None or code is None or int(code.group(1)) not in _SPEEDS:
        return  # "invalid width"/"invalid speed": the port has no link; rate stays unknown
    lane, name = _SPEEDS[int(code.group(1))]
    gbps = int(w.group(1)) * lane
    port.rate_gbps = gbps
    port.rate = f"{gbps:g} Gb/sec ({w.group(1)}X {name})"


def _set_device_field(dev: RdmaDevice, key: str, value: str, line: Line) -> None:
    if key == "fw_ver":
        dev.fw_ver = value or None
    elif key == "node_guid":
        dev.node_guid = value
    elif key == "sys_image_guid":
        dev.sys_image_guid = value
    elif key == "vendor_part_id":
        dev.vendor_part_id = to_int(SOURCE, value, line, "vendor_part_id")
    elif key == "board_id":
        dev.board_id = value or None


def _set_port_field(port: RdmaPort, key: str, value: str, line: Line) -> None:
    if key == "state":
        name = _enum_name(value)
        if name not in _PORT_STATES:
            raise fail(SOURCE, f"unknown port state {value!r}", line)
        port.state = _PORT_STATES[name]
        port.state_read = True
    elif key == "phys_state":
        name = _enum_name(value)
        if name not in _PHYS_STATES:
            raise fail(SOURCE, f"unknown physical state {value!r}", line)
        port.phys_state = _PHYS_STATES[name]
    elif key == "max_mtu":
        port.max_mtu = _mtu(value, line)
    elif key == "active_mtu":
        port.active_mtu = _mtu(value, line)
    elif key == "sm_lid":
        port.sm_lid = to_int(SOURCE, value, line, "sm_lid")
    elif key == "port_lid":
        port.lid = to_int(SOURCE, value, line, "port_lid")
    elif key == "link_layer":
        if value not in _LINK_LAYERS:
            raise fail(SOURCE, f"unknown link_layer {value!r}", line)
        port.link_layer = _LINK_LAYERS[value]


def _parse_list(lines: list[Line], head: Line, count: int) -> list[RdmaDevice]:
    names: list[RdmaDevice] = []
    for line in lines:
        word = line.stripped
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+", word):
            raise fail(SOURCE, "expected one device name per line after 'N HCAs found:'", line)
        names.append(RdmaDevice(name=word))
    if len(names) != count:
        raise fail(SOURCE, f"header says {count} HCAs but {len(names)} names follow", head)
    return names


@guarded(SOURCE)
def parse_ibv_devinfo(text: str) -> list[RdmaDevice]:
    """Devices in output order. `-l` output gives devices with only `name` set."""
    every = prepare(text, labels=False)
    lines = [ln for ln in every if not any(p.match(ln.stripped) for p in _NOISE)]
    if not lines:
        # Only warnings / "Failed to open device": the tool ran but saw no usable device.
        if every:
            return []
        raise fail(SOURCE, "empty input")
    heads = [(i, m) for i, ln in enumerate(lines) if (m := _LIST_HEAD.match(ln.stripped))]
    start = next((i for i, ln in enumerate(lines) if _HCA.match(ln.stripped)), None)
    if heads and (start is None or heads[0][0] < start):
        at, first = heads[0]
        for line in lines[:at]:
            warn("skipped a line before 'N HCAs found:'", line)
        return _parse_list(lines[at + 1 :], lines[at], int(first.group(1)))
    if start is None:
        raise fail(SOURCE, "expected 'hca_id: <device>' or 'N HCAs found:'", lines[0])
    for line in lines[:start]:
        warn("skipped a line before the first 'hca_id:'", line)
    return _last_complete_run(_parse_devices(lines[start:]))


def _last_complete_run(devices: list[RdmaDevice]) -> list[RdmaDevice]:
    """The output pasted more than once: a run ends where a device name comes again."""
    runs: list[list[RdmaDevice]] = [[]]
    for dev in devices:
        if any(d.name == dev.name for d in runs[-1]):
            runs.append([])
        runs[-1].append(dev)
    if len(runs) == 1:
        return devices
    names = {d.name for d in devices}
    complete = [r for r in runs if {d.name for d in r} == names]
    chosen = complete[-1] if complete else runs[-1]
    warn(
        f"the output appears {len(runs)} times (device {runs[1][0].name} again); "
        f"used the last {'complete ' if complete else ''}run, "
        f"{len(chosen)} device(s)"
    )
    return chosen


def _parse_devices(lines: list[Line]) -> list[RdmaDevice]:
    devices: list[RdmaDevice] = []
    dev: RdmaDevice | None = None
    port: RdmaPort | None = None
    # keyed by the device object: a device pasted twice has two of them
    speeds: dict[tuple[int, int], dict[str, str]] = {}
    verbose = False  # a -v key seen in this device block
    for line in lines:
        s = line.stripped
        m = _HCA.match(s)
        if m:
            if dev is not None and port is not None:
                port.roce_v2_ipv4_gid_index = roce_v2_ipv4_gid_index(port.gids)
            dev = RdmaDevice(name=m.group(1))
            devices.append(dev)
            port = None
            verbose = False
            continue
        if dev is None:  # the caller starts at the first hca_id line
            raise fail(SOURCE, "expected 'hca_id: <device>' or 'N HCAs found:'", line)
        m = _PORT.match(s)
        if m:
            if port is not None:
                port.roce_v2_ipv4_gid_index = roce_v2_ipv4_gid_index(port.gids)
            number = int(m.group(1))
            if any(p.number == number for p in dev.ports):
                raise fail(SOURCE, f"port {number} of {dev.name} appears twice", line)
            port = RdmaPort(number=number)
            dev.ports.append(port)
            continue
        if _TRAILING_COMMENT.search(s):
            warn("removed a trailing '# ...' comment", line)
            s = _TRAILING_COMMENT.sub("", s)
        m = _GID.match(s)
        if m:
            if port is None:
                # `ibv_devinfo -v | grep GID` drops the port lines: no port to put it in.
                warn("skipped a GID line outside a port block (port lines filtered out?)", line)
                continue
            port.gids.append(_gid(m, line))
            continue
        kv = _KV.match(s)
        if kv is None:
            if not verbose:  # -v prints capability flag names on their own lines; else prose
                warn(f"skipped a line inside the block of {dev.name} that is no field", line)
            continue
        key, value = kv.group(1).strip(), kv.group(2).strip()
        if not value and key[:1].isupper() and key not in _DEFAULT_KEYS:
            # "After:", "Client side:": an author's label between two pastes, not a -v key
            warn("skipped a label line", line)
            continue
        verbose = verbose or key not in _DEFAULT_KEYS
        if port is not None and key in ("active_width", "active_speed"):
            speeds.setdefault((id(dev), port.number), {})[key] = value
        elif port is not None:
            _set_port_field(port, key, value, line)
        else:
            _set_device_field(dev, key, value, line)
    if port is not None:
        port.roce_v2_ipv4_gid_index = roce_v2_ipv4_gid_index(port.gids)
    for d in devices:
        for p in d.ports:
            found = speeds.get((id(d), p.number), {})
            _apply_rate(p, found.get("active_width"), found.get("active_speed"))
    return devices
