"""The user's intent: one small YAML document describing the training network.

    apiVersion: dualnet.io/v1alpha1
    kind: TrainingNetwork
    metadata: {name: rdma-net}
    spec: {mode: shared-roce, nics: {netdevs: [enp1s0f0np0]}, ipam: {...}}

Only intent lives here; facts about nodes come from `dualnet.host`. Checks that need node facts
(default-route NIC, link layer, total VFs, ...) are the plan's job. Every user mistake becomes a
`UsageError` naming the field path, the bad value and what is allowed.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from dualnet.errors import UsageError
from dualnet.modes import Mode
from dualnet.name_fields import IfName
from dualnet.names import check_dns1123_label, check_pci_address

API_VERSION = "dualnet.io/v1alpha1"
KIND = "TrainingNetwork"

# The Network Operator's examples use rdmaHcaMax 63; the plugin itself silently defaults to 0,
# which advertises no devices at all, so dualnet never leaves the field out.
DEFAULT_RDMA_HCA_MAX = 63
K3S_POD_CIDR = "10.42.0.0/16"
K3S_SERVICE_CIDR = "10.43.0.0/16"

_HEX4 = re.compile(r"^[0-9a-f]{4}$")


class _Model(BaseModel):
    # strict: what the user wrote is what is checked, as `dualnet schema` states it. No
    # coercion: `k3s: "yes"` or `rdmaHcaMax: "100"` is refused, not read as true / 100. Enum
    # fields opt out (`strict=False`) only because strict enums want enum instances, not the
    # strings YAML gives; lax enum validation still takes nothing but the listed values.
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True, strict=True
    )


PciAddress = Annotated[
    str, AfterValidator(lambda v: _name_check(check_pci_address, v.lower(), "pci address"))
]


class IpamType(StrEnum):
    HOST_LOCAL = "host-local"
    STATIC = "static"
    DHCP = "dhcp"
    WHEREABOUTS = "whereabouts"


class MacvlanMode(StrEnum):
    BRIDGE = "bridge"
    PRIVATE = "private"
    VEPA = "vepa"
    PASSTHRU = "passthru"


class IpvlanMode(StrEnum):
    L2 = "l2"
    L3 = "l3"
    L3S = "l3s"


class SharedCni(StrEnum):
    """Which CNI plugin gives the pod its interface in shared-roce mode (the notes: either)."""

    MACVLAN = "macvlan"
    IPVLAN = "ipvlan"


def _name_check(check: Any, value: str, field: str) -> str:
    """names.check_* raise UsageError; inside a pydantic validator that must be a ValueError so
    the error carries the field path."""
    try:
        return check(value, field=field)  # type: ignore[no-any-return]
    except UsageError as exc:
        raise ValueError(f"{exc.message} ({exc.hint})" if exc.hint else exc.message) from None


def _check_ip(value: str, field: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address ({field})") from None


def _check_cidr(value: str, field: str) -> str:
    if "/" not in value:
        # ipaddress reads a bare address as a /32 network: say what is missing instead
        raise ValueError(f"no prefix length ({field}): write the network in CIDR form, e.g. "
                         f"{value}/24")
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as exc:
        raise ValueError(
            f"{value!r} is not a network in CIDR form with the host bits zero ({field}): {exc}"
        ) from None


class RouteSpec(_Model):
    dst: str = Field(description="destination network in CIDR form; never 0.0.0.0/0 (eth0 keeps "
                     "the default route)")
    gw: str | None = Field(default=None, description="gateway; default: the range gateway")

    @field_validator("dst")
    @classmethod
    def _dst(cls, v: str) -> str:
        net = _check_cidr(v, "dst")
        if ipaddress.ip_network(net).prefixlen == 0:
            raise ValueError(
                f"{v!r} would move the pod's default route to the training network; "
                "eth0 (the cluster network) must keep it: use specific destinations"
            )
        return net

    @field_validator("gw")
    @classmethod
    def _gw(cls, v: str | None) -> str | None:
        return None if v is None else _check_ip(v, "gw")


class StaticAddress(_Model):
    address: str = Field(description="CIDR, e.g. 192.168.50.11/24")
    gateway: str | None = None

    @field_validator("address")
    @classmethod
    def _addr(cls, v: str) -> str:
        try:
            return str(ipaddress.ip_interface(v))
        except ValueError:
            raise ValueError(f"{v!r} is not an address in CIDR form (e.g. 192.168.50.11/24)")\
                from None


class IpamSpec(_Model):
    type: IpamType = Field(default=IpamType.HOST_LOCAL, strict=False, description="IPAM plugin")
    subnet: str | None = Field(
        default=None, description="training subnet (CIDR); required except for dhcp"
    )
    range_start: str | None = Field(default=None, description="first address handed out")
    range_end: str | None = Field(default=None, description="last address handed out")
    gateway: str | None = Field(default=None, description="gateway on the training subnet")
    routes: list[RouteSpec] = Field(default_factory=list, description="extra routes via net1")
    exclude: list[str] = Field(
        default_factory=list, description="CIDRs never handed out (whereabouts)"
    )
    addresses: list[StaticAddress] = Field(
        default_factory=list,
        description="static: fixed addresses; empty = per pod, from the networks annotation 'ips'",
    )

    @field_validator("subnet")
    @classmethod
    def _subnet(cls, v: str | None) -> str | None:
        return None if v is None else _check_cidr(v, "subnet")

    @field_validator("range_start", "range_end", "gateway")
    @classmethod
    def _ips(cls, v: str | None) -> str | None:
        return None if v is None else _check_ip(v, "address")

    @field_validator("exclude")
    @classmethod
    def _exclude(cls, v: list[str]) -> list[str]:
        return [_check_cidr(x, "exclude[]") for x in v]

    @model_validator(mode="after")
    def _consistent(self) -> IpamSpec:
        if self.type is IpamType.DHCP:
            if self.subnet or self.range_start or self.range_end or self.addresses:
                raise ValueError("dhcp takes its addresses from the DHCP server: leave subnet, "
                                 "rangeStart, rangeEnd and addresses out")
            return self
        if self.subnet is None:
            raise ValueError(f"subnet is required for ipam type {self.type.value}")
        net = ipaddress.ip_network(self.subnet)
        for name in ("range_start", "range_end", "gateway"):
            value = getattr(self, name)
            if value is not None and ipaddress.ip_address(value) not in net:
                raise ValueError(f"{to_camel(name)} {value} is outside subnet {self.subnet}")
        if self.range_start and self.range_end and (
            int(ipaddress.ip_address(self.range_start)) > int(ipaddress.ip_address(self.range_end))
        ):
            raise ValueError(f"rangeStart {self.range_start} is after rangeEnd {self.range_end}")
        if self.type is IpamType.HOST_LOCAL and net.version == 4 and net.prefixlen > 30:
            raise ValueError(f"host-local needs an IPv4 subnet of /30 or wider, not {self.subnet}")
        for a in self.addresses:
            if ipaddress.ip_interface(a.address) not in net:
                raise ValueError(f"address {a.address} is outside subnet {self.subnet}")
        if self.addresses and self.type is not IpamType.STATIC:
            raise ValueError("addresses are only used by ipam type static")
        if self.exclude and self.type is not IpamType.WHEREABOUTS:
            raise ValueError("exclude is only supported by ipam type whereabouts")
        return self


class NicSelection(_Model):
    """Which ports carry the training network. All lists empty (or `auto: true`): every RDMA
    port that does not hold the node's default route and is up, preferring the nearest to a GPU."""

    auto: bool = Field(default=False, description="pick the training NICs from discovery")
    netdevs: list[IfName] = Field(
        default_factory=list, description="netdev names, e.g. enp1s0f0np0"
    )
    pci_addresses: list[PciAddress] = Field(
        default_factory=list, description="PCI addresses, e.g. 0000:01:00.0"
    )
    device_ids: list[str] = Field(
        default_factory=list, alias="deviceIDs", description="PCI device ids, e.g. 1021"
    )

    pin_if_names: bool = Field(
        default=False,
        description="also pin the device plugin selectors to these interface names (ifNames)",
    )

    @model_validator(mode="before")
    @classmethod
    def _mapping(cls, data: Any) -> Any:
        if not isinstance(data, dict | NicSelection):
            raise ValueError("nics is a mapping: {auto: true}, or netdevs, pciAddresses or "
                             "deviceIDs lists")
        return data

    @field_validator("device_ids", mode="before")
    @classmethod
    def _ids(cls, v: Any) -> Any:
        if not isinstance(v, list):
            return v
        out = []
        for x in v:
            if not isinstance(x, str):
                # YAML reads 1021 as a number and 0x1021 as 4129: never guess which was meant
                raise ValueError(f"{x!r} is a number, not a PCI device id: quote the 4 hex "
                                 "digits, e.g. '1021'")
            s = x.lower().removeprefix("0x")
            if not _HEX4.match(s):
                raise ValueError(f"{x!r} is not a PCI device id (4 hex digits, e.g. 1021)")
            out.append(s)
        return out

    @model_validator(mode="after")
    def _auto_alone(self) -> NicSelection:
        if self.auto and (self.netdevs or self.pci_addresses or self.device_ids):
            raise ValueError("auto: true cannot be combined with netdevs, pciAddresses or "
                             "deviceIDs")
        return self

    @property
    def is_auto(self) -> bool:
        return self.auto or not (self.netdevs or self.pci_addresses or self.device_ids)


