"""The NCCL environment a training pod needs, derived from one node's facts (HostReport).

Pure (host facts + choice -> env), so it lives in the plan layer: render formats the bench/test
pods' NCCL_IB_HCA and NCCL_SOCKET_IFNAME with the same helpers, verify and the CLI call
`nccl_settings`.

- NCCL_IB_HCA: the RDMA devices (and ACTIVE ports) on the training network, with the `=` prefix
  so `mlx5_1` does not also match `mlx5_10`; never the device behind the management interface.
- NCCL_IB_GID_INDEX: the RoCE v2 GID with an IPv4-mapped address (RoCE only; InfiniBand uses
  LIDs). A node-wide index is right only where the pod owns the whole GID table (host-device,
  SR-IOV VF). In shared mode (macvlan/ipvlan on a shared RDMA device) the master's table holds one
  GID per pod, so the index follows the pod's own net1 address: the pod's entrypoint helper
  (`dualnet-pod nccl-exec`, see `render/podhelper.py`) reads its net1 address and its GID index
  from /sys/class/infiniband and exports NCCL_IB_GID_INDEX (honoured by every NCCL version) with
  NCCL_IB_ADDR_FAMILY=AF_INET and NCCL_IB_ADDR_RANGE=<net1 IP>/32 (NCCL >= 2.21.5, whose GID
  auto-selection filters by that range). `pod_nccl_env` is the same derivation in Python.
- NCCL_SOCKET_IFNAME: the interface for NCCL's bootstrap/socket traffic (eth0 in the pod).
- NCCL_NET_GDR_LEVEL: set only where GPUDirect RDMA applies: nvidia_peermem loaded and every
  chosen HCA at PIX/PXB distance from a GPU (PHB and beyond cross the CPU's root complex, where
  NCCL rightly keeps GDR off by default).
- Grace (GH200, GB200): GPU<->NIC goes through NVLink-C2C, so nvidia-smi reports NODE/SYS even for
  the NIC beside the GPU. NICs are picked by NUMA node there, and NCCL_NET_GDR_C2C=1 allows
  GPUDirect over C2C (introduced in NCCL 2.26.2 with default 0; default 1 since 2.27.3).
- TC/SL/QPS (NCCL_IB_TC, NCCL_IB_SL, NCCL_IB_QPS_PER_CONNECTION) are never derived: they come
  from the fabric's QoS design, so only the spec can set them (`extra`).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from dualnet.errors import FindingError, UsageError
from dualnet.host.models import Gid, HostReport, LinkLayer, PciRelation, PortState, RdmaDevice
from dualnet.host.roce import pod_roce_v2_gid
from dualnet.modes import Mode
from dualnet.names import check_ifname
from dualnet.spec import NcclQos

PEERMEM_MODULES = ("nvidia_peermem", "nv_peer_mem")
# the pod's cluster-network interface: NCCL's bootstrap/socket traffic goes there, RDMA over net1
SOCKET_IFNAME = "eth0"
# the pod owns the whole GID table of its RDMA device here, so the host's index is the pod's
NODE_WIDE_GID_MODES = frozenset({Mode.HOST_DEVICE, Mode.SRIOV})
# set only from the spec: they follow the fabric's QoS design, which no node fact reveals
SPEC_ONLY_KNOBS = ("NCCL_IB_TC", "NCCL_IB_SL", "NCCL_IB_QPS_PER_CONNECTION")
GRACE_GPUS = ("GH200", "GB200")
# NCCL_NET_GDR_C2C: read since 2.26.2 (default 0), default 1 since 2.27.3 (src/graph/paths.cc)
GDR_C2C_SINCE = "2.26.2"
# NCCL_IB_ADDR_FAMILY/NCCL_IB_ADDR_RANGE and NCCL_IB_GID_INDEX=-1 (auto) since 2.21.5
ADDR_RANGE_SINCE = "2.21.5"


def ib_hca_value(hcas: list[str]) -> str:
    """NCCL_IB_HCA for `hcas` (`mlx5_0` or `mlx5_0:1`): `=` makes NCCL match the names exactly,
    where a bare `mlx5_1` would also select mlx5_10..mlx5_19 (NCCL matches prefixes)."""
    return "=" + ",".join(hcas)


class NcclSettings(BaseModel):
    env: dict[str, str]
    hcas: list[str] = Field(default_factory=list, description="device:port chosen")
    per_pod_gid: bool = Field(default=False, description="RoCE GID chosen per pod by the helper")
    warnings: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="why each value was chosen")


def _management_devices(report: HostReport) -> set[str]:
    if report.management is None:
        return set()
    dev = report.rdma_for_netdev(report.management.name)
    return {dev.name} if dev is not None else set()


def _is_vf(report: HostReport, dev: RdmaDevice) -> bool:
    nic = report.nic_by_pci(dev.pci_address) if dev.pci_address else None
    if nic is None and dev.netdevs:
        nic = report.nic_by_netdev(dev.netdevs[0])
    return nic is not None and nic.is_vf


def _has_active(dev: RdmaDevice, layer: LinkLayer) -> bool:
    return any(p.state is PortState.ACTIVE and p.link_layer is layer for p in dev.ports)


def is_grace(report: HostReport) -> bool:
    """GPUs of a Grace superchip (GH200, GB200): GPU and CPU joined by NVLink-C2C."""
    return any(any(g in (gpu.name or "") for g in GRACE_GPUS) for gpu in report.gpus)


def _numa_of(report: HostReport, dev: RdmaDevice) -> int | None:
    nic = report.nic_by_pci(dev.pci_address) if dev.pci_address else None
    if nic is None and dev.netdevs:
        nic = report.nic_by_netdev(dev.netdevs[0])
    return nic.numa_node if nic is not None else None


def _auto_devices(report: HostReport, mgmt: set[str], mgmt_if: str | None,
                  notes: list[str]) -> list[RdmaDevice]:
    devices = [d for d in report.rdma_devices if d.name not in mgmt]
    if mgmt:
        notes.append(f"left out {', '.join(sorted(mgmt))}: it carries the management "
                     f"interface {mgmt_if}")
    vfs = [d for d in devices if _is_vf(report, d)]
    if vfs:
        # VFs are handed to pods one by one by the SR-IOV device plugin; the pod's own
        # device, not the host's list, is what NCCL sees there
        devices = [d for d in devices if d not in vfs]
        notes.append(f"left out {len(vfs)} VF RDMA device(s): they belong to pods")
    ib = [d for d in devices if _has_active(d, LinkLayer.INFINIBAND)]
    eth = [d for d in devices if _has_active(d, LinkLayer.ETHERNET)]
    if ib and eth:
        # an InfiniBand fabric next to Ethernet ports: the IB fabric is the training network,
        # the Ethernet RDMA ports are storage or front-end links
        devices = ib
        notes.append(f"left out Ethernet RDMA ports {', '.join(d.name for d in eth)}: the "
                     "InfiniBand ports form the training fabric (name interfaces to override)")
    if is_grace(report):
        # nvidia-smi says NODE/SYS for every NIC on Grace, so PCI distance cannot pick; the NUMA
        # node of the GPU (its Grace CPU) can
        gpu_numa = {g.numa_node for g in report.gpus if g.numa_node is not None}
        local = [d for d in devices if _numa_of(report, d) in gpu_numa]
        if local and len(local) < len(devices):
            far = [d.name for d in devices if d not in local]
            notes.append(f"left out {', '.join(far)}: on another NUMA node than the GPUs "
                         "(Grace: NICs are picked by NUMA node)")
            devices = local
    return devices


def _named_devices(report: HostReport, training_netdevs: list[str], mgmt_if: str | None,
                   warnings: list[str]) -> list[RdmaDevice]:
    for nd in training_netdevs:
        check_ifname(nd, field="training interface")
    if mgmt_if and mgmt_if in training_netdevs:
        # Named on purpose: the guide's single-port test setup shares one wire between eth0
        # and net1. Allowed, never chosen automatically, and said loudly.
        warnings.append(
            f"training interface {mgmt_if} is also the management interface (it holds the "
            "default route): NCCL traffic shares the wire with the node's own traffic; fine "
            "for a test as in the guide, use a dedicated port in production"
        )
    devices: list[RdmaDevice] = []
    for nd in training_netdevs:
        dev = report.rdma_for_netdev(nd)
        if dev is None:
            known = ", ".join(n for d in report.rdma_devices for n in d.netdevs) or "none"
            raise UsageError(f"training interface {nd!r} has no RDMA device on this node",
                             hint=f"interfaces with an RDMA device: {known}")
        if dev not in devices:
            devices.append(dev)
    return devices


def _roce_env(roce: list[tuple[RdmaDevice, int]], mode: Mode | None, env: dict[str, str],
              warnings: list[str], notes: list[str]) -> bool:
    """RoCE GID settings; True when the GID is left to the pod's helper (per pod)."""
    if mode not in NODE_WIDE_GID_MODES:
        env["NCCL_IB_ROCE_VERSION_NUM"] = "2"
        env["NCCL_IB_ADDR_FAMILY"] = "AF_INET"
        notes.append(
            "NCCL_IB_GID_INDEX and NCCL_IB_ADDR_RANGE: per pod, from the pod's own net1 address "
            "(shared mode: the device's GID table holds one GID per pod, so no node-wide index "
            "fits them all); the pod's entrypoint helper `dualnet-pod nccl-exec` sets them")
        return True
    indexes: dict[str, int | None] = {}
    for d, p in roce:
        port = next(pt for pt in d.ports if pt.number == p)
        indexes[f"{d.name}:{p}"] = port.roce_v2_ipv4_gid_index
    distinct = {i for i in indexes.values() if i is not None}
    missing = [k for k, v in indexes.items() if v is None]
    if len(distinct) == 1 and not missing:
        env["NCCL_IB_GID_INDEX"] = str(distinct.pop())
        notes.append(f"NCCL_IB_GID_INDEX: RoCE v2 IPv4 GID index on {', '.join(indexes)} "
                     f"({mode}: the pod owns the device's whole GID table)")
        return False
    if len(distinct) > 1:
        shown = ", ".join(f"{k}={v}" for k, v in indexes.items())
        warnings.append(f"RoCE v2 IPv4 GID index differs across HCAs ({shown}); one "
                        "NCCL_IB_GID_INDEX cannot fit all, so NCCL selects it itself")
    if missing:
        warnings.append(
            f"no RoCE v2 IPv4 GID on {', '.join(missing)} (no IPv4 address on its "
            "netdev on the host), so NCCL selects it itself")
    env["NCCL_IB_ROCE_VERSION_NUM"] = "2"
    env["NCCL_IB_ADDR_FAMILY"] = "AF_INET"
    return False


