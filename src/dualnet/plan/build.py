"""spec + node facts -> Plan. Pure: no I/O, same input gives the same plan."""

from __future__ import annotations

import ipaddress
from shlex import quote
from typing import Any, Literal

from dualnet.errors import UsageError
from dualnet.host.device_plugins import advertises, plugin_functions, resources_from_config
from dualnet.host.models import HostReport
from dualnet.host.switchdev import switchdev_steps
from dualnet.modes import MODE_CNI_PLUGINS, Mode, required_netns_mode
from dualnet.names import check_shared_dp_resource, check_sriov_dp_resource
from dualnet.plan.model import HostPlan, Plan, PlanWarning, ResolvedNic
from dualnet.plan.offload import (
    OFFLOAD_CNI_TYPE,
    check_offload_intent,
    check_offload_nic,
    offload_steps,
    offload_warnings,
)
from dualnet.plan.resolve import hostname_of, link_layer_of, select_nics
from dualnet.plan.steps import (
    CreateVfs,
    HostStep,
    InstallCniPlugins,
    K3sWithoutFlannel,
    LoadModules,
    SetMtu,
    SetNetnsMode,
    SetVfMacs,
)
from dualnet.spec import IpamType, Spec

SHARED_MODES = (Mode.SHARED_ROCE, Mode.IPOIB)
SRIOV_MODES = (Mode.SRIOV, Mode.SRIOV_DPDK, Mode.IB_SRIOV)
IB_MODES = (Mode.IPOIB, Mode.IB_SRIOV)
DEFAULT_NUM_VFS = 8

DEFAULT_RESOURCE: dict[Mode, tuple[str, str]] = {
    Mode.SHARED_ROCE: ("rdma", "rdma_shared_device"),
    Mode.IPOIB: ("rdma", "rdma_shared_device_ib"),
    Mode.HOST_DEVICE: ("nvidia.com", "hostdev_rdma"),
    Mode.SRIOV: ("nvidia.com", "mlnx_sriov_netdevice"),
    Mode.SRIOV_DPDK: ("nvidia.com", "mlnx_sriov_dpdk"),
    Mode.IB_SRIOV: ("nvidia.com", "mlnx_sriov_ib"),
}

# Standard containernetworking plugins (what the cni-plugins installer provides); the others
# come with their own DaemonSets.
STANDARD_PLUGINS = {"macvlan", "ipvlan", "host-device", "host-local", "static", "dhcp",
                    "portmap"}
RDMA_MODULES = ["mlx5_core", "mlx5_ib", "ib_core", "ib_uverbs", "ib_umad", "rdma_ucm"]


def _refuse(message: str, hint: str | None = None) -> UsageError:
    return UsageError(f"refused: {message}", hint=hint)


def _cni_type(spec: Spec) -> str:
    mode = spec.spec.mode
    if spec.spec.offload is not None:
        return OFFLOAD_CNI_TYPE[spec.spec.offload.cni]
    if mode is Mode.SHARED_ROCE:
        return spec.spec.shared_cni.value
    return {
        Mode.HOST_DEVICE: "host-device",
        Mode.SRIOV: "sriov",
        Mode.SRIOV_DPDK: "sriov",
        Mode.IPOIB: "ipoib",
        Mode.IB_SRIOV: "ib-sriov",
    }[mode]


