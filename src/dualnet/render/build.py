"""plan -> Kubernetes objects, in a fixed order (components, networks, workloads).

Each render target is one builder in TARGET_BUILDERS; a new target (e.g. DRA) is one more entry.
`render_notes` says, for the plan a person reads, what a target chose that the objects alone do
not explain (who deploys IPAM, why a plain NAD stands in for an operator CR)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from dualnet.errors import UsageError
from dualnet.plan.model import Plan, PlanWarning
from dualnet.render.common import meta, to_json
from dualnet.render.components import components
from dualnet.render.dra import dra_plan_notes, render_dra
from dualnet.render.dra_overlap import over_admission_warnings
from dualnet.render.images import OPERATOR_MULTUS, image, split_image
from dualnet.render.networks import (
    nad,
    namespace_object,
    operator_network,
    operator_network_refusal,
)
from dualnet.render.operator_versions import (
    DEFAULT_OPERATOR_VERSION,
    OperatorRelease,
    operator_release,
)
from dualnet.render.validate import DEFAULT_K8S_VERSION
from dualnet.render.workloads import workloads

Target = Literal["plain", "network-operator", "dra"]

# What NicClusterPolicy deploys itself (whereabouts only where the release still has
# secondaryNetwork.ipamPlugin); everything else stays a plain object.
OPERATOR_MANAGED = frozenset({
    "multus", "cni-plugins", "rdma-shared-device-plugin", "sriov-device-plugin", "ipoib-cni",
})


def operator_managed(release: OperatorRelease) -> frozenset[str]:
    return OPERATOR_MANAGED | ({"whereabouts"} if release.ipam_plugin else set())


def _image_spec(ref: str, **extra: Any) -> dict[str, Any]:
    repo, img, version = split_image(ref)
    return {"image": img, "repository": repo, "version": version, **extra}


def nic_cluster_policy(
    plan: Plan, release: OperatorRelease | None = None
) -> dict[str, Any]:
    release = release or operator_release(DEFAULT_OPERATOR_VERSION)
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
    if "whereabouts" in plan.components and release.ipam_plugin:
        secondary["ipamPlugin"] = _image_spec(image(imgs, "whereabouts"))
    spec["secondaryNetwork"] = secondary
    return {
        "apiVersion": "mellanox.com/v1alpha1",
        "kind": "NicClusterPolicy",
        # the operator acts only on the instance with this exact name
        "metadata": meta(plan, "nic-cluster-policy", "component"),
        "spec": spec,
    }


def _plain(plan: Plan, release: OperatorRelease) -> list[dict[str, Any]]:
    del release
    return [*components(plan), *namespace_object(plan), nad(plan)]


def _network_operator(plan: Plan, release: OperatorRelease) -> list[dict[str, Any]]:
    cr = operator_network(plan)
    return [
        nic_cluster_policy(plan, release),
        *components(plan, skip=operator_managed(release)),
        *namespace_object(plan),
        cr if cr is not None else nad(plan),
    ]


TARGET_BUILDERS: dict[str, Callable[[Plan, OperatorRelease], list[dict[str, Any]]]] = {
    "plain": _plain,
    "network-operator": _network_operator,
}
# dra is built apart (render.dra): its objects replace the workloads too, and it depends on the
# Kubernetes version (resource.k8s.io/v1 from 1.34), not on an operator release
TARGETS: tuple[str, ...] = (*TARGET_BUILDERS, "dra")


def check_target(target: str) -> None:
    if target not in TARGETS:
        raise UsageError(f"--target: {target!r} is not a render target",
                         hint=f"one of: {', '.join(TARGETS)}")


def render(
    plan: Plan, *, target: Target = "plain",
    operator_version: str = DEFAULT_OPERATOR_VERSION, k8s_version: str = DEFAULT_K8S_VERSION,
) -> list[dict[str, Any]]:
    """Every object the plan needs, deterministic order. `network-operator` replaces the
    components the NVIDIA Network Operator (of `operator_version`) deploys with a
    NicClusterPolicy, and the NAD with the operator's MacvlanNetwork / HostDeviceNetwork /
    IPoIBNetwork where one can carry the network. `dra` renders resource.k8s.io/v1 objects for a
    DRA driver instead (render.dra), or refuses the mode with the reason."""
    check_target(target)
    if target == "dra":
        return render_dra(plan, k8s_version)
    release = operator_release(operator_version)
    return [*TARGET_BUILDERS[target](plan, release), *workloads(plan)]


def render_warnings(plan: Plan, *, target: Target = "plain") -> list[PlanWarning]:
    """Warnings only a target can raise, added to the plan's own where render prints them:
    `dra` names the PCI functions a configured device plugin already advertises."""
    check_target(target)
    return over_admission_warnings(plan) if target == "dra" else []


def render_notes(
    plan: Plan, *, target: Target = "plain",
    operator_version: str = DEFAULT_OPERATOR_VERSION,
) -> list[str]:
    """What the target chose, one sentence each, for PLAN.md and the render command's output."""
    check_target(target)
    if target == "dra":
        return dra_plan_notes(plan)
    if target != "network-operator":
        return []
    release = operator_release(operator_version)
    notes = [f"Rendered for NVIDIA Network Operator {release.name}: one NicClusterPolicy "
             "(nic-cluster-policy) deploys Multus, the CNI plugins and the device plugin."]
    if "whereabouts" in plan.components:
        if release.ipam_plugin:
            notes.append("IPAM: whereabouts, deployed by the operator "
                         "(NicClusterPolicy secondaryNetwork.ipamPlugin).")
        else:
            notes.append(
                f"IPAM: whereabouts, deployed by dualnet itself (DaemonSet "
                f"kube-system/whereabouts, its CRDs and RBAC): NicClusterPolicy has no "
                f"secondaryNetwork.ipamPlugin since v25.10.0, so {release.name} would install "
                "no IPAM for it.")
    why_not = operator_network_refusal(plan)
    if why_not is not None:
        notes.append(f"Network: a plain NetworkAttachmentDefinition, not the operator's "
                     f"network resource: {why_not}.")
    return notes
