"""Small builders shared by the renderers: metadata with ownership labels, JSON for configs."""

from __future__ import annotations

import json
from typing import Any

from dualnet.labels import owned_labels
from dualnet.plan.model import Plan

SYSTEM_NAMESPACE = "kube-system"
ARCHES = ["amd64", "arm64"]


def meta(
    plan: Plan,
    name: str,
    role: str,
    *,
    namespace: str | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    if namespace is not None:
        out["namespace"] = namespace
    out["labels"] = {**(labels or {}), **owned_labels(plan.name, role)}
    if annotations:
        out["annotations"] = annotations
    return out


def to_json(data: Any) -> str:
    """Stable, readable JSON for ConfigMaps and NAD configs (byte-identical for equal input)."""
    return json.dumps(data, indent=2, sort_keys=False) + "\n"


def linux_arch_affinity() -> dict[str, Any]:
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                            {"key": "kubernetes.io/arch", "operator": "In", "values": ARCHES},
                        ]
                    }
                ]
            }
        }
    }


def tolerate_all() -> list[dict[str, Any]]:
    return [
        {"operator": "Exists", "effect": "NoSchedule"},
        {"operator": "Exists", "effect": "NoExecute"},
    ]


def host_path(name: str, path: str, type_: str | None = None) -> dict[str, Any]:
    hp: dict[str, Any] = {"path": path}
    if type_:
        hp["type"] = type_
    return {"name": name, "hostPath": hp}


def daemonset(
    plan: Plan,
    name: str,
    app: str,
    pod_spec: dict[str, Any],
    *,
    namespace: str = SYSTEM_NAMESPACE,
) -> dict[str, Any]:
    selector = {"name": app}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": meta(plan, name, "component", namespace=namespace,
                         labels={"app": app, "tier": "node"}),
        "spec": {
            "selector": {"matchLabels": selector},
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": {**selector, "app": app, "tier": "node"}},
                "spec": pod_spec,
            },
        },
    }


def cni_installer_daemonset(
    plan: Plan, name: str, app: str, image: str, *, container: str
) -> dict[str, Any]:
    """The common shape of the CNI binary installers (sriov-cni, rdma-cni, ipoib-cni, ...): the
    image's entrypoint copies its binary to /host/opt/cni/bin and sleeps."""
    return daemonset(plan, name, app, {
        "hostNetwork": True,
        "affinity": linux_arch_affinity(),
        "tolerations": tolerate_all(),
        "containers": [{
            "name": container,
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            "securityContext": {"privileged": True},
            "resources": {
                "requests": {"cpu": "10m", "memory": "15Mi"},
                "limits": {"cpu": "100m", "memory": "50Mi"},
            },
            "volumeMounts": [{"name": "cnibin", "mountPath": "/host/opt/cni/bin"}],
        }],
        "volumes": [host_path("cnibin", "/opt/cni/bin", "DirectoryOrCreate")],
    })


def base_name(plan: Plan) -> str:
    """Name stem for pods: the guide's NAD `rdma-net` goes with the pod `rdma-test`."""
    return plan.name.removesuffix("-net") or plan.name
