"""`render --target dra` for SR-IOV VFs: the SR-IOV DRA driver
(k8snetworkplumbingwg/dra-driver-sriov, driver `sriovnetwork.k8snetworkplumbingwg.io`) with
Multus. Names from its source (pkg/api/sriovdra/v1alpha1/api.go, pkg/api/virtualfunction/v1alpha1/
api.go, pkg/consts/consts.go):

* `SriovResourcePolicy` (nodeSelector, configs[].resourceFilters: vendors, devices, pfNames,
  linkType; configs[].deviceAttributesSelector) and `DeviceAttributes` (spec.attributes: qualified
  name -> DeviceAttribute);
* the opaque claim config `VfConfig` (ifName, netAttachDefName, netAttachDefNamespace);
* the Multus attribute `k8s.cni.cncf.io/resourceName`: Multus attaches a claimed VF through the
  NAD whose `k8s.v1.cni.cncf.io/resourceName` annotation equals it, and silently skips a device
  whose attribute matches no NAD. Both values come from `multus_resource_name`, and
  `resource_name_problems` lints rendered objects for a mismatch.
"""

from __future__ import annotations

from typing import Any

from dualnet.labels import NETWORK, NETWORKS_ANNOTATION, RESOURCE_NAME_ANNOTATION
from dualnet.plan.model import Plan
from dualnet.render.common import base_name, meta
from dualnet.render.images import image
from dualnet.render.networks import nad, namespace_object

SRIOV_DRIVER = "sriovnetwork.k8snetworkplumbingwg.io"
SRIOV_API = f"{SRIOV_DRIVER}/v1alpha1"
DRIVER_NAMESPACE = "dra-driver-sriov"  # where the driver's chart runs and reads its policies
MULTUS_DOMAIN = "k8s.cni.cncf.io"
MULTUS_RESOURCE_ATTR = f"{MULTUS_DOMAIN}/resourceName"
POD_IFNAME = "net1"


def multus_resource_name(plan: Plan) -> str:
    """The one value both the VFs' Multus attribute and the NAD's annotation carry."""
    return plan.resource_name


def _attr_labels(plan: Plan) -> dict[str, str]:
    return {NETWORK: plan.name}


def device_attributes(plan: Plan) -> dict[str, Any]:
    return {
        "apiVersion": SRIOV_API,
        "kind": "DeviceAttributes",
        "metadata": meta(plan, f"{plan.name}-attrs", "component", namespace=DRIVER_NAMESPACE),
        "spec": {"attributes": {MULTUS_RESOURCE_ATTR: {"string": multus_resource_name(plan)}}},
    }


def resource_policy(plan: Plan) -> dict[str, Any]:
    """Which VFs the driver advertises, from discovery: the PFs' vendor, their VFs' device id,
    the PF names, the link type; on the planned nodes only."""
    nics = [n for hp in plan.hosts for n in hp.nics]
    filt: dict[str, Any] = {"vendors": sorted({n.vendor_id for n in nics})}
    vf_ids = sorted({n.vf_device_id for n in nics if n.vf_device_id})
    if vf_ids:
        filt["devices"] = vf_ids
    filt["pfNames"] = sorted({n.netdev for n in nics})
    filt["linkType"] = "infiniband" if plan.link_layer == "InfiniBand" else "ethernet"
    return {
        "apiVersion": SRIOV_API,
        "kind": "SriovResourcePolicy",
        "metadata": meta(plan, f"{plan.name}-policy", "component", namespace=DRIVER_NAMESPACE),
        "spec": {
            "nodeSelector": {"nodeSelectorTerms": [{"matchExpressions": [{
                "key": "kubernetes.io/hostname", "operator": "In",
                "values": [hp.hostname for hp in plan.hosts]}]}]},
            "configs": [{"deviceAttributesSelector": {"matchLabels": _attr_labels(plan)},
                         "resourceFilters": [filt]}],
        },
    }


def device_class_name(plan: Plan) -> str:
    return f"{plan.name}-sriov"


def _vf_config(plan: Plan) -> dict[str, Any]:
    return {"apiVersion": SRIOV_API, "kind": "VfConfig", "ifName": POD_IFNAME,
            "netAttachDefName": plan.name, "netAttachDefNamespace": plan.namespace}