def _image_ref(value: str) -> str:
    if not _IMAGE.match(value):
        raise ValueError(f"{value!r} is not an image reference (registry/name:tag or @digest)")
    return value


_IMAGE = re.compile(
    r"^[a-z0-9][a-z0-9._/-]*(:[0-9]+/[a-z0-9._/-]+)?"  # registry[:port]/path
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$"  # :tag, @digest
)
ImageRef = Annotated[str, AfterValidator(_image_ref)]


class Images(_Model):
    """Image overrides; anything not given uses dualnet's pinned default."""

    multus: ImageRef | None = None
    cni_plugins: ImageRef | None = None
    rdma_shared_device_plugin: ImageRef | None = None
    sriov_device_plugin: ImageRef | None = None
    sriov_cni: ImageRef | None = None
    ib_sriov_cni: ImageRef | None = None
    ipoib_cni: ImageRef | None = None
    rdma_cni: ImageRef | None = None
    whereabouts: ImageRef | None = None
    test: ImageRef | None = Field(default=None, description="test pods (needs rdma-core tools)")
    gpu_test: ImageRef | None = Field(
        default=None, description="GPUDirect test pod (CUDA+perftest)"
    )
    dpdk: ImageRef | None = None
    bench: ImageRef | None = Field(
        default=None, description="benchmark job (perftest, nccl-tests)"
    )


