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


def _json(data: Any, indent: int) -> str:
    pad = "  " * (indent + 1)
    if isinstance(data, dict) and data:
        items = [f"{pad}{json.dumps(k)}: {_json(v, indent + 1)}" for k, v in data.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    if isinstance(data, list) and data:
        if all(not isinstance(v, dict | list) for v in data):
            # lists of scalars on one line, as the guide writes selectors: ["15b3"]
            return "[" + ", ".join(json.dumps(v) for v in data) + "]"
        items = [f"{pad}{_json(v, indent + 1)}" for v in data]
        return "[\n" + ",\n".join(items) + "\n" + "  " * indent + "]"
    return json.dumps(data)


def to_json(data: Any) -> str:
    """Stable, readable JSON for ConfigMaps and NAD configs (byte-identical for equal input):
    two-space indent, key order kept, lists of scalars on one line."""
    return _json(data, 0) + "\n"


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


# What a container needs to copy a binary into a hostPath: nothing. sriov-cni's own manifest
# (images/sriov-cni-daemonset.yaml, v2.9.0) runs its installer so; the other installers' upstream
# manifests (rdma-cni, ib-sriov-cni, ipoib-cni, the Network Operator's cni-plugins) still ask for
# privileged, and dualnet keeps to each one's own manifest.
UNPRIVILEGED: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "privileged": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}
PRIVILEGED: dict[str, Any] = {"privileged": True}


def cni_installer_daemonset(
    plan: Plan, name: str, app: str, image: str, *, container: str,
    security_context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The common shape of the CNI binary installers (sriov-cni, rdma-cni, ipoib-cni, ...): the
    image's entrypoint copies its binary to /host/opt/cni/bin and sleeps. `security_context` is
    the one the component's upstream manifest uses (privileged when not given)."""
    return daemonset(plan, name, app, {
        "hostNetwork": True,
        "affinity": linux_arch_affinity(),
        "tolerations": tolerate_all(),
        "containers": [{
            "name": container,
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            "securityContext": dict(security_context or PRIVILEGED),
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
