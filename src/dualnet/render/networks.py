"""The training network itself: the CNI config, its NetworkAttachmentDefinition, and the
Network Operator's network custom resources."""

from __future__ import annotations

from typing import Any

from dualnet.labels import RESOURCE_NAME_ANNOTATION
from dualnet.plan.model import Plan
from dualnet.render.cni_check import OFFLOAD_NETWORK_NAMES
from dualnet.render.common import meta, to_json
from dualnet.spec import IpamType, SharedCni

CNI_VERSION = "0.3.1"  # the guide's and the notes' version; every plugin here accepts it
WHEREABOUTS_KUBECONFIG = "/etc/cni/net.d/whereabouts.d/whereabouts.kubeconfig"


def ipam_config(plan: Plan) -> dict[str, Any]:
    ipam = plan.spec.spec.ipam
    routes = [{"dst": r.dst, **({"gw": r.gw} if r.gw else {})} for r in ipam.routes]
    out: dict[str, Any] = {"type": ipam.type.value}
    if ipam.type is IpamType.HOST_LOCAL:
        out["subnet"] = ipam.subnet
        if ipam.range_start:
            out["rangeStart"] = ipam.range_start
        if ipam.range_end:
            out["rangeEnd"] = ipam.range_end
        if ipam.gateway:
            out["gateway"] = ipam.gateway
    elif ipam.type is IpamType.STATIC:
        if ipam.addresses:
            out["addresses"] = [
                {"address": a.address, **({"gateway": a.gateway} if a.gateway else {})}
                for a in ipam.addresses
            ]
    elif ipam.type is IpamType.WHEREABOUTS:
        out["range"] = ipam.subnet
        if ipam.range_start:
            out["range_start"] = ipam.range_start
        if ipam.range_end:
            out["range_end"] = ipam.range_end
        if ipam.exclude:
            out["exclude"] = list(ipam.exclude)
        if ipam.gateway:
            out["gateway"] = ipam.gateway
        out["kubernetes"] = {"kubeconfig": WHEREABOUTS_KUBECONFIG}
    if routes:
        out["routes"] = routes
    return out


def _main_plugin(plan: Plan) -> dict[str, Any]:
    s = plan.spec.spec
    ipam = ipam_config(plan)
    cni = plan.cni_type
    p: dict[str, Any] = {"type": cni}
    if cni == SharedCni.MACVLAN.value:
        p["master"] = plan.master
        p["mode"] = s.macvlan_mode.value
        if s.mtu is not None:
            p["mtu"] = s.mtu
    elif cni == SharedCni.IPVLAN.value:
        p["master"] = plan.master
        p["mode"] = s.ipvlan_mode.value
        if s.mtu is not None:
            p["mtu"] = s.mtu
    elif cni == "host-device":
        # the SR-IOV device plugin hands Multus the PF's PCI address as deviceID
        p["capabilities"] = {"deviceID": True}
    elif cni == "sriov":
        if s.vlan is not None:
            p["vlan"] = s.vlan
        if s.mtu is not None:
            p["mtu"] = s.mtu
    elif cni == "ipoib":
        p["master"] = plan.master
    elif cni == "ib-sriov":
        if s.pkey is not None:
            p["pkey"] = s.pkey
        p["link_state"] = "enable"
        if not plan.rdma_cni and plan.netns_mode == "exclusive":
            # without RDMA CNI the plugin isolates the VF's RDMA device itself; the plan asks
            # for exclusive mode (and a host step) for it, as ib-sriov-cni checks
            p["rdmaIsolation"] = True
    if needs_ips_capability(plan):
        # per-pod addresses come from the networks annotation's "ips"
        p["capabilities"] = {**p.get("capabilities", {}), "ips": True}
    p["ipam"] = ipam
    return p


def offload_cni_config(plan: Plan) -> dict[str, Any] | None:
    """OVS offload: the default-network config the cluster CNI's offload guide gives, or None.

    The name is the cluster CNI's own network name, not the NAD's: this config stands in for the
    node's default network, and the CNI reads its settings (addresses, MTU, overlay) from its own
    configuration. OVN-Kubernetes: `ovn-k8s-cni-overlay` with empty ipam/dns (ovn-org/
    ovn-kubernetes docs/features/hardware-offload/ovs-kernel.md). Antrea: its `antrea` plugin with
    host-local (which the Antrea agent fills from the node's pod CIDR) and portmap chained, as its
    default conflist has (antrea-io/antrea docs/ovs-offload.md)."""
    if plan.offload_cni == "ovn-kubernetes":
        return {"cniVersion": CNI_VERSION, "name": OFFLOAD_NETWORK_NAMES["ovn-k8s-cni-overlay"],
                "type": "ovn-k8s-cni-overlay", "ipam": {}, "dns": {}}
    if plan.offload_cni == "antrea":
        return {"cniVersion": CNI_VERSION, "name": OFFLOAD_NETWORK_NAMES["antrea"],
                "plugins": [{"type": "antrea", "ipam": {"type": "host-local"}},
                            {"type": "portmap", "capabilities": {"portMappings": True}}]}
    return None