def device_class(plan: Plan) -> dict[str, Any]:
    """The class, with the extended-resource bridge: a pod that still asks for
    `resources.limits: <resource>: 1` gets a VF of this class through an implicit claim, and the
    class's own VfConfig attaches it through the NAD (the DRAExtendedResource feature; where the
    API server does not enable it, the field is dropped and only claims work)."""
    attr = f'device.attributes["{MULTUS_DOMAIN}"].resourceName'
    expr = (f'device.driver == "{SRIOV_DRIVER}" && has({attr}) && '
            f'{attr} == "{multus_resource_name(plan)}"')
    return {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "DeviceClass",
        "metadata": meta(plan, device_class_name(plan), "component"),
        "spec": {
            "selectors": [{"cel": {"expression": expr}}],
            "config": [{"opaque": {"driver": SRIOV_DRIVER, "parameters": _vf_config(plan)}}],
            "extendedResourceName": plan.resource_name,
        },
    }


def claim_template_name(plan: Plan) -> str:
    return f"{base_name(plan)}-vf"


def claim_template(plan: Plan) -> dict[str, Any]:
    return {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceClaimTemplate",
        "metadata": meta(plan, claim_template_name(plan), "claim-template",
                         namespace=plan.namespace),
        "spec": {"spec": {"devices": {
            "requests": [{"name": "vf", "exactly": {
                "deviceClassName": device_class_name(plan), "count": 1}}],
            "config": [{"requests": ["vf"], "opaque": {"driver": SRIOV_DRIVER,
                                                       "parameters": _vf_config(plan)}}],
        }}},
    }


def _pod(plan: Plan, role: str) -> dict[str, Any]:
    s = plan.spec.spec
    gdr = role == "gdr"
    container: dict[str, Any] = {
        "name": "gdr-test" if gdr else "test",
        "image": image(s.images, "gpu_test" if gdr else "test"),
        "command": ["sleep", "infinity"],
        "securityContext": {"capabilities": {"add": ["IPC_LOCK"]}},
        "resources": {"claims": [{"name": "vf"}]},
    }
    if gdr:  # the GPU stays with the NVIDIA device plugin here
        container["resources"]["limits"] = {"nvidia.com/gpu": 1}
    name = f"{base_name(plan)}-{'gdr-test' if gdr else 'test'}"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta(plan, name, "gdr-test-pod" if gdr else "test-pod",
                         namespace=plan.namespace,
                         annotations={NETWORKS_ANNOTATION: plan.name}),
        "spec": {
            "resourceClaims": [{"name": "vf",
                                "resourceClaimTemplateName": claim_template_name(plan)}],
            "containers": [container],
        },
    }


def render_sriov_dra(plan: Plan) -> list[dict[str, Any]]:
    from dualnet.render.dra_bench import sriov_bench

    return [
        device_attributes(plan), resource_policy(plan), device_class(plan),
        *namespace_object(plan), nad(plan), claim_template(plan),
        _pod(plan, "test"), _pod(plan, "gdr"), *sriov_bench(plan),
    ]


def resource_name_problems(objects: list[dict[str, Any]]) -> list[str]:
    """Multus skips, without an error, a claimed VF whose k8s.cni.cncf.io/resourceName matches
    no NAD: every such attribute must equal a NAD's resourceName annotation, and the other way
    round when SR-IOV DRA objects are present."""
    attrs = {str(v.get("string")) for o in objects if o.get("kind") == "DeviceAttributes"
             for k, v in (o.get("spec", {}).get("attributes") or {}).items()
             if k == MULTUS_RESOURCE_ATTR and isinstance(v, dict)}
    if not attrs:
        return []
    problems: list[str] = []
    nads = {o["metadata"].get("name"): (o["metadata"].get("annotations") or {}).get(
        RESOURCE_NAME_ANNOTATION) for o in objects if o.get("kind") ==
        "NetworkAttachmentDefinition"}
    for name, res in sorted(nads.items(), key=lambda kv: str(kv[0])):
        if res not in attrs:
            problems.append(f"NetworkAttachmentDefinition {name}: metadata.annotations."
                            f"{RESOURCE_NAME_ANNOTATION}: {res!r} matches no DeviceAttributes "
                            f"{MULTUS_RESOURCE_ATTR} ({', '.join(sorted(attrs))}): Multus would "
                            "skip the claimed VF")
    for a in sorted(attrs - set(nads.values())):
        problems.append(f"DeviceAttributes: spec.attributes.{MULTUS_RESOURCE_ATTR}: {a!r} "
                        "matches no NAD's resourceName annotation: Multus would skip the VF")
    return problems