def _check_intent(spec: Spec) -> None:
    """Contradictions visible from the spec alone."""
    s = spec.spec
    check_offload_intent(spec)
    if s.mode in SHARED_MODES and s.rdma_cni:
        raise _refuse(
            f"spec.rdmaCni: true with mode {s.mode.value}: the RDMA shared device plugin refuses "
            "to start when the RDMA netns mode is exclusive, and RDMA CNI requires exclusive",
            hint="use mode sriov (or host-device) for namespace-aware RDMA, or drop rdmaCni",
        )
    if s.rdma_cni and s.mode is Mode.SRIOV_DPDK:
        raise _refuse("spec.rdmaCni: RDMA CNI is not used with DPDK pods (sriov-dpdk)")
    cni = _cni_type(spec)
    if s.ipam.type is IpamType.DHCP and cni in ("ipvlan", "ib-sriov"):
        raise _refuse(
            f"spec.ipam.type: dhcp cannot work with {cni} (no per-pod MAC for the DHCP server)",
            hint="use whereabouts or static",
        )
    if s.ipam.subnet is not None:
        subnet = ipaddress.ip_network(s.ipam.subnet)
        for field, cidr in (("podCidr", s.pod_cidr), ("serviceCidr", s.service_cidr)):
            other = ipaddress.ip_network(cidr)
            if subnet.version == other.version and subnet.overlaps(other):
                raise _refuse(
                    f"spec.ipam.subnet {s.ipam.subnet} overlaps spec.{field} {cidr}: pods would "
                    "route cluster traffic into the training network",
                    hint="pick a training subnet outside the pod and service CIDRs, "
                    "e.g. 192.168.50.0/24",
                )
    if s.vlan is not None and s.mode not in (Mode.SRIOV, Mode.SRIOV_DPDK):
        raise _refuse(f"spec.vlan is only used by SR-IOV Ethernet modes, not {s.mode.value}")
    if s.pkey is not None and s.mode is not Mode.IB_SRIOV:
        raise _refuse(f"spec.pkey is only used by mode ib-sriov, not {s.mode.value}")
    if s.rdma_cm and s.mode not in SRIOV_MODES:
        raise _refuse(f"spec.rdmaCm: VF MACs only matter for SR-IOV modes, not {s.mode.value}")


def _resource(spec: Spec) -> tuple[str, str]:
    s = spec.spec
    prefix, name = DEFAULT_RESOURCE[s.mode]
    name = s.resource_name or name
    prefix = s.resource_prefix or prefix
    try:
        if s.mode in SHARED_MODES:
            check_shared_dp_resource(name, field="spec.resourceName")
        else:
            check_sriov_dp_resource(name, field="spec.resourceName")
    except UsageError as exc:
        raise UsageError(exc.message, hint=exc.hint) from None
    return prefix, name


def _check_nic(spec: Spec, hostname: str, nic: ResolvedNic, host: HostReport) -> None:
    s = spec.spec
    cni = _cni_type(spec)
    where = f"{nic.netdev} ({nic.pci_address}) on host {hostname}"
    if cni in ("macvlan", "ipvlan") and nic.link_layer == "InfiniBand":
        raise _refuse(
            f"{cni} on InfiniBand port {where}: {cni} needs an Ethernet master",
            hint="use mode ipoib (or ib-sriov) for InfiniBand ports",
        )
    if s.mode in (Mode.SRIOV, Mode.SRIOV_DPDK) and nic.link_layer == "InfiniBand":
        raise _refuse(
            f"mode {s.mode.value} on InfiniBand port {where}: sriov-cni configures Ethernet VFs",
            hint="use mode ib-sriov for InfiniBand VFs",
        )
    if s.mode in IB_MODES and nic.link_layer != "InfiniBand":
        raise _refuse(
            f"mode {s.mode.value} on Ethernet port {where}",
            hint="use shared-roce, sriov or host-device for RoCE ports",
        )
    if s.mode in (Mode.HOST_DEVICE, *SRIOV_MODES) and nic.holds_default_route:
        raise _refuse(
            f"mode {s.mode.value} on {where}, which holds the node's default route: moving it "
            "(or its VFs' PF setup) into pods cuts the node off its management network",
            hint="choose a dedicated training port in spec.nics, or use shared-roce (macvlan)",
        )
    if s.mode in SRIOV_MODES:
        if nic.sriov_totalvfs == 0:
            raise _refuse(
                f"{where} has no SR-IOV capability (sriov_totalvfs is 0)",
                hint="enable SR-IOV in firmware (mlxconfig SRIOV_EN=1 NUM_OF_VFS=N) and reboot",
            )
        wanted = s.num_vfs or 0
        if nic.sriov_totalvfs is not None and wanted > nic.sriov_totalvfs:
            raise _refuse(
                f"spec.numVfs {wanted} is more than {where} supports (sriov_totalvfs "
                f"{nic.sriov_totalvfs})",
                hint=f"use at most {nic.sriov_totalvfs}, or raise NUM_OF_VFS in firmware",
            )
        check_offload_nic(spec, where, nic, _num_vfs(spec, nic))
    if s.mode in SRIOV_MODES and nic.eswitch_mode == "switchdev":
        wanted = _num_vfs(spec, nic)
        if len(nic.vf_pci_addresses) < wanted:
            steps = "; ".join(switchdev_steps(nic.pci_address, nic.vf_pci_addresses, wanted))
            raise _refuse(
                f"mode {s.mode.value} on {where}, whose eswitch is in switchdev mode with "
                f"{len(nic.vf_pci_addresses)} of {wanted} VFs: on a switchdev PF the VFs are "
                "selected by PCI address (its netdevs include the VF representors), so they "
                "must exist before the plan",
                hint=f"create them in this order, then plan again: {steps}",
            )
    if s.mode is Mode.HOST_DEVICE and nic.sriov_numvfs:
        raise _refuse(
            f"host-device on {where}, which has {nic.sriov_numvfs} VFs enabled: the SR-IOV "
            "device plugin skips PFs with VFs",
            hint=f"echo 0 > {quote(f'/sys/class/net/{nic.netdev}/device/sriov_numvfs')}, "
            "or use mode sriov",
        )
    if s.mtu is not None and cni == "macvlan" and nic.mtu is not None and s.mtu > 9216:
        raise _refuse(f"spec.mtu {s.mtu} is above what an Ethernet port takes (9216)")
    _check_mtu(spec, where, nic, host)


