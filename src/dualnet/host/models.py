"""The node model: what one host has, as discovery (sysfs) and the parsers (tool outputs) see it.

Every layer to the right of `host` reads these models and nothing else about a node, so a fact that
a rule or a renderer needs must have a field here. Fields are optional wherever a real source can
lack them: a parser of `ibv_devinfo` knows no PCI address, a tree without `/proc/net/route` knows no
management interface. `None` always means "not known", never "absent"; absence is an empty list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar, Literal

from dualnet.quantity import quantity_count

_DEFAULT_DESTS = frozenset({"0.0.0.0", "0.0.0.0/0", "default", "::/0", "::"})


def doc(text: str) -> dict[str, str]:
    """A field's description, where pydantic's schema of the models finds it."""
    return {"description": text}


class Model:
    """Base for every host model: a plain dataclass, so that discovery, which builds them, runs
    without importing pydantic (two thirds of `dualnet discover`'s cold start). pydantic checks them
    where they cross a boundary (host/schema.py: report files, the CRD schema), strict about
    unknown keys so typos in fixtures fail loudly."""

    __slots__ = ()
    __pydantic_config__: ClassVar[dict[str, str]] = {"extra": "forbid"}


class LinkLayer(StrEnum):
    ETHERNET = "Ethernet"
    INFINIBAND = "InfiniBand"
    UNSPECIFIED = "Unspecified"


class PortState(StrEnum):
    """Logical port state as the kernel's `ports/N/state` and `ibv_devinfo` name it."""

    NOP = "NOP"
    DOWN = "DOWN"
    INIT = "INIT"
    ARMED = "ARMED"
    ACTIVE = "ACTIVE"
    ACTIVE_DEFER = "ACTIVE_DEFER"
    UNKNOWN = "UNKNOWN"


class PhysState(StrEnum):
    """Physical port state (`ports/N/phys_state`, `rdma link` physical_state)."""

    NOP = "NOP"
    SLEEP = "SLEEP"
    POLLING = "POLLING"
    DISABLED = "DISABLED"
    PORT_CONFIGURATION_TRAINING = "PORT_CONFIGURATION_TRAINING"
    LINK_UP = "LINK_UP"
    LINK_ERROR_RECOVERY = "LINK_ERROR_RECOVERY"
    PHY_TEST = "PHY_TEST"
    UNKNOWN = "UNKNOWN"


class PciRelation(StrEnum):
    """GPU<->NIC distance in `nvidia-smi topo -m` terms, nearest first."""

    X = "X"
    PIX = "PIX"
    PXB = "PXB"
    PHB = "PHB"
    NODE = "NODE"
    SYS = "SYS"

    @property
    def rank(self) -> int:
        return list(PciRelation).index(self)


class NetnsMode(StrEnum):
    SHARED = "shared"
    EXCLUSIVE = "exclusive"


@dataclass(kw_only=True, slots=True)
class ReadProblem(Model):
    """Something discovery or a parser could not read; the report still stands without it."""

    path: str = field(metadata=doc("file or source that could not be read"))
    error: str = field(metadata=doc("what went wrong, e.g. 'EINVAL', 'dangling symlink'"))
    kind: Literal["unread", "refused", "skipped"] = field(
        default="unread",
        metadata=doc("unread: not used (unknown name, a second copy); refused: a file dualnet "
        "reads but whose text it could not use at all; skipped: one line of a file that was read"),
    )
    line: int | None = field(default=None, metadata=doc("1-based line of a skipped line"))


@dataclass(kw_only=True, slots=True)
class Gid(Model):
    index: int
    gid: str = field(metadata=doc("GID as the kernel prints it: 8 groups of 4 hex digits"))
    ipv4: str | None = field(default=None, metadata=doc("for IPv4-mapped GIDs, the address"))
    type: str | None = field(default=None, metadata=doc("'IB/RoCE v1', 'RoCE v2', or None on IB"))
    netdev: str | None = None

    @property
    def roce_version(self) -> Literal["v1", "v2"] | None:
        if self.type is None:
            return None
        if self.type.endswith("v2"):
            return "v2"
        if self.type.endswith("v1"):
            return "v1"
        return None


@dataclass(kw_only=True, slots=True)
class RdmaPort(Model):
    number: int
    state: PortState = PortState.UNKNOWN
    state_read: bool = field(
        default=False,
        metadata=doc("a tool printed the state; a printed UNKNOWN is then a fact, not a gap"),
    )
    phys_state: PhysState = PhysState.UNKNOWN
    link_layer: LinkLayer | None = None
    rate: str | None = field(
        default=None, metadata=doc("as sysfs prints it: '400 Gb/sec (4X NDR)'"))
    rate_gbps: float | None = None
    lid: int | None = None
    sm_lid: int | None = None
    netdev: str | None = field(default=None, metadata=doc("netdev behind the port (ibdev2netdev)"))
    netdev_carrier: bool | None = field(
        default=None, metadata=doc("that netdev's carrier (what ibdev2netdev calls Up/Down)"))
    netdev_operstate: str | None = field(default=None, metadata=doc("that netdev's operstate"))
    netdev_mtu: int | None = field(
        default=None, metadata=doc("MTU of a netdev no PCI function lists (Soft-RoCE on a veth, "
        "macvlan or vlan); a NIC's netdev has its MTU in nics[]"))
    max_mtu: int | None = field(default=None, metadata=doc("RDMA MTU in bytes (256..4096)"))
    active_mtu: int | None = field(
        default=None,
        metadata=doc("RDMA MTU in bytes; on RoCE the largest IB MTU that fits the netdev MTU"),
    )
    gids: list[Gid] = field(default_factory=list)
    roce_v2_ipv4_gid_index: int | None = field(
        default=None, metadata=doc("lowest GID index of type RoCE v2 with an IPv4-mapped GID")
    )


@dataclass(kw_only=True, slots=True)
class RdmaDevice(Model):
    name: str
    pci_address: str | None = None
    driver: str | None = field(default=None, metadata=doc("RDMA provider, e.g. mlx5_ib, rxe"))
    node_type: str | None = None
    fw_ver: str | None = None
    node_guid: str | None = None
    sys_image_guid: str | None = None
    hca_type: str | None = None
    board_id: str | None = None
    part_number: str | None = field(default=None, metadata=doc("PN from the function's PCI VPD"))
    product_name: str | None = field(
        default=None, metadata=doc("Identifier String from the function's PCI VPD"))
    vendor_part_id: int | None = field(default=None, metadata=doc("PCI device id, decimal"))
    netdevs: list[str] = field(default_factory=list)
    ports: list[RdmaPort] = field(default_factory=list)
    char_devices: list[str] = field(
        default_factory=list,
        metadata=doc("/dev/infiniband nodes of this device: uverbsN, umadN, issmN"),
    )


@dataclass(kw_only=True, slots=True)
class Nic(Model):
    pci_address: str
    pci_path: list[str] | None = field(
        default=None,
        metadata=doc("PCI bridges above the function, root port first, as `lspci -PP` prints "
        "them: ['0000:00:01.0', '0000:01:00.0']; [] on the root bus; None when not known"),
    )
    vendor_id: str = field(metadata=doc("lowercase hex, 4 digits, no 0x: '15b3'"))
    device_id: str = field(metadata=doc("lowercase hex, 4 digits, no 0x: '1021'"))
    pci_class: str | None = field(default=None, metadata=doc("'0x020000' Ethernet, '0x020700' IB"))
    model: str | None = field(default=None, metadata=doc("'ConnectX-7', 'ConnectX Family VF', ..."))
    driver: str | None = None
    is_vf: bool = False
    pf_pci_address: str | None = None
    vf_index: int | None = None
    netdev: str | None = field(default=None, metadata=doc("first netdev of the function"))
    netdevs: list[str] = field(default_factory=list)
    mac: str | None = None
    mtu: int | None = None
    operstate: str | None = None
    speed_mbps: int | None = None
    link_type: Literal["ether", "infiniband"] | None = None
    numa_node: int | None = None
    sriov_totalvfs: int | None = None
    sriov_numvfs: int | None = None
    vfs: list[str] = field(default_factory=list, metadata=doc("PCI addresses of enabled VFs"))
    rdma_devices: list[str] = field(default_factory=list)


@dataclass(kw_only=True, slots=True)
class KernelModule(Model):
    name: str
    loaded: bool
    builtin: bool = False
    refcount: int | None = None
    used_by: list[str] = field(default_factory=list)


@dataclass(kw_only=True, slots=True)
class Gpu(Model):
    index: int = field(metadata=doc("GPU<i> in `nvidia-smi topo -m` order (PCI address order)"))
    pci_address: str | None = None
    vendor_id: str = "10de"
    device_id: str | None = None
    name: str | None = None
    numa_node: int | None = None
    local_cpulist: str | None = None
    pci_path: list[str] | None = field(
        default=None,
        metadata=doc("PCI bridges above the function, root port first, as `lspci -PP` prints "
        "them: ['0000:00:01.0', '0000:01:00.0']; [] on the root bus; None when not known"),
    )


@dataclass(kw_only=True, slots=True)
class TopoEntry(Model):
    gpu: str = field(metadata=doc("'GPU0'"))
    nic: str = field(metadata=doc("RDMA device name, 'mlx5_0'"))
    relation: PciRelation


@dataclass(kw_only=True, slots=True)
class PciPair(Model):
    """PCI relation between two devices of the same kind (GPU x GPU, NIC x NIC), for the topo
    matrix; GPU x NIC pairs are in `HostReport.topology`."""

    a: str = field(metadata=doc("'GPU0' or an RDMA device name"))
    b: str
    relation: PciRelation


@dataclass(kw_only=True, slots=True)
class Route(Model):
    interface: str
    destination: str
    gateway: str | None = None
    mask: str | None = None

    @property
    def is_default(self) -> bool:
        return self.destination in _DEFAULT_DESTS


@dataclass(kw_only=True, slots=True)
class ManagementInterface(Model):
    name: str = field(metadata=doc("interface that holds the default route"))
    addresses: list[str] = field(default_factory=list, metadata=doc("CIDRs, e.g. 66.42.90.253/23"))
    gateway: str | None = None


@dataclass(kw_only=True, slots=True)
class Hugepages(Model):
    size_kb: int
    total: int
    free: int | None = None


@dataclass(kw_only=True, slots=True)
class CniConfigFile(Model):
    name: str
    kind: Literal["conf", "conflist", "json"]
    network_name: str | None = None
    plugin_types: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass(kw_only=True, slots=True)
class CniState(Model):
    bin_dirs: list[str] = field(default_factory=list, metadata=doc("directories searched"))
    plugins: list[str] = field(default_factory=list, metadata=doc("binary names found"))
    conf_dir: str | None = None
    conf_files: list[CniConfigFile] = field(
        default_factory=list, metadata=doc("in the order the kubelet reads them (lexical)")
    )
    k3s_flannel_builtin: bool | None = field(
        default=None, metadata=doc("k3s's own flannel config is present (k3s CNI dirs)")
    )


@dataclass(kw_only=True, slots=True)
class KubeNode(Model):
    """What `kubectl describe node` / `kubectl get node -o yaml|json` said about the node.

    Quantities are kept as printed ("8", "1k", "131747876Ki"); `amount` reads them the way
    Kubernetes does.
    """

    name: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    capacity: dict[str, str] = field(default_factory=dict)
    allocatable: dict[str, str] = field(default_factory=dict)
    allocated: dict[str, str] = field(
        default_factory=dict, metadata=doc("requests of `Allocated resources` (describe only)")
    )
    unnamed: dict[str, str] = field(
        default_factory=dict,
        metadata=doc("a resource map pasted without its section name (`jq .status.capacity`)"),
    )
    conditions: dict[str, str] = field(
        default_factory=dict, metadata=doc("condition type -> status ('Ready' -> 'True')")
    )

    def amount(self, section: Literal["capacity", "allocatable", "unnamed"], resource: str
               ) -> int | None:
        """Whole units of `resource` in `section`; None when not printed or not a quantity."""
        raw = getattr(self, section).get(resource)
        return quantity_count(raw) if raw is not None else None


@dataclass(kw_only=True, slots=True)
class Eswitch(Model):
    """The embedded switch of one PF (devlink `eswitch mode`), as far as the facts show it."""

    pf_pci_address: str
    uplink_netdev: str | None = field(default=None, metadata=doc("PF netdev (uplink representor)"))
    mode: Literal["legacy", "switchdev"] | None = field(
        default=None, metadata=doc("None: not known from the facts given")
    )
    mode_source: str | None = field(
        default=None,
        metadata=doc("how the mode was learnt: 'compat/devlink/mode' (MOFED), 'representors', "
        "'VFs without representors', 'devlink dev eswitch show'"),
    )
    switch_id: str | None = field(default=None, metadata=doc("phys_switch_id of the uplink"))
    hw_tc_offload: bool | None = field(
        default=None,
        metadata=doc("ethtool feature `hw-tc-offload` of the uplink; sysfs does not show ethtool "
        "features, so discovery leaves it None (unknown)"),
    )


@dataclass(kw_only=True, slots=True)
class Representor(Model):
    """An eswitch port netdev (`phys_port_name` pfNvfM / pfNsfM / pfN / pN)."""

    netdev: str
    flavour: Literal["physical", "pcipf", "pcivf", "pcisf"]
    pf_pci_address: str | None = field(default=None, metadata=doc("PCI function it hangs under"))
    controller: int | None = field(default=None, metadata=doc("external controller (cN prefix)"))
    pfnum: int | None = None
    vfnum: int | None = None
    sfnum: int | None = None
    port: int | None = field(default=None, metadata=doc("physical port number (pN)"))
    vf_pci_address: str | None = field(default=None, metadata=doc("the VF it represents"))
    operstate: str | None = None
    switch_id: str | None = None


@dataclass(kw_only=True, slots=True)
class ScalableFunction(Model):
    """An mlx5 subfunction: auxiliary device `mlx5_core.sf.N` under its parent PF."""

    name: str = field(metadata=doc("auxiliary device name, 'mlx5_core.sf.4'"))
    sfnum: int | None = field(default=None, metadata=doc("user-given SF number (sysfs `sfnum`)"))
    pf_pci_address: str | None = None
    netdevs: list[str] = field(default_factory=list)
    rdma_devices: list[str] = field(default_factory=list)


@dataclass(kw_only=True, slots=True)
class DraDevice(Model):
    """One device a DRA driver published in a ResourceSlice (`kubectl get resourceslices`)."""

    driver: str
    node: str | None = field(default=None, metadata=doc("spec.nodeName of its slice"))
    name: str
    attributes: dict[str, str | int | bool] = field(
        default_factory=dict,
        metadata=doc("attribute -> value, the driver's own domain dropped ('dra.net/rdma' -> "
        "'rdma'); other domains kept qualified"),
    )


@dataclass(kw_only=True, slots=True)
class PluginSelector(Model):
    """One selector object of a device plugin's resource, as its config.json writes it (the
    SR-IOV network device plugin's NetDeviceSelectors, the RDMA shared device plugin's
    Selectors); an empty list selects on nothing. Both plugins AND the non-empty ones."""

    vendors: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list, metadata=doc("`devices` / `deviceIDs`"))
    drivers: list[str] = field(default_factory=list)
    pci_addresses: list[str] = field(default_factory=list)
    pf_names: list[str] = field(default_factory=list, metadata=doc("'ens1f0' or 'ens1f0#0-3'"))
    root_devices: list[str] = field(default_factory=list, metadata=doc("PF PCI address[#range]"))
    link_types: list[str] = field(default_factory=list, metadata=doc("'ether', 'infiniband'"))
    if_names: list[str] = field(default_factory=list, metadata=doc("shared plugin only"))
    is_rdma: bool = False


