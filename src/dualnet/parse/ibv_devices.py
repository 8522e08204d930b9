"""`ibv_devices` -> RdmaDevice list (name and node GUID).

The tool prints a two-line header (`device  node GUID`, dashes) and one `<name> <16 hex>` row per
device; the GUID is stored in the sysfs spelling (`9c7f:f4ff:feaf:f293`) like discovery does.
"""

from __future__ import annotations

import re

from dualnet.host.models import RdmaDevice
from dualnet.parse._text import Skipped, fail, guarded, prepare

SOURCE = "ibv_devices"

_HEADER = re.compile(r"^device\s+node GUID$")
_RULE = re.compile(r"^-+\s+-+$")
_NOISE = re.compile(r"^(?:libibverbs: Warning:|No IB devices found|Failed to)")
_ROW = re.compile(r"^([A-Za-z0-9_.\-]+)\s+([0-9a-fA-F]{16})$")


def _guid(raw: str) -> str:
    raw = raw.lower()
    return ":".join(raw[i : i + 4] for i in range(0, 16, 4))


@guarded(SOURCE)
def parse_ibv_devices(text: str) -> list[RdmaDevice]:
    lines = prepare(text)
    if not lines:
        raise fail(SOURCE, "empty input")
    devices: list[RdmaDevice] = []
    seen_header = False
    skipped = Skipped(SOURCE, "'<device> <16-hex-digit node GUID>'")
    for line in lines:
        s = line.stripped
        if _HEADER.match(s):
            if seen_header:
                raise fail(SOURCE, "header appears twice (outputs concatenated?)", line)
            seen_header = True
            continue
        if _RULE.match(s):
            continue
        m = _ROW.match(s)
        if m is None:
            if _NOISE.match(s):
                continue  # libibverbs' own warnings: kept by ibv_devinfo.verbs_messages
            skipped.skip(line)
            continue
        if any(d.name == m.group(1) for d in devices):
            raise fail(SOURCE, f"device {m.group(1)} listed twice", line)
        devices.append(RdmaDevice(name=m.group(1), node_guid=_guid(m.group(2))))
    if not seen_header:
        raise fail(SOURCE, "missing the 'device  node GUID' header", lines[0])
    return devices