# CNI plugins whose net1 is a child of the master (or a VF of the PF): its MTU may be lower than
# the master's but not higher (macvlan: "invalid MTU ..., must be [68, <master's>]").
CHILD_CNIS = {"macvlan", "ipvlan", "sriov", "ipoib", "ib-sriov"}


def _mtu_step_needed(spec: Spec, nic: ResolvedNic) -> bool:
    mtu = spec.spec.mtu
    if mtu is None or nic.mtu == mtu:
        return False
    # a child may be smaller than its master: then the master is left as it is
    return not (_cni_type(spec) in CHILD_CNIS and nic.mtu is not None and mtu < nic.mtu)


def _is_management(nic: ResolvedNic, host: HostReport) -> bool:
    return nic.holds_default_route or (
        host.management is not None and host.management.name == nic.netdev)


def _check_mtu(spec: Spec, where: str, nic: ResolvedNic, host: HostReport) -> None:
    """The SetMtu step that would raise the master is refused on the management port (prepare
    never changes it), so a NAD asking for more than the master has would fail at attach."""
    mtu = spec.spec.mtu
    if mtu is None or nic.mtu is None or not _mtu_step_needed(spec, nic):
        return
    if _is_management(nic, host):
        raise _refuse(
            f"spec.mtu {mtu} is above the MTU {nic.mtu} of {where}, which carries the node's "
            "management network: raising it is a host step dualnet refuses (it could cut the "
            f"node off), and {_cni_type(spec)} cannot give net1 more than its master has",
            hint=f"set spec.mtu to {nic.mtu} or less (or leave it out), raise the MTU of "
            f"{nic.netdev} yourself if the whole management network takes it, or use a "
            "dedicated training port",
        )


def _num_vfs(spec: Spec, nic: ResolvedNic) -> int:
    if spec.spec.num_vfs is not None:
        return spec.spec.num_vfs
    if nic.sriov_numvfs:
        return nic.sriov_numvfs
    if nic.sriov_totalvfs:
        return min(DEFAULT_NUM_VFS, nic.sriov_totalvfs)
    return DEFAULT_NUM_VFS


def _needed_plugins(spec: Spec) -> list[str]:
    s = spec.spec
    if s.offload is not None:
        # the cluster CNI plugs the VF; Antrea's offload NAD chains portmap after it
        return ["portmap"] if s.offload.cni.value == "antrea" else []
    plugins = [p for p in MODE_CNI_PLUGINS[s.mode] if p != "host-local"]
    if s.mode is Mode.SHARED_ROCE:
        plugins = [s.shared_cni.value]
    plugins.append(s.ipam.type.value)
    if s.rdma_cni:
        plugins.append("rdma")
    return sorted(set(plugins))


