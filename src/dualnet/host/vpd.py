"""PCI Vital Product Data (the binary `vpd` file of a PCI function): the product name and the
read-only keywords, as `ibdev2netdev -v` shows them.

The format is the PCI specification's VPD (PCI Local Bus 3.0, section 6.4 and appendix I; the
kernel's drivers/pci/vpd.c walks it the same way): a sequence of resource data tags. A large tag
(bit 7 set) is followed by a 16-bit little-endian length: 0x82 is the Identifier String (the
product name), 0x90 the read-only VPD-R area and 0x91 the writable VPD-W area, each a list of
keyword entries (two ASCII characters, a length byte, the value; `PN` is the part number,
`SN` the serial number, `RV` the checksum). A small tag holds its length in bits 0-2; 0x78 (item
0x0F) ends the data. Anything truncated or malformed ends the walk with what was read so far.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_LARGE = 0x80
_ID_STRING = 0x02
_VPD_R = 0x10
_VPD_W = 0x11
_END = 0x0F


@dataclass(frozen=True)
class Vpd:
    identifier: str | None = None
    keywords: dict[str, str] = field(default_factory=dict)

    @property
    def part_number(self) -> str | None:
        return self.keywords.get("PN")


def _text(raw: bytes) -> str:
    return raw.decode("ascii", "replace").strip(" \x00\t\r\n")


def _keywords(body: bytes, out: dict[str, str]) -> None:
    j = 0
    while j + 3 <= len(body):
        key, size = body[j:j + 2], body[j + 2]
        if not all(0x20 < b < 0x7F for b in key):
            return  # not a keyword: the area is malformed from here on
        value = body[j + 3:j + 3 + size]
        name = key.decode("ascii")
        if name not in ("RV", "RW"):  # checksum and free space, not product data
            out.setdefault(name, _text(value))
        j += 3 + size


def parse_vpd(data: bytes) -> Vpd:
    identifier: str | None = None
    keywords: dict[str, str] = {}
    i = 0
    while i < len(data):
        tag = data[i]
        if tag & _LARGE:
            if i + 3 > len(data):
                break
            size = data[i + 1] | (data[i + 2] << 8)
            body = data[i + 3:i + 3 + size]
            item = tag & 0x7F
            if item == _ID_STRING and identifier is None:
                identifier = _text(body) or None
            elif item in (_VPD_R, _VPD_W):
                _keywords(body, keywords)
            if len(body) < size:
                break  # truncated
            i += 3 + size
        else:
            if (tag >> 3) & 0x0F == _END:
                break
            i += 1 + (tag & 0x07)
    return Vpd(identifier=identifier, keywords=keywords)