class OffloadCni(StrEnum):
    """The cluster CNI that programs the eswitch through the VF representors (OVS offload)."""

    OVN_KUBERNETES = "ovn-kubernetes"
    ANTREA = "antrea"


class OffloadSpec(_Model):
    """OVS hardware offload (ASAP2): pods get a switchdev VF whose flows OVS offloads to the NIC.
    The VF is the pod's default network, plugged by the cluster CNI named here, not a net1."""

    cni: OffloadCni = Field(strict=False, description="ovn-kubernetes or antrea")

    @model_validator(mode="before")
    @classmethod
    def _mapping(cls, data: Any) -> Any:
        if not isinstance(data, dict | OffloadSpec):
            raise ValueError("offload is a mapping: {cni: ovn-kubernetes} or {cni: antrea}")
        return data


class NcclQos(_Model):
    """NCCL's QoS knobs. Never derived from a node: they follow the fabric's QoS design (which
    traffic class / service level the switches give lossless treatment), so only the spec sets
    them."""

    traffic_class: int | None = Field(default=None, ge=0, le=255,
                                      description="NCCL_IB_TC (RoCE: DSCP << 2)")
    service_level: int | None = Field(default=None, ge=0, le=15, description="NCCL_IB_SL")
    qps_per_connection: int | None = Field(default=None, ge=1, le=128,
                                           description="NCCL_IB_QPS_PER_CONNECTION")


