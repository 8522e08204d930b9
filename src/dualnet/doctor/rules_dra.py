"""What a Dynamic Resource Allocation driver (dranet) needs from the cluster and the node: the
`resource.k8s.io/v1` API and the container runtime's NRI socket; and what its ResourceSlices
say against the node's facts (a device plugin advertising RDMA devices too, IPoIB netdevs
published without their HCA). Only with `doctor --dra`: a device-plugin cluster needs none."""

from __future__ import annotations

from typing import Literal

from dualnet.doctor.context import DoctorOptions, node_subject
from dualnet.doctor.findings import Finding, Severity
from dualnet.doctor.rules_kube import is_rdma_resource
from dualnet.host.device_plugins import describe, overlap_fix, overlaps, plugin_functions
from dualnet.host.discover import NRI_SOCKETS
from dualnet.host.models import DraDevice, HostReport

RESOURCE_V1 = "resource.k8s.io/v1"
_RESOURCE_GROUP = RESOURCE_V1.split("/")[0] + "/"


def rule_resource_api(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    served = report.dra.api_versions
    if not opts.dra or served is None or RESOURCE_V1 in served:
        return []
    older = [v for v in served if v.startswith(_RESOURCE_GROUP)]
    return [
        Finding(
            id="dra.resource-api-not-served",
            severity=Severity.ERROR,
            title=f"the API server does not serve {RESOURCE_V1}",
            subject="cluster",
            evidence={"resource.k8s.io versions served": older, "versions read": len(served)},
            why="DRA went GA as resource.k8s.io/v1 in Kubernetes 1.34; dranet and the objects "
            "`dualnet render --target dra` writes (DeviceClass, ResourceClaimTemplate) use v1. "
            + (
                "Only beta versions are served: the cluster is older than 1.34."
                if older
                else "No resource.k8s.io version is served at all: DRA is off or the cluster "
                "predates it."
            ),
            fix=[
                "kubectl version   # the server must be v1.34 or newer",
                "kubectl api-versions | grep resource.k8s.io",
                "# upgrade the control plane to 1.34+, or stay on device plugins + Multus "
                "(dualnet render without --target dra)",
            ],
        )
    ]


def rule_nri_socket(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    if not opts.dra or report.dra.nri_socket_present is not False:
        return []
    return [
        Finding(
            id="dra.nri-socket-missing",
            severity=Severity.ERROR,
            title="no NRI socket: the container runtime does not offer NRI",
            subject=node_subject(report),
            evidence={"looked at": ["/" + p for p in NRI_SOCKETS]},
            why="dranet moves the claimed NIC into the pod from an NRI plugin hook; without "
            "the runtime's NRI socket its pods stay ContainerCreating. NRI is on by default "
            "in containerd 2.0+ and CRI-O 1.30+; containerd 1.7 has it off.",
            fix=[
                "containerd --version   # or: crio --version",
                "# containerd 1.7: in /etc/containerd/config.toml set "
                "[plugins.\"io.containerd.nri.v1.nri\"] disable = false, "
                "socket_path = \"/var/run/nri/nri.sock\"",
                "# CRI-O: [crio.nri] enable_nri = true",
                "# k3s: every release that serves resource.k8s.io/v1 (1.34+) embeds containerd "
                "2.x (v1.34.9+k3s1: v2.2.5-k3s2; v1.36.2+k3s1: v2.3.2-k3s2), where NRI is on "
                "unless the config says disable = true; check what k3s generated:",
                "grep -A3 nri /var/lib/rancher/k3s/agent/etc/containerd/config.toml   # k3s",
                "k3s ctr plugins ls | grep nri   # 'ok', not 'skip'",
                "# a custom /var/lib/rancher/k3s/agent/etc/containerd/config-v3.toml.tmpl that "
                "disables it: set [plugins.'io.containerd.nri.v1.nri'] disable = false there, "
                "or extend {{ template \"base\" . }} instead of replacing it",
                "systemctl restart containerd   # or crio / k3s / k3s-agent",
            ],
        )
    ]


def rule_dra_facts_unknown(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    """With --dra, say which DRA facts were not given, so a clean result is not read as a pass."""
    if not opts.dra:
        return []
    missing: list[str] = []
    if report.dra.api_versions is None:
        missing.append("served API versions (kubectl_api_resources.txt)")
    if report.dra.nri_socket_present is None:
        missing.append("NRI socket (run doctor on the node, --root)")
    if not missing:
        return []
    return [
        Finding(
            id="dra.facts-unknown",
            severity=Severity.INFO,
            title="DRA checks skipped: " + "; ".join(missing),
            subject=node_subject(report),
            evidence={"missing": missing},
            why="A DRA check whose fact was not read was not run; it did not pass.",
            fix=[
                "kubectl api-resources > DIR/kubectl_api_resources.txt   # then doctor --from DIR "
                "--dra",
                "sudo dualnet doctor --dra   # on the node, for the NRI socket",
            ],
        )
    ]


def _on_this_node(report: HostReport, device: DraDevice) -> bool:
    """A slice capture covers the whole cluster; keep the devices of the node diagnosed (all of
    them when neither side names its node)."""
    node = (report.kubernetes_node.name if report.kubernetes_node else None) or report.hostname
    return device.node is None or node is None or device.node == node


def _rdma_published(report: HostReport) -> list[DraDevice]:
    return [
        d for d in report.dra.devices or []
        if d.attributes.get("rdma") is True and _on_this_node(report, d)
    ]


def _published_functions(report: HostReport) -> dict[str, str]:
    """PCI address -> the DRA device published for it on this node."""
    return {str(d.attributes["pciAddress"]): f"{d.driver}/{d.name}"
            for d in report.dra.devices or []
            if "pciAddress" in d.attributes and _on_this_node(report, d)}


def _exact_overlap(report: HostReport, plugin: dict[str, list[str]]) -> list[Finding]:
    """With the plugins' configs read: the PCI functions both sides hand out, named."""
    found = overlaps(plugin, _published_functions(report))
    if not found:
        return []
    return [
        Finding(
            id="dra.device-plugin-overlap",
            severity=Severity.WARNING,
            title=f"{len(found)} PCI function(s) advertised by a device plugin and a DRA driver: "
            + describe(found),
            subject=node_subject(report),
            evidence={
                "over-admitted PCI functions": [o.pci_address for o in found],
                "device-plugin resources": sorted({r for o in found
                                                   for r in o.plugin_resources}),
                "DRA devices": [o.dra for o in found],
            },
            why="The scheduler counts the two separately: a pod asking for the device-plugin "
            "resource and a pod with a ResourceClaim can be given the same NIC "
            "(over-admission). The functions were matched with the plugins' own selector rules "
            "against the node's PCI functions.",
            fix=overlap_fix(found),
        )
    ]


def rule_device_plugin_overlap(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    if not opts.dra or report.dra.devices is None:
        return []
    plugin_fns = plugin_functions(report)
    if plugin_fns is not None:
        return _exact_overlap(report, plugin_fns)
    node = report.kubernetes_node
    if node is None:
        return []
    section: Literal["allocatable", "unnamed"] = "allocatable" if node.allocatable else "unnamed"
    plugin = sorted(
        r for r in getattr(node, section)
        if is_rdma_resource(r) and (node.amount(section, r) or 0) > 0
    )
    published = _rdma_published(report)
    if not plugin or not published:
        return []
    return [
        Finding(
            id="dra.device-plugin-overlap",
            severity=Severity.WARNING,
            title="a device plugin and a DRA driver both advertise RDMA devices on this node",
            subject=node.name or node_subject(report),
            evidence={
                "device-plugin resources": plugin,
                "DRA devices (rdma=true)": [f"{d.driver}/{d.name}" for d in published],
                "their PCI addresses": sorted(
                    str(d.attributes["pciAddress"]) for d in published
                    if "pciAddress" in d.attributes
                ),
            },
            why="The scheduler counts the two separately: a pod asking for the device-plugin "
            "resource and a pod with a ResourceClaim can be given the same NIC (over-admission). "
            "The node object does not say which functions the plugin selected; with the "
            "plugins' configs (device_plugin_config in --from DIR) doctor names them.",
            fix=[
                "kubectl -n kube-system get configmap sriovdp-config rdma-devices -o yaml "
                "> DIR/device_plugin_config.yaml   # then doctor --from DIR --dra",
                "# drop the NICs DRA hands out from the plugin's selectors (ifNames, "
                "pciAddresses), or exclude them in the DeviceClass selector",
            ],
        )
    ]


def rule_ipoib_without_rdma(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    if not opts.dra or report.dra.devices is None:
        return []
    out: list[Finding] = []
    for d in report.dra.devices:
        if d.attributes.get("rdma") is not False or not _on_this_node(report, d):
            continue
        ifname, pci = d.attributes.get("ifName"), d.attributes.get("pciAddress")
        nic = report.nic_by_pci(pci) if isinstance(pci, str) else None
        if nic is None and isinstance(ifname, str):
            nic = report.nic_by_netdev(ifname)
        hca = report.rdma_for_netdev(ifname) if isinstance(ifname, str) else None
        hca_names = [hca.name] if hca else list(nic.rdma_devices) if nic else []
        infiniband = d.attributes.get("encapsulation") == "infiniband" or (
            nic is not None and nic.link_type == "infiniband"
        )
        if not hca_names or not infiniband:
            continue
        out.append(
            Finding(
                id="dra.ipoib-published-without-rdma",
                severity=Severity.ERROR,
                title=f"{d.driver} publishes IPoIB netdev {ifname or d.name} with rdma=false, "
                f"but the node shows its HCA {hca_names[0]}",
                subject=str(ifname or d.name),
                evidence={
                    "device": f"{d.driver}/{d.name}",
                    "ifName": str(ifname) if ifname is not None else None,
                    "pciAddress": str(pci) if pci is not None else None,
                    "RDMA devices on the node": hca_names,
                },
                why="A DeviceClass that selects rdma == true (as `dualnet render --target dra` "
                "writes) never matches this device, so claims for it stay pending; one that does "
                "not would give pods the netdev without its RDMA device.",
                fix=[
                    "rdma link show   # the IPoIB netdev must be listed next to its port",
                    "kubectl -n kube-system logs -l k8s-app=dranet --tail=100 | grep -i rdma",
                    "kubectl -n kube-system rollout restart daemonset/dranet   # after ib_ipoib "
                    "and the HCA are up, so the driver re-reads them",
                ],
            )
        )
    return out