def cni_config(plan: Plan) -> dict[str, Any]:
    """The CNI network config of the NAD: one plugin, or a conflist with RDMA CNI chained; with
    OVS offload, the cluster CNI's default-network config."""
    offload = offload_cni_config(plan)
    if offload is not None:
        return offload
    main = _main_plugin(plan)
    if plan.rdma_cni:
        return {"cniVersion": CNI_VERSION, "name": plan.name,
                "plugins": [main, {"type": "rdma"}]}
    return {"cniVersion": CNI_VERSION, "name": plan.name, **main}


def nad(plan: Plan) -> dict[str, Any]:
    return {
        "apiVersion": "k8s.cni.cncf.io/v1",
        "kind": "NetworkAttachmentDefinition",
        "metadata": meta(plan, plan.name, "network", namespace=plan.namespace,
                         annotations={RESOURCE_NAME_ANNOTATION: plan.resource_name}),
        "spec": {"config": to_json(cni_config(plan))},
    }


def namespace_object(plan: Plan) -> list[dict[str, Any]]:
    if plan.namespace in ("default", "kube-system"):
        return []
    return [{"apiVersion": "v1", "kind": "Namespace",
             "metadata": meta(plan, plan.namespace, "network")}]


_OPERATOR_KIND = {"macvlan": "MacvlanNetwork", "host-device": "HostDeviceNetwork",
                  "ipoib": "IPoIBNetwork"}


def needs_ips_capability(plan: Plan) -> bool:
    """Static IPAM without fixed addresses takes each pod's address from the networks
    annotation's `ips`; Multus passes it only to a config that declares capabilities.ips."""
    ipam = plan.spec.spec.ipam
    return ipam.type is IpamType.STATIC and not ipam.addresses


def operator_network_refusal(plan: Plan) -> str | None:
    """Why the Network Operator's network resource cannot carry this network (a plain NAD is
    rendered then); None when it can."""
    kind = _OPERATOR_KIND.get(plan.cni_type)
    if plan.offload_cni is not None:
        return (f"with OVS offload the NAD is {plan.offload_cni}'s default-network config, which "
                "no Network Operator network resource writes")
    if kind is None:
        return f"the Network Operator has no network resource for {plan.cni_type}"
    if kind == "HostDeviceNetwork" and plan.rdma_cni:
        return "HostDeviceNetwork writes a single host-device plugin, without RDMA CNI chained"
    if kind == "HostDeviceNetwork" and plan.resource_prefix != "nvidia.com":
        return (f"HostDeviceNetwork prefixes resourceName with nvidia.com/, not "
                f"{plan.resource_prefix}/")
    if needs_ips_capability(plan):
        # the CRDs (v25.4 .. v26.7) have no capabilities field, and the operator's templates
        # write spec.ipam verbatim after "ipam": (manifests/state-*-network, pkg/state)
        return (f"{kind} cannot declare the CNI capability \"ips\" that static IPAM with "
                "per-pod addresses needs (Multus would not pass the pod's address: \"IPAM "
                "plugin returned missing IP config\")")
    return None


def operator_network(plan: Plan) -> dict[str, Any] | None:
    """The Network Operator CR that renders the same NAD, where the operator has one that can
    carry the network (see operator_network_refusal)."""
    if operator_network_refusal(plan) is not None:
        return None
    s = plan.spec.spec
    ipam = to_json(ipam_config(plan)).strip()
    base = {"apiVersion": "mellanox.com/v1alpha1"}
    if plan.cni_type == "macvlan":
        spec: dict[str, Any] = {"networkNamespace": plan.namespace, "master": plan.master,
                                "mode": s.macvlan_mode.value}
        if s.mtu is not None:
            spec["mtu"] = s.mtu
        spec["ipam"] = ipam
        return {**base, "kind": "MacvlanNetwork",
                "metadata": meta(plan, plan.name, "network"), "spec": spec}
    if plan.cni_type == "host-device":
        # the operator prefixes resourceName with nvidia.com/ itself
        return {**base, "kind": "HostDeviceNetwork", "metadata": meta(plan, plan.name, "network"),
                "spec": {"networkNamespace": plan.namespace,
                         "resourceName": plan.resource_short_name, "ipam": ipam}}
    return {**base, "kind": "IPoIBNetwork", "metadata": meta(plan, plan.name, "network"),
            "spec": {"networkNamespace": plan.namespace, "master": plan.master, "ipam": ipam}}