def _host_steps(
    spec: Spec, host: HostReport, nics: list[ResolvedNic], netns: str | None
) -> list[HostStep]:
    s = spec.spec
    steps: list[HostStep] = []
    modules = list(RDMA_MODULES)
    if s.mode in IB_MODES:
        modules.append("ib_ipoib")
    if host.gpus:
        modules.append("nvidia_peermem")
    if host.modules:
        missing = [m for m in modules if not host.module_loaded(m)]
        if missing:
            steps.append(LoadModules(
                modules=missing,
                why="RDMA verbs need mlx5_ib/ib_uverbs; the shared plugin drops HCAs without "
                "umad and rdma_cm; GPUDirect needs nvidia_peermem",
            ))
    else:
        steps.append(LoadModules(modules=modules, why="module state unknown: make sure they load"))
    if netns is not None and (host.netns_mode is None or host.netns_mode.value != netns):
        if netns == "shared":
            why = "the RDMA shared device plugin refuses exclusive mode"
        elif s.rdma_cni:
            why = "RDMA CNI moves each VF's RDMA device into its pod: needs exclusive"
        else:
            why = ("ib-sriov-cni's rdmaIsolation moves each VF's RDMA device into its pod and "
                   "refuses to attach unless the mode is exclusive")
        steps.append(SetNetnsMode(mode="shared" if netns == "shared" else "exclusive", why=why))
    for nic in nics:
        if _mtu_step_needed(spec, nic):
            steps.append(SetMtu(
                interface=nic.netdev, mtu=s.mtu,
                why=f"spec.mtu {s.mtu}; net1 cannot exceed its master's MTU (now {nic.mtu})",
            ))
    if s.mode in SRIOV_MODES:
        for nic in nics:
            n = _num_vfs(spec, nic)
            if nic.sriov_numvfs != n:
                steps.append(CreateVfs(
                    pf=nic.netdev, num_vfs=n,
                    why=f"{n} VFs for the SR-IOV device plugin (now {nic.sriov_numvfs})",
                ))
            if s.rdma_cm:
                steps.append(SetVfMacs(
                    pf=nic.netdev,
                    why="RDMA CM needs VF MACs set before use: sets each VF's MAC and rebinds it "
                    "so node/port GUIDs are populated",
                ))
        steps.extend(offload_steps(spec, nics))
    if host.cni is not None and host.cni.plugins:
        missing_plugins = [
            p for p in _needed_plugins(spec) if p in STANDARD_PLUGINS and p not in host.cni.plugins
        ]
        if missing_plugins:
            steps.append(InstallCniPlugins(
                plugins=missing_plugins,
                why="not in the node's CNI bin dir (the cni-plugins DaemonSet also installs them)",
            ))
    k3s_builtin = host.cni is not None and host.cni.k3s_flannel_builtin is True
    if s.k3s or k3s_builtin:
        steps.append(K3sWithoutFlannel(
            pod_cidr=s.pod_cidr,
            why="k3s's built-in flannel bypasses /etc/cni/net.d, so Multus would never be called: "
            "install k3s with --flannel-backend=none and flannel patched to the pod CIDR",
        ))
    return steps


def _shared_dp_config(
    spec: Spec, prefix: str, name: str, nics: list[ResolvedNic]
) -> dict[str, Any]:
    s = spec.spec
    selectors: dict[str, list[str]] = {
        "vendors": sorted({n.vendor_id for n in nics}),
        "deviceIDs": sorted({n.device_id for n in nics}),
    }
    drivers = sorted({n.driver for n in nics if n.driver})
    if drivers:
        selectors["drivers"] = drivers
    if s.nics.pin_if_names or s.mode is Mode.IPOIB:
        selectors["ifNames"] = sorted({n.netdev for n in nics})
    if s.mode is Mode.IPOIB:
        selectors["linkTypes"] = ["infiniband"]
    entry: dict[str, Any] = {"resourceName": name}
    if prefix != "rdma":
        entry["resourcePrefix"] = prefix
    entry["rdmaHcaMax"] = s.rdma_hca_max
    entry["selectors"] = selectors
    return {"configList": [entry]}


