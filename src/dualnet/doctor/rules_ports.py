"""RDMA port rules: link state, the management-port caveat, RoCE MTU and GIDs, link layer."""

from __future__ import annotations

from shlex import quote

from dualnet.doctor.context import (
    ETHERNET_MODES,
    INFINIBAND_MODES,
    ROCE_MTU_FOR_4096,
    DoctorOptions,
    iter_ports,
    netdev_mtu,
    nic_of_rdma,
    node_subject,
    port_carrier_down,
    port_is_active,
    port_link_layer,
    port_name,
    port_netdev,
    port_state_known,
)
from dualnet.doctor.findings import Finding, Severity
from dualnet.host.models import HostReport, LinkLayer, PhysState, PortState, RdmaDevice, RdmaPort
from dualnet.host.roce import roce_active_mtu
from dualnet.modes import Mode


def _port_evidence(
    report: HostReport, dev: RdmaDevice, port: RdmaPort
) -> dict[str, str | int | None]:
    ll = port_link_layer(report, dev, port)
    return {
        "device": dev.name,
        "port": port.number,
        "state": str(port.state),
        "phys_state": str(port.phys_state),
        "link_layer": str(ll) if ll else "unknown",
        "netdev": port_netdev(dev, port),
    }


def _down_fix(report: HostReport, dev: RdmaDevice, port: RdmaPort) -> list[str]:
    netdev = port_netdev(dev, port)
    ll = port_link_layer(report, dev, port)
    fix: list[str] = []
    if ll is LinkLayer.INFINIBAND:
        fix.append(f"ibstat {quote(dev.name)} {port.number}")
        if port.phys_state is PhysState.POLLING:
            fix.append("# check the cable and the switch port: POLLING means no link partner")
        if port.phys_state is PhysState.DISABLED and netdev:
            fix.append(f"ip link set dev {quote(netdev)} up")
        return fix
    if netdev:
        # RoCE port state follows its netdev: DISABLED is an admin-down netdev, POLLING no link.
        fix.append(f"ip link set dev {quote(netdev)} up")
        fix.append(f"ethtool {quote(netdev)} | grep -e Speed -e 'Link detected'")
    if port.phys_state is PhysState.POLLING or port.phys_state is PhysState.DISABLED:
        fix.append("# check the cable and the switch port if the link stays down")
    fix.append(f"rdma link show {quote(f'{dev.name}/{port.number}')}")
    return fix


def _carrier_down_finding(report: HostReport, dev: RdmaDevice, port: RdmaPort) -> Finding:
    netdev = port_netdev(dev, port) or "?"
    nic = nic_of_rdma(report, dev)
    is_vf = nic is not None and nic.is_vf
    return Finding(
        id="port.not-active",
        severity=Severity.INFO if is_vf else Severity.WARNING,
        title=f"RDMA port {port_name(dev, port)}: its netdev {netdev} is Down (no carrier)",
        subject=port_name(dev, port),
        evidence={**_port_evidence(report, dev, port), "netdev_carrier": "Down", "vf": is_vf},
        why="On RoCE the RDMA port follows its netdev: with no carrier the port is not ACTIVE "
        "and pods given it (or its VFs) cannot reach anything. (The port state itself was not "
        "in the outputs; `rdma link` would show it.)",
        fix=_down_fix(report, dev, port),
    )