class NetworkSpec(_Model):
    """spec: of a TrainingNetwork."""

    mode: Mode = Field(
        default=Mode.SHARED_ROCE, strict=False, description="how pods get the training NIC"
    )
    nics: NicSelection = Field(default_factory=NicSelection)
    ipam: IpamSpec = Field(default_factory=lambda: IpamSpec(subnet="192.168.50.0/24"))
    shared_cni: SharedCni = Field(
        default=SharedCni.MACVLAN, strict=False, description="shared-roce only: macvlan or ipvlan"
    )
    macvlan_mode: MacvlanMode = Field(default=MacvlanMode.BRIDGE, strict=False)
    ipvlan_mode: IpvlanMode = Field(default=IpvlanMode.L2, strict=False)
    resource_name: str | None = Field(
        default=None,
        description="device plugin resource name without prefix; default per mode "
        "(rdma_shared_device, sriov_rdma, ...)",
    )
    resource_prefix: str | None = Field(
        default=None, description="default: rdma (shared plugin) or nvidia.com (SR-IOV plugin)"
    )
    rdma_hca_max: int = Field(
        default=DEFAULT_RDMA_HCA_MAX, ge=1, le=10000,
        description="shared plugin: pods that may share one HCA (never 0: 0 advertises nothing)",
    )
    mtu: int | None = Field(
        default=None, ge=576, le=65520, description="MTU of the training NIC and net1"
    )
    namespace: str = Field(default="default", description="namespace of the NAD and test pods")
    num_vfs: int | None = Field(
        default=None, ge=1, le=256, description="SR-IOV modes: VFs to create per selected PF"
    )
    rdma_cni: bool = Field(
        default=False,
        description="SR-IOV/host-device: chain RDMA CNI (namespace-aware, netns exclusive)",
    )
    rdma_cm: bool = Field(
        default=False,
        description="SR-IOV: workloads use RDMA CM, so VF MACs are set before use (host step)",
    )
    vlan: int | None = Field(default=None, ge=0, le=4094, description="SR-IOV: VF VLAN")
    pkey: str | None = Field(default=None, description="IB SR-IOV: partition key, e.g. 0x7fff")
    hugepages_1gi: str = Field(
        default="2Gi", alias="hugepages1Gi", description="DPDK pod: hugepages-1Gi request"
    )
    pod_cidr: str = Field(default=K3S_POD_CIDR, description="cluster pod CIDR (k3s default)")
    service_cidr: str = Field(default=K3S_SERVICE_CIDR, description="service CIDR (k3s default)")
    k3s: bool = Field(
        default=False, alias="k3s", description="nodes run k3s (adds the guide's k3s notes)"
    )
    node_count: int | None = Field(
        default=None, ge=1, description="nodes that will join the network (default: hosts given)"
    )
    images: Images = Field(default_factory=Images)
    nccl: NcclQos = Field(default_factory=NcclQos, description="NCCL QoS knobs, only from here")
    offload: OffloadSpec | None = Field(
        default=None,
        description="mode sriov only: OVS hardware offload on switchdev VFs, for this cluster CNI",
    )

    @field_validator("namespace")
    @classmethod
    def _ns(cls, v: str) -> str:
        return _name_check(check_dns1123_label, v, "namespace")

    @field_validator("pod_cidr", "service_cidr")
    @classmethod
    def _cidrs(cls, v: str) -> str:
        return _check_cidr(v, "cidr")

    @field_validator("pkey")
    @classmethod
    def _pkey(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"0x[0-9a-fA-F]{1,4}", v):
            raise ValueError(f"{v!r} is not a partition key (0x0001..0x7fff / 0xffff form)")
        return v

    @field_validator("hugepages_1gi")
    @classmethod
    def _hp(cls, v: str) -> str:
        if not re.fullmatch(r"[1-9][0-9]*Gi", v):
            raise ValueError(f"{v!r} is not a whole number of Gi, e.g. 2Gi")
        return v

    @field_validator("resource_name")
    @classmethod
    def _rname(cls, v: str | None) -> str | None:
        # The stricter shared-plugin rule (no '-') is checked by the plan, which knows the mode.
        if v is not None and not re.fullmatch(r"[a-zA-Z0-9_-]+", v):
            raise ValueError(f"{v!r}: use letters, digits, '_' (and '-' for SR-IOV modes)")
        return v

    @field_validator("resource_prefix")
    @classmethod
    def _rprefix(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", v):
            raise ValueError(f"{v!r} is not a DNS-style prefix, e.g. rdma or nvidia.com")
        return v


class Metadata(_Model):
    name: str = Field(description="network name: the NAD name and the CNI network name")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _name_check(check_dns1123_label, v, "metadata.name")


class Spec(_Model):
    """A TrainingNetwork document."""

    api_version: Literal["dualnet.io/v1alpha1"] = Field(alias="apiVersion")
    kind: Literal["TrainingNetwork"]
    metadata: Metadata
    spec: NetworkSpec = Field(default_factory=NetworkSpec)

    @property
    def name(self) -> str:
        return self.metadata.name


# ------------------------------------------------------------------ loading, errors


def _loc_to_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(document)"


def _allowed_keys(loc: tuple[int | str, ...]) -> list[str] | None:
    """The keys allowed in the object that holds `loc[-1]` (for 'unknown field' messages)."""
    model: type[BaseModel] = Spec
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = next(
            (f for n, f in model.model_fields.items() if part in (n, f.alias)), None
        )
        if field is None:
            return None
        ann = field.annotation
        inner = getattr(ann, "__args__", None)
        candidates = [ann, *(inner or ())]
        sub = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        if sub is None:
            return None
        model = sub
    return sorted((f.alias or n) for n, f in model.model_fields.items())


def _format_error(err: Any) -> str:
    loc: tuple[int | str, ...] = tuple(err.get("loc", ()))
    # pydantic appends the validator kind to the location of union/before errors; drop it
    loc = tuple(p for p in loc if p not in ("function-after", "function-before"))
    path = _loc_to_path(loc)
    kind = err.get("type", "")
    value = err.get("input")
    from dualnet.inputs import plain_message

    msg = plain_message(str(err.get("msg", "invalid")))
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc)
        hint = f"; allowed here: {', '.join(allowed)}" if allowed else ""
        return f"{path}: unknown field{hint}"
    if kind == "missing":
        return f"{path}: required field is missing"
    if isinstance(value, dict | list):
        # a whole section failed a cross-field check: the message names the values involved
        return f"{path}: {msg}"
    return f"{path}: {value!r} is not allowed: {msg}"