def _narrow_shared_selectors(
    selectors: dict[str, list[str]], hosts: list[HostReport], per_host: list[list[ResolvedNic]]
) -> list[PlanWarning]:
    """The shared plugin ANDs its non-empty selectors (k8s-rdma-shared-dev-plugin
    pkg/resources/device_selectors.go): vendor + device + driver alone also take every other port
    of the same model on the node, e.g. the InfiniBand port of a mixed node, and the resource
    hands those out too. When some such port is not in the spec's selection, add the selected
    netdevs (ifNames) and, where the other ports differ in link layer, the link type (the
    netdev's encapsulation: "ether" or "infiniband"). Edits `selectors` in place."""
    if "ifNames" in selectors:
        return []  # already pinned to the selected netdevs (ipoib, nics.pinIfNames)
    uncovered: list[tuple[str, str, str]] = []
    # the plugin's own selector rules (host.device_plugins), on the entry as rendered so far
    (entry,) = resources_from_config(
        {"configList": [{"resourceName": "narrowing", "selectors": selectors}]}, source="plan")
    for i, (host, chosen) in enumerate(zip(hosts, per_host, strict=True)):
        taken = {n.pci_address for n in chosen}
        for nic in host.nics:
            if nic.pci_address in taken or not advertises(host, entry, nic):
                continue
            uncovered.append((hostname_of(host, i), nic.netdev or nic.pci_address,
                              link_layer_of(host, nic)))
    if not uncovered:
        return []
    wanted = {n.link_layer for group in per_host for n in group}
    selectors["ifNames"] = sorted({n.netdev for group in per_host for n in group})
    if any(layer not in wanted for _, _, layer in uncovered):
        selectors["linkTypes"] = sorted(
            {"infiniband" if layer == "InfiniBand" else "ether" for layer in wanted})
    listed = ", ".join(f"{dev} ({layer}) on {host}" for host, dev, layer in uncovered)
    return [PlanWarning(
        code="shared-selectors-narrowed",
        message=f"vendor/device/driver selectors also match {listed}, which the spec does not "
        "select: the RDMA shared device plugin would hand those out under the same resource, so "
        "the selectors also name the selected netdevs (ifNames"
        + (", linkTypes" if "linkTypes" in selectors else "") + ")",
    )]


def _sriov_dp_config(
    spec: Spec, prefix: str, name: str, per_host: list[list[ResolvedNic]]
) -> dict[str, Any]:
    s = spec.spec
    nics = [n for group in per_host for n in group]
    selector: dict[str, Any] = {"vendors": sorted({n.vendor_id for n in nics})}
    if s.mode is Mode.HOST_DEVICE:
        selector["devices"] = sorted({n.device_id for n in nics})
        drivers = sorted({n.driver for n in nics if n.driver})
        if drivers:
            selector["drivers"] = drivers
        selector["pciAddresses"] = sorted({n.pci_address for n in nics})
    else:
        vf_ids = sorted({n.vf_device_id for n in nics if n.vf_device_id})
        if vf_ids:
            selector["devices"] = vf_ids
        # mlx5 DPDK is bifurcated: VFs stay on mlx5_core, so the driver selector is the same.
        selector["drivers"] = ["mlx5_core"] if all(n.vendor_id == "15b3" for n in nics) else (
            ["vfio-pci"] if s.mode is Mode.SRIOV_DPDK else sorted({n.driver or "" for n in nics})
        )
        if s.offload is not None or any(n.eswitch_mode == "switchdev" for n in nics):
            # A switchdev PF's function also carries the VF representors: select the VFs
            # themselves, by PCI address (_check_nic made sure they exist). pciAddresses and
            # pfNames would both have to match, so one switchdev PF switches every PF over.
            # With offload the PF becomes switchdev during prepare: pinned the same way.
            selector["pciAddresses"] = sorted(
                {vf for n in nics for vf in n.vf_pci_addresses[: _num_vfs(spec, n)]})
        else:
            pf_names: set[str] = set()
            for group in per_host:
                for n in group:
                    pf_names.add(f"{n.netdev}#0-{_num_vfs(spec, n) - 1}")
            selector["pfNames"] = sorted(pf_names)
    if s.mode in IB_MODES:
        selector["linkTypes"] = ["infiniband"]
    selector["isRdma"] = True
    return {"resourceList": [{"resourceName": name, "resourcePrefix": prefix,
                              "selectors": [selector]}]}