PluginName = Literal["sriov-network-device-plugin", "rdma-shared-device-plugin"]


@dataclass(kw_only=True, slots=True)
class DevicePluginResource(Model):
    """One resource a device plugin advertises, read from its config (the `sriovdp-config` or
    `rdma-devices` ConfigMap, a NicClusterPolicy, or a rendered copy of them)."""

    plugin: PluginName
    resource_name: str = field(metadata=doc("the extended resource, '<prefix>/<name>'"))
    selectors: list[PluginSelector] = field(
        default_factory=list, metadata=doc("a device matching any one of them is advertised")
    )
    source: str | None = field(default=None, metadata=doc("where it was read"))


@dataclass(kw_only=True, slots=True)
class DraFacts(Model):
    """What a Dynamic Resource Allocation driver such as dranet needs from the node and its
    cluster; every field None when nobody read it."""

    api_versions: list[str] | None = field(
        default=None,
        metadata=doc("group/versions the API server serves (`kubectl api-resources`, "
        "`kubectl get --raw /apis`), e.g. 'resource.k8s.io/v1'"),
    )
    nri_socket: str | None = field(
        default=None, metadata=doc("the container runtime's NRI socket that was found")
    )
    nri_socket_present: bool | None = field(
        default=None, metadata=doc("False: looked for and absent; None: not looked for")
    )
    devices: list[DraDevice] | None = field(
        default=None, metadata=doc("devices the ResourceSlices publish; None: not read")
    )