def _gdr_env(report: HostReport, chosen: list[tuple[RdmaDevice, int]], env: dict[str, str],
             warnings: list[str], notes: list[str]) -> None:
    peermem = any(report.module_loaded(m) for m in PEERMEM_MODULES)
    if not peermem:
        warnings.append("GPUDirect RDMA off: nvidia_peermem is not loaded (modprobe "
                        "nvidia_peermem), NCCL copies through host memory")
        return
    if is_grace(report):
        gpu_numa = {g.numa_node for g in report.gpus if g.numa_node is not None}
        far = [d.name for d, _ in chosen if _numa_of(report, d) not in gpu_numa]
        if far:
            warnings.append(f"GPUDirect RDMA over C2C not set: {', '.join(far)} not on a GPU's "
                            "NUMA node")
            return
        env["NCCL_NET_GDR_C2C"] = "1"
        notes.append(f"NCCL_NET_GDR_C2C: Grace, peermem loaded, HCAs on the GPUs' NUMA node; "
                     f"read by NCCL >= {GDR_C2C_SINCE} (older NCCL keeps GDR off over C2C)")
        return
    nearest: list[PciRelation] = []
    for d, _ in chosen:
        rels = [t.relation for t in report.topology if t.nic == d.name]
        if rels:
            nearest.append(min(rels, key=lambda r: r.rank))
    if len(nearest) < len(chosen):
        warnings.append("GPUDirect RDMA level not set: no GPU<->NIC topology for every HCA")
        return
    worst = max(nearest, key=lambda r: r.rank)
    if worst in (PciRelation.PIX, PciRelation.PXB):
        env["NCCL_NET_GDR_LEVEL"] = worst.value
        notes.append(f"NCCL_NET_GDR_LEVEL: peermem loaded, HCAs at {worst.value} from a GPU")
    else:
        warnings.append(f"GPUDirect RDMA level not set: an HCA is at {worst.value} from the "
                        "nearest GPU (PIX/PXB needed); NCCL decides by its defaults")