def _components(spec: Spec, rdma_cni: bool) -> list[str]:
    s = spec.spec
    comps = ["multus", "cni-plugins"]
    if s.mode in SHARED_MODES:
        comps.append("rdma-shared-device-plugin")
    else:
        comps.append("sriov-device-plugin")
    if s.mode in (Mode.SRIOV, Mode.SRIOV_DPDK) and s.offload is None:
        comps.append("sriov-cni")
    if s.mode is Mode.IB_SRIOV:
        comps.append("ib-sriov-cni")
    if s.mode is Mode.IPOIB:
        comps.append("ipoib-cni")
    if rdma_cni:
        comps.append("rdma-cni")
    if s.ipam.type is IpamType.WHEREABOUTS:
        comps.append("whereabouts")
    if s.ipam.type is IpamType.DHCP:
        comps.append("cni-dhcp-daemon")
    return comps


def _warnings(
    spec: Spec, hosts: list[HostReport], plans: list[HostPlan]
) -> list[PlanWarning]:
    s = spec.spec
    out: list[PlanWarning] = []
    nodes = s.node_count or len(hosts)
    if s.ipam.type is IpamType.HOST_LOCAL and nodes > 1 and s.offload is None:
        out.append(PlanWarning(
            code="host-local-multi-node",
            message=f"host-local IPAM on {nodes} nodes: each node allocates from the same "
            f"{s.ipam.subnet} on its own, so two pods on different nodes get the same address; "
            "use ipam.type: whereabouts (cluster-wide allocation)",
        ))
    if "rdma_hca_max" not in spec.spec.model_fields_set and s.mode in SHARED_MODES:
        out.append(PlanWarning(
            code="rdma-hca-max-default",
            message=f"rdmaHcaMax not set: using {s.rdma_hca_max} pods per HCA (the plugin's own "
            "default, 0, would advertise no devices); set spec.rdmaHcaMax to the pods you expect",
        ))
    for hp in plans:
        for nic in hp.nics:
            where = f"{nic.netdev} on {hp.hostname}"
            if nic.holds_default_route and s.mode in SHARED_MODES:
                out.append(PlanWarning(
                    code="shared-management-port",
                    message=f"{_cni_type(spec)} master {where} also carries the node's management "
                    "network: eth0 and net1 share one wire (fine for a test, as in the guide); "
                    "in production use a dedicated port, with host-device or SR-IOV",
                ))
            if nic.rdma_device is None:
                out.append(PlanWarning(
                    code="no-rdma-device",
                    message=f"{where} has no RDMA device: load mlx5_ib, or the device plugin "
                    "advertises nothing for it",
                ))
            elif nic.port_state not in (None, "ACTIVE"):
                out.append(PlanWarning(
                    code="port-not-active",
                    message=f"{where}: RDMA port {nic.rdma_device} is {nic.port_state}; pods get "
                    "the device but no traffic flows until the link is up",
                ))
    if _cni_type(spec) == "ipvlan":
        out.append(PlanWarning(
            code="ipvlan-no-host",
            message="ipvlan: pods cannot reach their own node over net1, and the master "
            "cannot also host macvlan",
        ))
    if s.ipam.type is IpamType.DHCP:
        out.append(PlanWarning(
            code="dhcp-daemon",
            message="dhcp IPAM needs the CNI dhcp daemon on every node (render deploys it: "
            "DaemonSet cni-dhcp-daemon, socket /run/cni/dhcp.sock) and a DHCP server on the "
            "training network",
        ))
    if s.mode is Mode.IB_SRIOV:
        out.append(PlanWarning(
            code="ib-guids",
            message="IB SR-IOV VFs need GUIDs: pass infiniband-guid in the networks annotation "
            "or run ib-kubernetes with a subnet manager",
        ))
    if s.mode is Mode.SRIOV_DPDK and any(
        n.vendor_id != "15b3" for hp in plans for n in hp.nics
    ):
        out.append(PlanWarning(
            code="dpdk-vfio",
            message="non-NVIDIA NICs need their VFs bound to vfio-pci for DPDK",
        ))
    return out


