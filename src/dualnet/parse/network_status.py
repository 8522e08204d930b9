"""The Multus `k8s.v1.cni.cncf.io/network-status` pod annotation: model, parser, writer.

Multus writes one JSON object per attachment (Go struct `NetworkStatus` of the
network-attachment-definition client, marshalled with a 4-space indent) and joins them as
``"[" + ",".join(...) + "]"``; `dump_network_status` reproduces that byte for byte. The parser also
takes what people paste: the annotation line of `kubectl describe pod` (tabs), pod YAML with a
``|-`` block scalar or a single-quoted value, `kubectl get -o json` (an escaped JSON string), or
the bare JSON. It accepts the spec-text variants (formats.md §3.4): `default-route` for
`gateway`, IPs with a ``/prefix``, a missing `default`.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dualnet.parse._text import guarded
from dualnet.parse.decoding import normalize_spaces
from dualnet.parse.errors import ParseError

SOURCE = "network-status"
ANNOTATION = "k8s.v1.cni.cncf.io/network-status"
# Multus wrote this key as well until v4; read it only when the current one is absent.
DEPRECATED_ANNOTATION = "k8s.v1.cni.cncf.io/networks-status"

# Go marshals a nil net.IP as "<nil>"; such a gateway means "no gateway".
_GO_NIL = "<nil>"


class _Base(BaseModel):
    # Unknown keys are ignored: newer Multus versions may add fields and a reader must not break.
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class Dns(_Base):
    """CNI `DNS` (always written by Multus, often `{}`)."""

    nameservers: list[str] = Field(default_factory=list)
    domain: str | None = None
    search: list[str] = Field(default_factory=list)
    options: list[str] = Field(default_factory=list)


class PciDeviceInfo(_Base):
    pci_address: str | None = Field(default=None, alias="pci-address")
    vhost_net: str | None = Field(default=None, alias="vhost-net")
    rdma_device: str | None = Field(default=None, alias="rdma-device")
    pf_pci_address: str | None = Field(default=None, alias="pf-pci-address")
    representor_device: str | None = Field(default=None, alias="representor-device")


class DeviceInfo(_Base):
    """device-info-spec v1.x object (formats.md §3.6); the non-PCI sub-maps kept as plain maps."""

    type: str
    version: str = "1.1.0"
    pci: PciDeviceInfo | None = None
    vdpa: dict[str, Any] | None = None
    vhost_user: dict[str, Any] | None = Field(default=None, alias="vhost-user")
    memif: dict[str, Any] | None = None


def _bare_ip(value: str) -> str:
    """``"10.0.0.2/24"`` -> ``"10.0.0.2"`` in canonical form; raises ValueError if not an IP."""
    return str(ipaddress.ip_interface(value.strip()).ip)


class NetworkStatus(_Base):
    """One entry of the annotation, i.e. one interface of one attachment."""

    name: str
    interface: str | None = None
    ips: list[str] = Field(default_factory=list)
    mac: str | None = None
    mtu: int | None = None
    default: bool = False
    dns: Dns = Field(default_factory=Dns)
    device_info: DeviceInfo | None = Field(default=None, alias="device-info")
    gateway: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _spec_variants(cls, data: Any) -> Any:
        # The spec text calls the gateway list `default-route`; Multus writes `gateway`.
        if isinstance(data, dict) and "gateway" not in data and "default-route" in data:
            data = dict(data)
            data["gateway"] = data.pop("default-route")
        return data

    @field_validator("ips", "gateway", mode="before")
    @classmethod
    def _bare_ips(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            return value
        out: list[str] = []
        for item in value:
            if not isinstance(item, str):
                raise ValueError(f"expected an IP address string, got {item!r}")
            if item.strip() == _GO_NIL:
                continue
            out.append(_bare_ip(item))
        return out

    @field_validator("mtu", mode="before")
    @classmethod
    def _zero_mtu_is_unknown(cls, value: Any) -> Any:
        # Go omits mtu 0; a written 0 means the same: not reported.
        return None if value == 0 else value

    @field_validator("dns", mode="before")
    @classmethod
    def _null_dns(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("interface", "mac", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @property
    def namespace(self) -> str | None:
        """Namespace part of ``ns/nad`` names; None for the cluster network's conf name."""
        return self.name.split("/", 1)[0] if "/" in self.name else None

    @property
    def rdma_device(self) -> str | None:
        if self.device_info is not None and self.device_info.pci is not None:
            return self.device_info.pci.rdma_device
        return None

    @property
    def pci_address(self) -> str | None:
        if self.device_info is not None and self.device_info.pci is not None:
            return self.device_info.pci.pci_address
        return None


# --- parsing ------------------------------------------------------------------------------------

_KEY_RE = re.compile(
    r"""["']?k8s\.v1\.cni\.cncf\.io/(?P<which>network-status|networks-status)["']?\s*:""",
)


def _line_of(text: str, pos: int) -> tuple[int, str]:
    line_no = text.count("\n", 0, pos) + 1
    lines = text.splitlines()
    return line_no, lines[line_no - 1] if 0 < line_no <= len(lines) else ""


