"""The NCCL environment a training pod needs, derived from one node's facts (HostReport).

Pure (host facts + choice -> env), so it lives in the plan layer: render formats the bench/test
pods' NCCL_IB_HCA and NCCL_SOCKET_IFNAME with the same helpers, verify and the CLI call
`nccl_settings`.

- NCCL_IB_HCA: the RDMA devices (and ACTIVE ports) on the training network, with the `=` prefix
  so `mlx5_1` does not also match `mlx5_10`; never the device behind the management interface.
- NCCL_IB_GID_INDEX: the RoCE v2 GID with an IPv4-mapped address (RoCE only; InfiniBand uses
  LIDs). NCCL takes one index for all HCAs, so differing indexes are reported and NCCL is told to
  pick the GID itself (NCCL_IB_ROCE_VERSION_NUM=2, NCCL_IB_ADDR_FAMILY=AF_INET) instead.
- NCCL_SOCKET_IFNAME: the interface for NCCL's bootstrap/socket traffic (eth0 in the pod).
- NCCL_NET_GDR_LEVEL: set only where GPUDirect RDMA applies: nvidia_peermem loaded and every
  chosen HCA at PIX/PXB distance from a GPU.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from dualnet.errors import FindingError, UsageError
from dualnet.host.models import HostReport, LinkLayer, PciRelation, PortState, RdmaDevice
from dualnet.names import check_ifname

PEERMEM_MODULES = ("nvidia_peermem", "nv_peer_mem")
# the pod's cluster-network interface: NCCL's bootstrap/socket traffic goes there, RDMA over net1
SOCKET_IFNAME = "eth0"


def ib_hca_value(hcas: list[str]) -> str:
    """NCCL_IB_HCA for `hcas` (`mlx5_0` or `mlx5_0:1`): `=` makes NCCL match the names exactly,
    where a bare `mlx5_1` would also select mlx5_10..mlx5_19 (NCCL matches prefixes)."""
    return "=" + ",".join(hcas)


class NcclSettings(BaseModel):
    env: dict[str, str]
    hcas: list[str] = Field(default_factory=list, description="device:port chosen")
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


def nccl_settings(
    report: HostReport,
    training_netdevs: list[str] | None = None,
    socket_ifname: str = SOCKET_IFNAME,
) -> NcclSettings:
    check_ifname(socket_ifname, field="socket interface")
    mgmt = _management_devices(report)
    mgmt_if = report.management.name if report.management else None
    warnings: list[str] = []
    notes: list[str] = []

    if training_netdevs:
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
    else:
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
    if roce:
        indexes: dict[str, int | None] = {}
        for d, p in roce:
            port = next(pt for pt in d.ports if pt.number == p)
            indexes[f"{d.name}:{p}"] = port.roce_v2_ipv4_gid_index
        distinct = {i for i in indexes.values() if i is not None}
        missing = [k for k, v in indexes.items() if v is None]
        if len(distinct) == 1 and not missing:
            env["NCCL_IB_GID_INDEX"] = str(distinct.pop())
            notes.append(f"NCCL_IB_GID_INDEX: RoCE v2 IPv4 GID index on {', '.join(indexes)}")
        else:
            if len(distinct) > 1:
                shown = ", ".join(f"{k}={v}" for k, v in indexes.items())
                warnings.append(f"RoCE v2 IPv4 GID index differs across HCAs ({shown}); one "
                                "NCCL_IB_GID_INDEX cannot fit all, so NCCL selects it itself")
            if missing:
                warnings.append(
                    f"no RoCE v2 IPv4 GID on {', '.join(missing)} (no IPv4 address on its "
                    "netdev on the host; with macvlan the pod's own address adds the GID), so "
                    "NCCL selects it itself")
            env["NCCL_IB_ROCE_VERSION_NUM"] = "2"
            env["NCCL_IB_ADDR_FAMILY"] = "AF_INET"

    if report.gpus:
        peermem = any(report.module_loaded(m) for m in PEERMEM_MODULES)
        nearest: list[PciRelation] = []
        for d, _ in chosen:
            rels = [t.relation for t in report.topology if t.nic == d.name]
            if rels:
                nearest.append(min(rels, key=lambda r: r.rank))
        if not peermem:
            warnings.append("GPUDirect RDMA off: nvidia_peermem is not loaded (modprobe "
                            "nvidia_peermem), NCCL copies through host memory")
        elif len(nearest) < len(chosen):
            warnings.append("GPUDirect RDMA level not set: no GPU<->NIC topology for every HCA")
        elif all(r in (PciRelation.PIX, PciRelation.PXB) for r in nearest):
            worst = max(nearest, key=lambda r: r.rank)
            env["NCCL_NET_GDR_LEVEL"] = worst.value
            notes.append(f"NCCL_NET_GDR_LEVEL: peermem loaded, HCAs at {worst.value} from a GPU")
        else:
            worst = max(nearest, key=lambda r: r.rank)
            warnings.append(f"GPUDirect RDMA level not set: an HCA is at {worst.value} from the "
                            "nearest GPU (PIX/PXB needed); NCCL decides by its defaults")
    return NcclSettings(env=env, hcas=hcas, warnings=warnings, notes=notes)


def derive_nccl_env(
    report: HostReport,
    training_netdevs: list[str] | None = None,
    socket_ifname: str = SOCKET_IFNAME,
) -> dict[str, str]:
    """NCCL_* variables for a training pod on a node like `report` (see module docstring)."""
    return nccl_settings(report, training_netdevs, socket_ifname).env


def format_env(env: dict[str, str]) -> str:
    """`KEY=value` lines, shell-safe for the values NCCL takes."""
    return "".join(f"{k}={v}\n" for k, v in env.items())
