"""plan -> Kubernetes objects, in a fixed order (components, networks, workloads)."""

from __future__ import annotations

from typing import Any, Literal

from dualnet.errors import UsageError
from dualnet.plan.model import Plan
from dualnet.render.common import meta, to_json
from dualnet.render.components import components
from dualnet.render.images import OPERATOR_MULTUS, image, split_image
from dualnet.render.networks import nad, namespace_object, operator_network
from dualnet.render.workloads import workloads

Target = Literal["plain", "network-operator"]
TARGETS: tuple[str, ...] = ("plain", "network-operator")

# What NicClusterPolicy deploys itself; everything else stays a plain object.
OPERATOR_MANAGED = frozenset({
    "multus", "cni-plugins", "rdma-shared-device-plugin", "sriov-device-plugin", "ipoib-cni",
    "whereabouts",
})


def _image_spec(ref: str, **extra: Any) -> dict[str, Any]:
    repo, img, version = split_image(ref)
    return {"image": img, "repository": repo, "version": version, **extra}


def nic_cluster_policy(plan: Plan) -> dict[str, Any]:
    imgs = plan.spec.spec.images
    spec: dict[str, Any] = {}
    if plan.shared_dp_config is not None:
        spec["rdmaSharedDevicePlugin"] = _image_spec(
            image(imgs, "rdma_shared_device_plugin"), config=to_json(plan.shared_dp_config))
    if plan.sriov_dp_config is not None:
        spec["sriovDevicePlugin"] = _image_spec(
            image(imgs, "sriov_device_plugin"), config=to_json(plan.sriov_dp_config))
    secondary: dict[str, Any] = {
        "cniPlugins": _image_spec(image(imgs, "cni_plugins")),
        "multus": _image_spec(imgs.multus or OPERATOR_MULTUS),
    }
    if "ipoib-cni" in plan.components:
        secondary["ipoib"] = _image_spec(image(imgs, "ipoib_cni"))
    if "whereabouts" in plan.components:
        secondary["ipamPlugin"] = _image_spec(image(imgs, "whereabouts"))
    spec["secondaryNetwork"] = secondary
    return {
        "apiVersion": "mellanox.com/v1alpha1",
        "kind": "NicClusterPolicy",
        # the operator acts only on the instance with this exact name
        "metadata": meta(plan, "nic-cluster-policy", "component"),
        "spec": spec,
    }


def render(plan: Plan, *, target: Target = "plain") -> list[dict[str, Any]]:
    """Every object the plan needs, deterministic order. `network-operator` replaces the
    components the NVIDIA Network Operator deploys with a NicClusterPolicy, and the NAD with the
    operator's MacvlanNetwork / HostDeviceNetwork / IPoIBNetwork where one exists."""
    if target not in TARGETS:
        raise UsageError(f"--target: {target!r} is not a render target",
                         hint=f"one of: {', '.join(TARGETS)}")
    out: list[dict[str, Any]] = []
    if target == "plain":
        out += components(plan)
        out += namespace_object(plan)
        out.append(nad(plan))
    else:
        out.append(nic_cluster_policy(plan))
        out += components(plan, skip=OPERATOR_MANAGED)
        out += namespace_object(plan)
        cr = operator_network(plan)
        out.append(cr if cr is not None else nad(plan))
    out += workloads(plan)
    return out
