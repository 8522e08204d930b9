"""`devlink dev eswitch show` and `devlink port show` (text, or `-j`/`-jp` JSON for ports).

Formats, from iproute2's devlink and the outputs in tests/corpus/devlink_*:

* eswitch: one line per device, `pci/0000:c1:00.1: mode legacy inline-mode link encap-mode
  basic` (OpenNebula/one-deploy#214); `mode` is `legacy` or `switchdev`.
* port: one line per port, `<bus>/<dev>/<index>: type eth netdev <if> flavour <f> [controller
  C] [pfnum N] [vfnum M | sfnum S] [port P] [external E] splittable B [lanes L]`, optionally
  followed by indented `function:` lines (`hw_addr ...`, `state ... opstate ...`), which are
  skipped. Mail archives wrap long lines; a line that is neither a port nor a `function:`
  attribute continues the port above it.
* port JSON: `{"port": {"<bus>/<dev>/<index>": {"type": "eth", "netdev": ..., "flavour": ...,
  "pfnum": 0, "sfnum": 88, ...}}}` (kernel commit b8288837, "devlink: Introduce PCI SF port
  flavour and port attribute").

Ports are returned as `Representor`s (every flavour the model knows, the physical uplink too);
ports without a netdev, or of another flavour (`virtual`, `cpu`, `dsa`), are skipped.
"""

from __future__ import annotations

import json
import re
from typing import Any

from dualnet.host.models import Eswitch, Representor
from dualnet.parse._text import Line, Skipped, fail, full_pci, guarded, prepare, to_int

ESWITCH = "devlink dev eswitch show"
PORT = "devlink port show"

_ESW = re.compile(r"^(?P<bus>[a-z]+)/(?P<dev>\S+?):\s+(?P<rest>mode\s.*)$")
_PORT = re.compile(r"^(?P<bus>[a-z]+)/(?P<dev>\S+)/(?P<index>\d+):\s*(?P<rest>.*)$")
_FUNCTION_WORDS = ("function:", "hw_addr", "state", "roce", "migratable", "ipsec_", "max_io_eqs")
_FLAVOURS = {"physical", "pcipf", "pcivf", "pcisf"}


def _words(rest: str) -> dict[str, str]:
    # Every word maps to the next one (as parse/ip.py reads `ip -d`): robust to a flag word
    # without a value; the first occurrence of a key wins.
    tokens = rest.split()
    out: dict[str, str] = {}
    for i in range(len(tokens) - 1):
        out.setdefault(tokens[i], tokens[i + 1])
    return out


@guarded(ESWITCH)
def parse_devlink_eswitch(text: str) -> list[Eswitch]:
    out: list[Eswitch] = []
    lines = prepare(text)
    if not lines:
        raise fail(ESWITCH, "empty output", hint="run `devlink dev eswitch show pci/<PF>`")
    # best effort (parse/_text.py): lines that are not a device's eswitch are skipped with a
    # warning; only an output with none at all is a ParseError
    skipped = Skipped(ESWITCH, "'<bus>/<device>: mode legacy|switchdev ...'")
    recognised = 0
    for line in lines:
        m = _ESW.match(line.stripped)
        if m is None:
            skipped.skip(line, hint="a PF without an eswitch answers 'Operation not supported'")
            continue
        words = _words(m.group("rest"))
        mode = words.get("mode")
        if mode not in ("legacy", "switchdev"):
            skipped.skip(line, reason=f"mode {mode!r} is neither legacy nor switchdev")
            continue
        recognised += 1
        pci = full_pci(m.group("dev")) if m.group("bus") == "pci" else None
        if pci is None:
            continue  # an auxiliary (SF) devlink instance has no eswitch of its own
        out.append(Eswitch(pf_pci_address=pci, mode="legacy" if mode == "legacy" else "switchdev",
                           mode_source=ESWITCH))
    skipped.check(recognised)
    return out


def _representor(handle_bus: str, handle_dev: str, attrs: dict[str, Any],
                 line: Line | None) -> Representor | None:
    flavour = attrs.get("flavour")
    netdev = attrs.get("netdev")
    if flavour not in _FLAVOURS or not isinstance(netdev, str):
        return None

    def num(key: str) -> int | None:
        value = attrs.get(key)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if line is None:
            raise fail(PORT, f"{key} {value!r} is not a number")
        return to_int(PORT, str(value), line, key)

    external = attrs.get("external") in ("true", True)
    return Representor(
        netdev=netdev,
        flavour=flavour,
        pf_pci_address=full_pci(handle_dev) if handle_bus == "pci" else None,
        controller=num("controller") if external else None,
        pfnum=num("pfnum"), vfnum=num("vfnum"), sfnum=num("sfnum"), port=num("port"),
    )


@guarded(PORT)
def parse_devlink_port(text: str) -> list[Representor]:
    # labels=False: `function:` is devlink's own sub-heading, not a pasted label
    lines = prepare(text, labels=False)
    body = "\n".join(line.text for line in lines).strip()
    if not body:
        raise fail(PORT, "empty output", hint="run `devlink port show`")
    if body.startswith("{"):
        return _from_json(body)
    ports: list[tuple[Line, str, str, str]] = []  # first line, bus, dev, attribute text
    skipped = Skipped(PORT, "'<bus>/<device>/<index>: type ... flavour ...'")
    for line in lines:
        s = line.stripped
        m = _PORT.match(s)
        if m is not None:
            ports.append((line, m.group("bus"), m.group("dev"), m.group("rest")))
        elif s.startswith(_FUNCTION_WORDS):
            continue
        elif ports:  # a wrapped line continues the port above
            first, bus, dev, rest = ports[-1]
            ports[-1] = (first, bus, dev, f"{rest} {s}")
        else:
            skipped.skip(line)
    skipped.check(len(ports))
    out = []
    for line, bus, dev, rest in ports:
        rep = _representor(bus, dev, _words(rest), line)
        if rep is not None:
            out.append(rep)
    return out


def _from_json(body: str) -> list[Representor]:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise fail(PORT, f"invalid JSON: {exc}") from None
    ports = data.get("port") if isinstance(data, dict) else None
    if not isinstance(ports, dict):
        raise fail(PORT, "JSON without a 'port' object", hint="run `devlink port show -j`")
    out = []
    for handle, attrs in ports.items():
        m = _PORT.match(f"{handle}: ")
        if m is None or not isinstance(attrs, dict):
            raise fail(PORT, f"port {handle!r}: expected '<bus>/<device>/<index>' -> object")
        rep = _representor(m.group("bus"), m.group("dev"), attrs, None)
        if rep is not None:
            out.append(rep)
    return out