def nccl_settings(
    report: HostReport,
    training_netdevs: list[str] | None = None,
    socket_ifname: str = SOCKET_IFNAME,
    mode: Mode | None = None,
) -> NcclSettings:
    """NCCL_* for a training pod on a node like `report`, in network `mode` (None: unknown,
    treated as shared, where the RoCE GID is a per-pod fact)."""
    check_ifname(socket_ifname, field="socket interface")
    mgmt = _management_devices(report)
    mgmt_if = report.management.name if report.management else None
    warnings: list[str] = []
    notes: list[str] = []
    if training_netdevs:
        devices = _named_devices(report, training_netdevs, mgmt_if, warnings)
    else:
        devices = _auto_devices(report, mgmt, mgmt_if, notes)

    chosen: list[tuple[RdmaDevice, int]] = []
    for dev in devices:
        for port in dev.ports:
            if port.state is PortState.ACTIVE:
                chosen.append((dev, port.number))
            elif training_netdevs:
                warnings.append(f"{dev.name} port {port.number} is {port.state.value}, not used")
    if not chosen:
        considered = ", ".join(d.name for d in devices) or "none"
        raise FindingError(
            f"no RDMA port on the training network is ACTIVE (considered: {considered}; "
            f"management device left out: {', '.join(sorted(mgmt)) or 'none'})",
            hint="cable/enable a training port, or name its interface with --training-netdev "
            "(or give the spec with --spec: its selected interfaces)",
        )
    hcas = [f"{d.name}:{p}" for d, p in chosen]
    env: dict[str, str] = {"NCCL_IB_HCA": ib_hca_value(hcas), "NCCL_SOCKET_IFNAME": socket_ifname}
    notes.append(f"NCCL_IB_HCA: ACTIVE ports on the training network: {', '.join(hcas)}")

    roce = [(d, p) for d, p in chosen
            if next(pt for pt in d.ports if pt.number == p).link_layer is LinkLayer.ETHERNET]
    per_pod = _roce_env(roce, mode, env, warnings, notes) if roce else False
    if report.gpus:
        _gdr_env(report, chosen, env, warnings, notes)
    return NcclSettings(env=env, hcas=hcas, per_pod_gid=per_pod, warnings=warnings, notes=notes)