def parse_spec(data: Any) -> Spec:
    """Validate a TrainingNetwork document (already parsed YAML/JSON) into a `Spec`."""
    if not isinstance(data, dict):
        raise UsageError(
            f"spec: expected a mapping (apiVersion, kind, metadata, spec), got "
            f"{type(data).__name__}",
            hint=f"start from examples/gh200-shared-roce.yaml; apiVersion {API_VERSION}, "
            f"kind {KIND}",
        )
    try:
        # by_name=False: the document is checked by its camelCase names only, as the schema has
        # them (`rdma_hca_max` is an unknown field there, so it is here too)
        return Spec.model_validate(data, by_alias=True, by_name=False)
    except ValidationError as exc:
        lines = [_format_error(e) for e in exc.errors(include_url=False)]
        raise UsageError(
            "invalid spec: " + ("\n  ".join(lines) if len(lines) > 1 else lines[0]),
            hint="`dualnet schema` prints every field with its allowed values",
        ) from None
    except UsageError:
        raise


def load_spec(path: Path) -> Spec:
    """Read and validate a TrainingNetwork YAML file."""
    from dualnet.inputs import parse_yaml, read_text

    expect = "a TrainingNetwork spec (YAML); see examples/"
    text = read_text(path, what="spec file", expect=expect)
    docs = parse_yaml(text, f"spec file {path}", expect=expect)
    if len(docs) != 1:
        raise UsageError(f"spec file {str(path)!r}: expected exactly one YAML document, "
                         f"found {len(docs)}")
    try:
        return parse_spec(docs[0])
    except UsageError as exc:
        raise UsageError(f"{path}: {exc.message}", hint=exc.hint) from None


# ------------------------------------------------------------------ JSON Schema


def _inline(schema: dict[str, Any], *, keep_null: bool = False) -> dict[str, Any]:
    """Inline $refs and collapse Optional's anyOf[X, null] to X: the structural form a CRD's
    openAPIV3Schema needs (no $ref, no anyOf at the top of a property). With `keep_null` the
    anyOf stays, so the schema accepts `mtu: null` exactly where the loader does."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(n) for n in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target = copy.deepcopy(defs[node["$ref"].split("/")[-1]])
            extra = {k: v for k, v in node.items() if k != "$ref"}
            return walk({**target, **extra})
        if "anyOf" in node and not keep_null:
            options = [o for o in node["anyOf"] if o.get("type") != "null"]
            if len(options) == 1:
                rest = {k: v for k, v in node.items() if k != "anyOf"}
                merged = walk({**options[0], **rest})
                if merged.get("default", 0) is None:
                    merged.pop("default")
                return merged
        out = {k: walk(v) for k, v in node.items() if k not in ("$defs", "title")}
        return out

    return walk(schema)  # type: ignore[no-any-return]


def spec_json_schema() -> dict[str, Any]:
    """JSON Schema of a whole TrainingNetwork document (for editors), refs inlined."""
    schema = _inline(Spec.model_json_schema(by_alias=True), keep_null=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "dualnet TrainingNetwork"
    return schema


def spec_crd_schema() -> dict[str, Any]:
    """Structural openAPIV3 schema of `spec` alone, for embedding in a CRD."""
    schema = _inline(NetworkSpec.model_json_schema(by_alias=True))

    # Structural schemas forbid `additionalProperties` beside `properties`; the API server
    # prunes unknown fields instead.
    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "additionalProperties"}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return strip(schema)  # type: ignore[no-any-return]