def _strip_comments(text: str) -> str:
    """Blank out leading `#` comment lines (the corpus `# source:` line) keeping line numbers."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.lstrip().startswith("#"):
            lines[i] = ""
        elif line.strip():
            break
    return "\n".join(lines)


def _find_value_start(text: str) -> tuple[int, bool]:
    """Offset where the JSON value starts, and whether it is a JSON-escaped string."""
    matches = list(_KEY_RE.finditer(text))
    current = [m for m in matches if m.group("which") == "network-status"]
    chosen = current[0] if current else (matches[0] if matches else None)
    if chosen is None:
        start = 0
    else:
        start = chosen.end()
        after = text[start:].lstrip(" \t")
        if after.startswith('"'):
            return start + (len(text[start:]) - len(after)), True
    for i in range(start, len(text)):
        ch = text[i]
        if ch in "[{":
            return i, False
        if ch == "}" or ch == "]":
            no, line = _line_of(text, i)
            raise ParseError(
                SOURCE,
                "the annotation starts in the middle of an entry (truncated head); "
                "paste the whole value from its opening '['",
                line_no=no,
                line=line,
            )
    raise ParseError(SOURCE, "no JSON list found (expected '[{...}]')")


def _decode(text: str) -> Any:
    start, escaped = _find_value_start(text)
    decoder = json.JSONDecoder()
    try:
        value, _ = decoder.raw_decode(text, start)
        if escaped:
            if not isinstance(value, str):
                raise ParseError(SOURCE, "the annotation value is not a JSON string")
            return _decode(value)
    except json.JSONDecodeError as exc:
        no, line = _line_of(text, exc.pos)
        raise ParseError(SOURCE, f"invalid JSON: {exc.msg}", line_no=no, line=line) from None
    except RecursionError:
        raise ParseError(SOURCE, "JSON nested too deeply") from None
    return value


@guarded(SOURCE)
def parse_network_status(text: str) -> list[NetworkStatus]:
    """Parse the annotation value (or a describe/YAML/JSON excerpt containing it).

    Returns the entries in order (several may share a `name`: multi-interface results).
    Raises ParseError when no complete JSON list can be found or an entry is invalid.
    """
    body = _strip_comments(text.removeprefix("\ufeff"))
    if not body.strip():
        raise ParseError(SOURCE, "empty input")
    try:
        value = _decode(body)
    except ParseError:
        # NBSP copied from a web page is no JSON whitespace; normalised only when the text as
        # given does not decode, since inside a JSON string it is data.
        spaced = _strip_comments(normalize_spaces(text))
        if spaced == body:
            raise
        value = _decode(spaced)
    if isinstance(value, dict):
        # A single entry pasted without its brackets.
        value = [value]
    if not isinstance(value, list):
        raise ParseError(SOURCE, f"expected a JSON list of objects, got {type(value).__name__}")
    entries: list[NetworkStatus] = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise ParseError(SOURCE, f"entry {index} is {type(item).__name__}, not an object")
        try:
            entries.append(NetworkStatus.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise ParseError(
                SOURCE,
                f"entry {index} ({item.get('name')!r}): field {loc!r}: {first['msg']}",
            ) from None
    return entries


# --- writing ------------------------------------------------------------------------------------


def _omit_empty(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v not in (None, "", [], {}, False, 0)}


def _entry_dict(entry: NetworkStatus) -> dict[str, Any]:
    # Key order and omitempty rules follow the Go struct; `dns` has no effective omitempty
    # (a struct is never "empty" to encoding/json), so it is always written.
    out: dict[str, Any] = {"name": entry.name}
    scalars = {"interface": entry.interface, "ips": list(entry.ips), "mac": entry.mac}
    out.update(_omit_empty({**scalars, "mtu": entry.mtu}))
    if entry.default:
        out["default"] = True
    out["dns"] = _omit_empty(
        {
            "nameservers": list(entry.dns.nameservers),
            "domain": entry.dns.domain,
            "search": list(entry.dns.search),
            "options": list(entry.dns.options),
        }
    )
    if entry.device_info is not None:
        info = entry.device_info
        dev: dict[str, Any] = {"type": info.type, "version": info.version}
        if info.pci is not None:
            dev["pci"] = _omit_empty(info.pci.model_dump(by_alias=True))
        others = (("vdpa", info.vdpa), ("vhost-user", info.vhost_user), ("memif", info.memif))
        for key, sub in others:
            if sub is not None:
                dev[key] = _omit_empty(sub)
        out["device-info"] = dev
    if entry.gateway:
        out["gateway"] = list(entry.gateway)
    return out


def _go_escape(text: str) -> str:
    # encoding/json escapes these for HTML safety; they can only occur inside strings here.
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def dump_network_status(entries: Iterable[NetworkStatus]) -> str:
    """The annotation value exactly as Multus writes it (IPs bare, empty fields omitted)."""
    parts = [json.dumps(_entry_dict(e), indent=4, ensure_ascii=False) for e in entries]
    return _go_escape("[" + ",".join(parts) + "]")
