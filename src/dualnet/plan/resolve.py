"""Which ports of one host the spec selects, turned into `ResolvedNic`s (pure)."""

from __future__ import annotations

from dualnet.errors import UsageError
from dualnet.host.models import HostReport, LinkLayer, Nic, RdmaDevice
from dualnet.host.pciids import mlx_vf_id
from dualnet.plan.model import ResolvedNic
from dualnet.spec import NicSelection


def hostname_of(host: HostReport, index: int) -> str:
    return host.hostname or f"host{index}"


def _rdma_of(host: HostReport, nic: Nic) -> RdmaDevice | None:
    for name in nic.rdma_devices:
        dev = host.rdma_device(name)
        if dev is not None:
            return dev
    for netdev in [nic.netdev, *nic.netdevs]:
        if netdev:
            dev = host.rdma_for_netdev(netdev)
            if dev is not None:
                return dev
    return next((d for d in host.rdma_devices if d.pci_address == nic.pci_address), None)


def link_layer_of(host: HostReport, nic: Nic) -> str:
    dev = _rdma_of(host, nic)
    if dev is not None:
        for port in dev.ports:
            if port.link_layer in (LinkLayer.ETHERNET, LinkLayer.INFINIBAND):
                return port.link_layer.value
    if nic.link_type == "infiniband" or nic.pci_class == "0x020700":
        return "InfiniBand"
    return "Ethernet"


def _vf_device_id(host: HostReport, nic: Nic) -> str | None:
    for vf_pci in nic.vfs:
        vf = host.nic_by_pci(vf_pci)
        if vf is not None:
            return vf.device_id
    if nic.vendor_id == "15b3":
        return mlx_vf_id(nic.device_id)
    return None


def _nearest_gpu(host: HostReport, rdma: str | None) -> tuple[int, str | None]:
    if rdma is None:
        return (99, None)
    entries = [t for t in host.topology if t.nic == rdma]
    if not entries:
        return (99, None)
    best = min(entries, key=lambda t: (t.relation.rank, t.gpu))
    return (best.relation.rank, f"{best.gpu} ({best.relation.value})")


def resolve_nic(host: HostReport, nic: Nic) -> ResolvedNic:
    dev = _rdma_of(host, nic)
    port = dev.ports[0] if dev is not None and dev.ports else None
    netdev = nic.netdev or (nic.netdevs[0] if nic.netdevs else "")
    return ResolvedNic(
        netdev=netdev,
        pci_address=nic.pci_address,
        vendor_id=nic.vendor_id,
        device_id=nic.device_id,
        driver=nic.driver,
        link_layer="InfiniBand" if link_layer_of(host, nic) == "InfiniBand" else "Ethernet",
        rdma_device=dev.name if dev is not None else None,
        model=nic.model,
        mtu=nic.mtu,
        operstate=nic.operstate,
        port_state=port.state.value if port is not None else None,
        numa_node=nic.numa_node,
        sriov_totalvfs=nic.sriov_totalvfs,
        sriov_numvfs=nic.sriov_numvfs,
        vf_device_id=_vf_device_id(host, nic),
        holds_default_route=netdev in host.default_route_netdevs(),
        nearest_gpu=_nearest_gpu(host, dev.name if dev else None)[1],
        eswitch_mode=esw.mode if (esw := host.eswitch(nic.pci_address)) is not None else None,
        hw_tc_offload=esw.hw_tc_offload if esw is not None else None,
        vf_pci_addresses=list(nic.vfs),
    )


def _explicit(host: HostReport, hostname: str, sel: NicSelection) -> list[Nic]:
    pfs = [n for n in host.nics if not n.is_vf]
    known = ", ".join(sorted(n.netdev or n.pci_address for n in pfs)) or "none"
    for name in sel.netdevs:
        rep = next((r for r in host.representors if r.netdev == name), None)
        if rep is not None:
            # A representor is an eswitch port on the PF: a pod given it sends into the eswitch.
            raise UsageError(
                f"spec.nics.netdevs: {name!r} on host {hostname} is a {rep.flavour} representor "
                f"of PF {rep.pf_pci_address} (eswitch in switchdev mode), not a NIC",
                hint="select the PF (its netdev or PCI address); its VFs are then selected by "
                "PCI address",
            )
        if host.nic_by_netdev(name) is None:
            raise UsageError(
                f"spec.nics.netdevs: {name!r} is not a NIC on host {hostname}",
                hint=f"NICs found there: {known}",
            )
    for pci in sel.pci_addresses:
        if host.nic_by_pci(pci) is None:
            raise UsageError(
                f"spec.nics.pciAddresses: {pci!r} is not a NIC on host {hostname}",
                hint=f"NICs found there: {known}",
            )
    chosen = [
        n
        for n in pfs
        if (n.netdev in sel.netdevs or any(d in sel.netdevs for d in n.netdevs))
        or n.pci_address in sel.pci_addresses
        or n.device_id in sel.device_ids
    ]
    if not chosen:
        raise UsageError(
            f"spec.nics.deviceIDs: {sel.device_ids} match no NIC on host {hostname}",
            hint=f"NICs found there: {known}",
        )
    return sorted(chosen, key=lambda n: n.pci_address)


def select_nics(
    host: HostReport, hostname: str, sel: NicSelection, *, want_ib: bool, avoid_default: bool
) -> list[ResolvedNic]:
    """The selected ports of `host`. Explicit selections are taken as given (the plan refuses the
    contradictory ones with a reason); `auto` picks the one best RDMA port of the right link
    layer."""
    wanted = "InfiniBand" if want_ib else "Ethernet"
    if not sel.is_auto:
        chosen = [resolve_nic(host, n) for n in _explicit(host, hostname, sel)]
        # A port matched only by its device id is a filter hit, not a request: ports of the
        # other link layer, and (for modes that take the port away) the one holding the default
        # route, are left out instead of refused.
        named = set(sel.netdevs) | set(sel.pci_addresses)
        kept = [c for c in chosen if c.netdev in named or c.pci_address in named or (
            c.link_layer == wanted and not (avoid_default and c.holds_default_route))]
        if not kept:
            raise UsageError(
                f"spec.nics.deviceIDs: on host {hostname} no {wanted} port "
                + ("other than the one holding the default route " if avoid_default else "")
                + f"matches {sel.device_ids}",
                hint="name the training port in spec.nics.netdevs",
            )
        return kept
    candidates = [
        resolve_nic(host, n)
        for n in host.nics
        if not n.is_vf and _rdma_of(host, n) is not None and link_layer_of(host, n) == wanted
    ]
    if avoid_default:
        candidates = [c for c in candidates if not c.holds_default_route]
    if not candidates:
        raise UsageError(
            f"spec.nics: auto found no {wanted} RDMA port on host {hostname}"
            + (" other than the one holding the default route" if avoid_default else ""),
            hint="name the port with spec.nics.netdevs, or check `dualnet discover` "
            "(is mlx5_ib loaded?)",
        )

    def rank(c: ResolvedNic) -> tuple[int, int, int, str]:
        active = 0 if c.port_state == "ACTIVE" else 1
        mgmt = 1 if c.holds_default_route else 0
        gpu = _nearest_gpu(host, c.rdma_device)[0]
        return (active, mgmt, gpu, c.pci_address)

    return [min(candidates, key=rank)]