@dataclass(kw_only=True, slots=True)
class HostReport(Model):
    """Everything dualnet knows about one node."""

    hostname: str | None = None
    root: str | None = field(default=None, metadata=doc("filesystem root it was read from"))
    source: Literal["sysfs", "tool-outputs", "synthetic"] = "sysfs"
    kernel: str | None = None
    arch: str | None = None
    nics: list[Nic] = field(default_factory=list)
    rdma_devices: list[RdmaDevice] = field(default_factory=list)
    modules: list[KernelModule] = field(default_factory=list)
    netns_mode: NetnsMode | None = None
    gpus: list[Gpu] = field(default_factory=list)
    topology: list[TopoEntry] = field(default_factory=list)
    pci_pairs: list[PciPair] = field(
        default_factory=list, metadata=doc("GPU x GPU and NIC x NIC PCI relations (a < b)")
    )
    infiniband_char_devices: list[str] = field(
        default_factory=list, metadata=doc("names under /dev/infiniband (uverbs0, rdma_cm, ...)")
    )
    management: ManagementInterface | None = None
    routes: list[Route] = field(default_factory=list)
    hugepages: list[Hugepages] = field(default_factory=list)
    memlock_kb: int | None = field(default=None, metadata=doc("RLIMIT_MEMLOCK soft, None=unknown"))
    cni: CniState | None = None
    rdma_devices_listed: bool = field(
        default=False,
        metadata=doc("a tool listed the RDMA devices (ibv_devinfo said 'No IB devices found', "
        "say), so an empty rdma_devices means none rather than not read"),
    )
    verbs_messages: list[str] = field(
        default_factory=list, metadata=doc("libibverbs warnings printed with ibv_devinfo/devices")
    )
    kubernetes_node: KubeNode | None = None
    eswitches: list[Eswitch] = field(
        default_factory=list, metadata=doc("one per PF whose eswitch facts were seen")
    )
    representors: list[Representor] = field(default_factory=list)
    scalable_functions: list[ScalableFunction] = field(default_factory=list)
    dra: DraFacts = field(default_factory=DraFacts)
    device_plugins: list[DevicePluginResource] | None = field(
        default=None,
        metadata=doc("the device plugins' resources configured for the node; None: not read"),
    )
    problems: list[ReadProblem] = field(default_factory=list)

    # Small lookups used by every consumer; kept here so no layer re-implements them.
    def module(self, name: str) -> KernelModule | None:
        return next((m for m in self.modules if m.name == name), None)

    def module_loaded(self, name: str) -> bool:
        m = self.module(name)
        return m is not None and (m.loaded or m.builtin)

    def nic_by_netdev(self, netdev: str) -> Nic | None:
        return next((n for n in self.nics if netdev in n.netdevs or n.netdev == netdev), None)

    def default_route_netdevs(self) -> set[str]:
        """The interfaces that carry a default route (and the management interface)."""
        names = {r.interface for r in self.routes if r.is_default}
        if self.management is not None:
            names.add(self.management.name)
        return names

    def nic_by_pci(self, pci_address: str) -> Nic | None:
        return next((n for n in self.nics if n.pci_address == pci_address), None)

    def eswitch(self, pf_pci_address: str) -> Eswitch | None:
        return next((e for e in self.eswitches if e.pf_pci_address == pf_pci_address), None)

    def rdma_device(self, name: str) -> RdmaDevice | None:
        return next((d for d in self.rdma_devices if d.name == name), None)

    def rdma_for_netdev(self, netdev: str) -> RdmaDevice | None:
        for dev in self.rdma_devices:
            if netdev in dev.netdevs or any(p.netdev == netdev for p in dev.ports):
                return dev
        return None