def rule_ports(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    out: list[Finding] = []
    known = [(d, p) for d, p in iter_ports(report) if port_state_known(p)]
    carrier_down = [
        (d, p)
        for d, p in iter_ports(report)
        if port_carrier_down(d, p, port_link_layer(report, d, p))
    ]
    out.extend(_carrier_down_finding(report, d, p) for d, p in carrier_down)
    for dev, port in known:
        phys_ok = port.phys_state in (PhysState.LINK_UP, PhysState.UNKNOWN)
        if port_is_active(port) and phys_ok:
            continue
        ll = port_link_layer(report, dev, port)
        if (
            ll is LinkLayer.INFINIBAND
            and port.state is PortState.INIT
            and port.phys_state is PhysState.LINK_UP
        ):
            out.append(
                Finding(
                    id="port.no-subnet-manager",
                    severity=Severity.WARNING,
                    title=f"InfiniBand port {port_name(dev, port)} has link but stays INIT: "
                    "no subnet manager",
                    subject=port_name(dev, port),
                    evidence={**_port_evidence(report, dev, port), "sm_lid": port.sm_lid},
                    why="An IB port becomes ACTIVE only after a subnet manager assigns it a LID; "
                    "until then it carries no traffic.",
                    fix=[
                        f"ibstat {quote(dev.name)} {port.number}",
                        "# run a subnet manager on the fabric (managed switch or UFM), or on one "
                        "host:",
                        "systemctl enable --now opensm",
                    ],
                    persist=["systemctl enable opensm   # on the host that runs the SM"],
                )
            )
            continue
        nic = nic_of_rdma(report, dev)
        is_vf = nic is not None and nic.is_vf
        why = (
            "Only an ACTIVE port with physical state LINK_UP carries RDMA traffic; pods "
            "given this port (or VFs on it) get an RDMA device that cannot reach anything."
        )
        if is_vf:
            why = (
                "A VF's RDMA port follows its netdev, which stays down on the host until a CNI "
                "(sriov, host-device) moves it into a pod and sets it up; it matters only if the "
                "PF's link is down too."
            )
        out.append(
            Finding(
                id="port.not-active",
                severity=Severity.INFO if is_vf else Severity.WARNING,
                title=f"RDMA port {port_name(dev, port)} is {port.state}/{port.phys_state}, "
                "not ACTIVE/LINK_UP",
                subject=port_name(dev, port),
                evidence={**_port_evidence(report, dev, port), "vf": is_vf},
                why=why,
                fix=_down_fix(report, dev, port),
            )
        )
    judged = known + carrier_down
    all_ports = list(iter_ports(report))
    # Ports neither read nor seen down may be up: "none active" needs every port judged.
    if judged and len(judged) == len(all_ports) and not any(port_is_active(p) for _, p in known):
        out.append(
            Finding(
                id="port.none-active",
                severity=Severity.ERROR,
                title="no RDMA port on this node is ACTIVE",
                subject=node_subject(report),
                evidence={
                    "ports": [
                        f"{port_name(d, p)} "
                        + (f"{p.state}/{p.phys_state}" if port_state_known(p) else "netdev Down")
                        for d, p in judged
                    ]
                },
                why="With every port down there is no RDMA path off this node at all.",
                fix=[f"rdma link show {quote(port_name(d, p))}" for d, p in judged[:4]],
            )
        )
    return out


def rule_management_port(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    mgmt = report.management
    if mgmt is None:
        return []
    active = [(d, p) for d, p in iter_ports(report) if port_is_active(p)]
    if not active:
        return []
    # A VF shares its PF's wire: an active VF port on the management PF is no second port.
    wires = [_wire_netdev(report, d, p) for d, p in active]
    if any(n is None for n in wires) or any(n != mgmt.name for n in wires):
        return []
    inactive_pf_ports = [
        (d, p) for d, p in iter_ports(report) if not port_is_active(p) and not _is_vf(report, d)
    ]
    others = [
        f"{port_name(d, p)} ({port_netdev(d, p) or '?'}, {p.state}/{p.phys_state})"
        for d, p in inactive_pf_ports
    ]
    host_device = opts.mode is Mode.HOST_DEVICE
    dev, port = active[0]
    why = (
        "The management network (default route, the pod network's underlay, SSH) and the "
        "training network share one wire, as in the guide's single-port test setup: NCCL "
        "traffic competes with Kubernetes traffic, and any host change on this port (MTU, "
        "driver restart, moving it into a pod) can cut the node off."
    )
    if host_device:
        why += (
            " Mode host-device moves the whole netdev into a pod: doing that to the "
            "management interface takes the node off the network."
        )
    fix = [f"ip link set dev {quote(n)} up"
           for d, p in inactive_pf_ports if (n := port_netdev(d, p))]
    fix.append("# cable a second port (or NIC) for training and use it as the secondary network")
    if host_device:
        fix.append("# or use --mode shared-roce (macvlan keeps the port on the host)")
    return [
        Finding(
            id="port.only-active-is-management",
            severity=Severity.ERROR if host_device else Severity.WARNING,
            title=f"the only active RDMA port, {port_name(dev, port)}, is also the management "
            f"interface {mgmt.name}",
            subject=mgmt.name,
            evidence={
                "management_interface": mgmt.name,
                "management_addresses": list(mgmt.addresses),
                "active_ports": [port_name(d, p) for d, p in active],
                "inactive_ports": others,
            },
            why=why,
            fix=fix,
        )
    ]


def _is_vf(report: HostReport, dev: RdmaDevice) -> bool:
    nic = nic_of_rdma(report, dev)
    return nic is not None and nic.is_vf


def _wire_netdev(report: HostReport, dev: RdmaDevice, port: RdmaPort) -> str | None:
    """The netdev of the physical port under `port`: its own, or its PF's for a VF."""
    nic = nic_of_rdma(report, dev)
    if nic is not None and nic.is_vf and nic.pf_pci_address:
        pf = report.nic_by_pci(nic.pf_pci_address)
        return pf.netdev if pf is not None else None
    return port_netdev(dev, port)


def rule_roce_mtu(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    out: list[Finding] = []
    for dev, port in iter_ports(report):
        if port_link_layer(report, dev, port) is not LinkLayer.ETHERNET:
            continue
        netdev = port_netdev(dev, port)
        mtu = netdev_mtu(report, netdev, port)
        active_mtu = port.active_mtu
        if active_mtu is None and mtu is not None:
            active_mtu = roce_active_mtu(mtu)
        if active_mtu is None or active_mtu >= 4096:
            continue
        if mtu is not None and mtu >= ROCE_MTU_FOR_4096:
            continue  # the netdev is not what caps it
        if mtu is None and port.max_mtu is not None and active_mtu >= port.max_mtu:
            continue  # capped by the device, not by a netdev MTU we could raise
        is_mgmt = report.management is not None and report.management.name == netdev
        why = (
            f"On RoCE the RDMA MTU is the largest IB MTU that fits the netdev MTU minus "
            f"{ROCE_MTU_FOR_4096 - 4096} bytes of headers: netdev MTU "
            f"{mtu if mtu is not None else 'unknown'} gives RDMA MTU {active_mtu}. Every RDMA "
            f"message is cut into {active_mtu}-byte packets instead of 4096, costing bandwidth "
            f"and packet rate. A netdev MTU of at least {ROCE_MTU_FOR_4096} (9000 is usual) "
            "gives 4096; the switch ports and every peer must allow jumbo frames too."
        )
        if is_mgmt:
            why += " This netdev is the management interface: change its MTU with care."
        target = netdev or "<netdev>"
        out.append(
            Finding(
                id="roce.mtu-low",
                severity=Severity.WARNING if port_is_active(port) else Severity.INFO,
                title=(
                    f"RoCE port {port_name(dev, port)} runs RDMA MTU {active_mtu} because "
                    f"{target} has MTU {mtu}"
                    if mtu is not None
                    else f"RoCE port {port_name(dev, port)} runs RDMA MTU {active_mtu} of "
                    f"{port.max_mtu}: its netdev MTU (unknown here) is below "
                    f"{ROCE_MTU_FOR_4096}"
                ),
                subject=port_name(dev, port),
                evidence={
                    "device": dev.name,
                    "port": port.number,
                    "netdev": netdev,
                    "netdev_mtu": mtu if mtu is not None else "unknown",
                    "active_mtu": active_mtu,
                    "max_mtu": port.max_mtu,
                    "state": str(port.state),
                },
                why=why,
                fix=[f"ip link set dev {quote(target)} mtu 9000",
                     f"ibv_devinfo -d {quote(dev.name)}"],
                persist=[
                    f"/etc/netplan/*.yaml: network.ethernets.{target}.mtu: 9000   # netplan apply",
                    f"nmcli connection modify {target} 802-3-ethernet.mtu 9000   # NetworkManager",
                    f"/etc/systemd/network/*.network of {target}: [Link] MTUBytes=9000",
                ],
            )
        )
    return out


def rule_roce_gids(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    out: list[Finding] = []
    for dev, port in iter_ports(report):
        if port_link_layer(report, dev, port) is not LinkLayer.ETHERNET:
            continue
        if not port.gids and report.source == "tool-outputs":
            continue  # pasted outputs without `show_gids`/`ibv_devinfo -v` say nothing of GIDs
        if port.gids and all(g.roce_version is None for g in port.gids):
            continue  # types not known
        if any(g.roce_version == "v2" for g in port.gids):
            nic = nic_of_rdma(report, dev)
            if (
                port_is_active(port)
                and not (nic is not None and nic.is_vf)
                and port.roce_v2_ipv4_gid_index is None
                and not any(g.roce_version == "v2" and g.ipv4 for g in port.gids)
            ):
                out.append(_no_ipv4_gid(report, dev, port))
            continue
        nic = nic_of_rdma(report, dev)
        pci = (nic.pci_address if nic else None) or dev.pci_address or "<pci-address>"
        out.append(
            Finding(
                id="roce.no-v2-gid",
                severity=Severity.WARNING,
                title=f"RoCE port {port_name(dev, port)} has no RoCE v2 GID",
                subject=port_name(dev, port),
                evidence={
                    "device": dev.name,
                    "port": port.number,
                    "netdev": port_netdev(dev, port),
                    "gids": [f"{g.index} {g.gid} {g.type}" for g in port.gids[:8]],
                },
                why="NCCL and routable RoCE use RoCE v2 (UDP/IP) GIDs, chosen with "
                "NCCL_IB_GID_INDEX; with only v1 or an empty GID table, RDMA connections fail "
                "or are stuck in one L2 domain. An empty table usually means RoCE is disabled "
                "on the function.",
                fix=[
                    f"devlink dev param show {quote(f'pci/{pci}')} name enable_roce",
                    f"devlink dev param set {quote(f'pci/{pci}')} name enable_roce value true "
                    "cmode driverinit",
                    f"devlink dev reload {quote(f'pci/{pci}')}",
                    f"dualnet show-gids {quote(dev.name)}",
                ],
            )
        )
    return out


def _no_ipv4_gid(report: HostReport, dev: RdmaDevice, port: RdmaPort) -> Finding:
    netdev = port_netdev(dev, port) or "<netdev>"
    return Finding(
        id="roce.no-ipv4-v2-gid",
        severity=Severity.INFO,
        title=f"active RoCE port {port_name(dev, port)} has no IPv4 RoCE v2 GID on the host",
        subject=port_name(dev, port),
        evidence={
            "device": dev.name,
            "port": port.number,
            "netdev": netdev,
            "v2_gids": [str(g.index) for g in port.gids if g.roce_version == "v2"],
        },
        why="A GID with the interface's IPv4 address appears only when the netdev has one. "
        "Pods get theirs from their own net1 address (macvlan adds it to the shared "
        "device's table), but host-side tests (ib_write_bw between hosts) need one here.",
        fix=[f"ip addr add <address>/<prefix> dev {quote(netdev)}",
             f"dualnet show-gids {quote(dev.name)}"],
    )


def rule_link_layer_vs_mode(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    mode = opts.mode
    if mode is None or not (mode in ETHERNET_MODES or mode in INFINIBAND_MODES):
        return []
    layers = {
        port_name(d, p): ll for d, p in iter_ports(report) if (ll := port_link_layer(report, d, p))
    }
    if not layers:
        return []
    want = LinkLayer.ETHERNET if mode in ETHERNET_MODES else LinkLayer.INFINIBAND
    if any(ll is want for ll in layers.values()):
        return []
    pcis = sorted({nic.pci_address for d in report.rdma_devices if (nic := nic_of_rdma(report, d))})
    pci = pcis[0] if pcis else "<pci-address>"
    if want is LinkLayer.ETHERNET:
        title = (
            "macvlan needs an Ethernet master, but every RDMA port here is InfiniBand"
            if mode is Mode.SHARED_ROCE
            else f"mode {mode} needs Ethernet (RoCE) ports, but every RDMA port is InfiniBand"
        )
        why = (
            "macvlan and sriov-cni work on Ethernet netdevs; an InfiniBand port's netdev is "
            "IPoIB, and `ip link add ... type macvlan` on it fails with 'invalid argument'."
        )
        fix = [
            "# use --mode ipoib (IPoIB child interfaces) or --mode ib-sriov; or, on a VPI card, "
            "switch the port to Ethernet and reboot:",
            f"mlxconfig -d {pci} set LINK_TYPE_P1=2",
        ]
        mid = "mode.needs-ethernet"
    else:
        title = f"mode {mode} needs InfiniBand ports, but every RDMA port is Ethernet (RoCE)"
        why = "IPoIB and ib-sriov-cni work only on InfiniBand ports."
        fix = [
            "# use --mode shared-roce, host-device or sriov for RoCE; or, on a VPI card, switch "
            "the port to InfiniBand and reboot:",
            f"mlxconfig -d {pci} set LINK_TYPE_P1=1",
        ]
        mid = "mode.needs-infiniband"
    return [
        Finding(
            id=mid,
            severity=Severity.ERROR,
            title=title,
            subject=node_subject(report),
            evidence={"mode": str(mode), "link_layers": [f"{k} {v}" for k, v in layers.items()]},
            why=why,
            fix=fix,
        )
    ]


def rule_ipoib_netdev(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    if opts.mode is not Mode.IPOIB or report.source == "tool-outputs":
        return []
    out: list[Finding] = []
    for dev, port in iter_ports(report):
        if port_link_layer(report, dev, port) is not LinkLayer.INFINIBAND:
            continue
        if port_netdev(dev, port) is not None or dev.netdevs:
            continue
        out.append(
            Finding(
                id="ipoib.no-netdev",
                severity=Severity.WARNING,
                title=f"InfiniBand port {port_name(dev, port)} has no IPoIB netdev",
                subject=port_name(dev, port),
                evidence=dict(_port_evidence(report, dev, port)),
                why="ipoib-cni needs the port's IPoIB interface (ibN / ibpXsY) as its master.",
                fix=["modprobe ib_ipoib", "ip -br link show type ipoib"],
            )
        )
    return out
