"""MAC addresses: validation and the deterministic VF MACs of the RDMA CM step."""

from __future__ import annotations

import re

from dualnet.errors import UsageError

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_PREFIX = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){2}$")


def check_mac(mac: str, *, field: str = "mac") -> str:
    m = mac.lower()
    if not _MAC.match(m) or int(m[:2], 16) & 1 or m == "00:00:00:00:00:00":
        raise UsageError(f"{field}: {mac!r} is not a unicast MAC address",
                         hint="six ':'-separated hex bytes, first byte even, "
                         "e.g. 02:d4:1e:00:00:01")
    return m


def check_mac_prefix(prefix: str, *, field: str = "mac_prefix") -> str:
    p = prefix.lower()
    if not _PREFIX.match(p) or int(p[:2], 16) & 1:
        raise UsageError(f"{field}: {prefix!r} is not a 3-byte unicast MAC prefix",
                         hint="e.g. 02:d4:1e (02 = locally administered, unicast)")
    return p


def vf_mac(prefix: str, pf_mac: str, vf_index: int) -> str:
    """prefix + the PF MAC's last two bytes + the VF index.

    The PF MAC is globally unique, so its low bytes keep VF MACs of different PFs apart (two ports
    of one card differ there too) while staying readable: the VF index is the last byte."""
    if not 0 <= vf_index <= 255:
        raise UsageError(f"vf_macs: VF index {vf_index} does not fit the derived MAC scheme",
                         hint="VF indexes 0-255 are supported")
    pf = check_mac(pf_mac, field="PF address").split(":")
    return f"{check_mac_prefix(prefix)}:{pf[4]}:{pf[5]}:{vf_index:02x}"