def build_plan(spec: Spec, hosts: list[HostReport]) -> Plan:
    """Resolve `spec` against the facts of `hosts`. Raises UsageError (with the reason) for
    contradictory intent; returns the plan with its warnings otherwise."""
    if not hosts:
        raise UsageError(
            "no host facts to plan against",
            hint="pass --root DIR (a node's filesystem) or --report FILE.json (dualnet discover "
            "--output json)",
        )
    _check_intent(spec)
    s = spec.spec
    prefix, short = _resource(spec)
    cni = _cni_type(spec)
    netns = required_netns_mode(s.mode, rdma_cni=s.rdma_cni)
    want_ib = s.mode in IB_MODES
    avoid_default = s.mode in (Mode.HOST_DEVICE, *SRIOV_MODES)

    host_plans: list[HostPlan] = []
    per_host: list[list[ResolvedNic]] = []
    for i, host in enumerate(hosts):
        hostname = hostname_of(host, i)
        nics = select_nics(host, hostname, s.nics, want_ib=want_ib, avoid_default=avoid_default)
        for nic in nics:
            _check_nic(spec, hostname, nic, host)
        per_host.append(nics)
        host_plans.append(HostPlan(
            hostname=hostname,
            nics=nics,
            steps=_host_steps(spec, host, nics, netns),
            management_interface=host.management.name if host.management else None,
            arch=host.arch,
            device_plugin_functions=plugin_functions(host),
        ))
        _check_management_overlap(spec, hostname, host)
    names = sorted({hp.hostname for hp in host_plans})
    if len(names) != len(host_plans):
        raise UsageError("two host reports have the same hostname",
                         hint="give each --root/--report a different node")

    master: str | None = None
    if cni in ("macvlan", "ipvlan", "ipoib"):
        masters = {n.netdev for group in per_host for n in group}
        if len(masters) != 1 or any(len(g) != 1 for g in per_host):
            raise _refuse(
                f"{cni} takes exactly one master interface, with the same name on every node; "
                f"selected: {', '.join(sorted(masters))}",
                hint="name one port in spec.nics.netdevs",
            )
        master = masters.pop()

    all_nics = [n for group in per_host for n in group]
    link_layer: Literal["Ethernet", "InfiniBand"] = (
        "InfiniBand" if want_ib else "Ethernet"
    )
    shared = _shared_dp_config(spec, prefix, short, all_nics) if s.mode in SHARED_MODES else None
    narrowed: list[PlanWarning] = []
    if shared is not None:
        narrowed = _narrow_shared_selectors(shared["configList"][0]["selectors"], hosts,
                                            per_host)
    sriov = None if shared is not None else _sriov_dp_config(spec, prefix, short, per_host)
    return Plan(
        name=spec.name,
        namespace=s.namespace,
        mode=s.mode,
        spec=spec,
        hosts=host_plans,
        cni_type=cni,
        master=master,
        resource_prefix=prefix,
        resource_short_name=short,
        shared_dp_config=shared,
        sriov_dp_config=sriov,
        rdma_cni=s.rdma_cni,
        offload_cni=s.offload.cni.value if s.offload is not None else None,
        netns_mode="shared" if netns == "shared" else ("exclusive" if netns else None),
        link_layer=link_layer,
        components=_components(spec, s.rdma_cni),
        nccl_ib_hca=_nccl_ib_hca(s.mode, all_nics),
        warnings=_warnings(spec, hosts, host_plans) + narrowed + offload_warnings(spec),
    )


def _nccl_ib_hca(mode: Mode, nics: list[ResolvedNic]) -> list[str]:
    """The RDMA devices a pod's NCCL may name. In the VF modes the pod gets a VF's RDMA device,
    whose name depends on which VF is allocated; naming the PF's device would make NCCL find no
    HCA in the pod, so none is named there (render falls back to the `mlx5` prefix)."""
    if mode in (Mode.SRIOV, Mode.SRIOV_DPDK, Mode.IB_SRIOV):
        return []
    return sorted({n.rdma_device for n in nics if n.rdma_device})


def _check_management_overlap(spec: Spec, hostname: str, host: HostReport) -> None:
    subnet_s = spec.spec.ipam.subnet
    if subnet_s is None or host.management is None:
        return
    subnet = ipaddress.ip_network(subnet_s)
    for cidr in host.management.addresses:
        try:
            mgmt = ipaddress.ip_interface(cidr).network
        except ValueError:
            continue
        if mgmt.version == subnet.version and mgmt.overlaps(subnet):
            raise _refuse(
                f"spec.ipam.subnet {subnet_s} overlaps the management network {mgmt} of host "
                f"{hostname} ({host.management.name})",
                hint="pick a training subnet that no node uses already",
            )