def pod_nccl_env(gids: list[Gid], address: str, netdev: str = "net1") -> dict[str, str]:
    """What the pod's entrypoint helper exports in shared mode, for a pod whose `netdev` holds
    `address`, given its device's GID table (the same derivation as `render/podhelper.py`'s
    script; a test runs both on the same trees)."""
    gid = pod_roce_v2_gid(gids, address, netdev)
    if gid is None:
        raise UsageError(
            f"no RoCE v2 GID holds {netdev}'s address {address}",
            hint="the kernel adds it when the address is set on an interface whose lower device "
            "is the RDMA port; check that the NAD's master is that port's netdev")
    return {"NCCL_IB_GID_INDEX": str(gid.index), "NCCL_IB_ROCE_VERSION_NUM": "2",
            "NCCL_IB_ADDR_FAMILY": "AF_INET", "NCCL_IB_ADDR_RANGE": f"{address}/32"}


def qos_env(qos: NcclQos) -> dict[str, str]:
    """NCCL_IB_TC/SL/QPS_PER_CONNECTION exactly as the spec sets them, nothing when unset."""
    values = {"NCCL_IB_TC": qos.traffic_class, "NCCL_IB_SL": qos.service_level,
              "NCCL_IB_QPS_PER_CONNECTION": qos.qps_per_connection}
    return {k: str(v) for k, v in values.items() if v is not None}


def format_env(env: dict[str, str]) -> str:
    """`KEY=value` lines, shell-safe for the values NCCL takes."""
    return "".join(f"{k}={v}\n" for k, v in env.items())
