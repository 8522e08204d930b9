"""Test pods for `verify` and `bench`: taken from `dualnet render` output (role test-pod), or
built the way the guide's step 6 builds one. Pure builders."""

from __future__ import annotations

import copy
import ipaddress
import json
import secrets
from typing import Any

from dualnet import labels
from dualnet.names import check_dns1123_label

RUN_LABEL = "dualnet.io/run"
# needs iproute2, iputils-ping, ibverbs-utils and perftest inside; --image overrides
DEFAULT_IMAGE = "ghcr.io/coreweave/nccl-tests:12.9.1-devel-ubuntu24.04-nccl2.29.2-1-d73ec07"


def run_id() -> str:
    return secrets.token_hex(3)


def rendered_test_pods(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    roles = {"test-pod", "gdr-test-pod"}
    return [o for o in objects if o.get("kind") == "Pod"
            and ((o.get("metadata") or {}).get("labels") or {}).get(labels.ROLE) in roles]


def rendered_helpers(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ConfigMaps the rendered test pods mount (the `dualnet-pod` preflight helper)."""
    return [o for o in objects if o.get("kind") == "ConfigMap"
            and ((o.get("metadata") or {}).get("labels") or {}).get(labels.ROLE) == "test-pod"]


def build_test_pod(
    name: str,
    namespace: str,
    *,
    network: str,
    nad: str,
    resource: str,
    image: str = DEFAULT_IMAGE,
    run: str,
    role: str = "test-pod",
    gpus: int = 0,
) -> dict[str, Any]:
    """The guide's rdma-test pod, spread across nodes by anti-affinity on the run label."""
    check_dns1123_label(name, field="pod name")
    limits: dict[str, Any] = {resource: 1}
    if gpus:
        limits["nvidia.com/gpu"] = gpus
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {**labels.owned_labels(network, role), RUN_LABEL: run},
            "annotations": {labels.NETWORKS_ANNOTATION: nad},
        },
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 0,
            "affinity": {"podAntiAffinity": {
                # preferred, not required: a one-node cluster (the guide's) still runs the checks
                "preferredDuringSchedulingIgnoredDuringExecution": [{
                    "weight": 100,
                    "podAffinityTerm": {
                        "labelSelector": {"matchLabels": {RUN_LABEL: run}},
                        "topologyKey": "kubernetes.io/hostname",
                    },
                }],
            }},
            "containers": [{
                "name": "test",
                "image": image,
                "command": ["sleep", "infinity"],
                # RDMA registers (pins) memory: IPC_LOCK lifts the memlock limit for it
                "securityContext": {"capabilities": {"add": ["IPC_LOCK"]}},
                "resources": {"limits": limits},
            }],
        },
    }


def instances(template: dict[str, Any], count: int, run: str) -> list[dict[str, Any]]:
    """`count` copies of a rendered test pod, renamed and spread across nodes."""
    out: list[dict[str, Any]] = []
    base = template["metadata"]["name"]
    for i in range(count):
        pod = copy.deepcopy(template)
        meta = pod["metadata"]
        meta["name"] = f"{base}-{run}-{i}"[:63]
        _own_static_ips(meta, i)
        meta.setdefault("labels", {})[RUN_LABEL] = run
        spec = pod.setdefault("spec", {})
        spec.setdefault("terminationGracePeriodSeconds", 0)
        spec.setdefault("restartPolicy", "Never")
        spec["affinity"] = {"podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [{
                "weight": 100,
                "podAffinityTerm": {"labelSelector": {"matchLabels": {RUN_LABEL: run}},
                                    "topologyKey": "kubernetes.io/hostname"},
            }],
        }}
        out.append(pod)
    return out


def _own_static_ips(meta: dict[str, Any], offset: int) -> None:
    """Copy `offset` of a pod whose networks annotation names static `ips` gets those addresses
    moved up by `offset`: identical copies would share one address, and a ping to a duplicate
    address can pass without crossing the wire."""
    annotations = meta.get("annotations") or {}
    raw = annotations.get(labels.NETWORKS_ANNOTATION, "")
    if offset == 0 or not raw.lstrip().startswith("["):
        return
    networks = json.loads(raw)
    for net in networks:
        if isinstance(net, dict) and isinstance(net.get("ips"), list):
            net["ips"] = [_moved(str(ip), offset) for ip in net["ips"]]
    annotations[labels.NETWORKS_ANNOTATION] = json.dumps(networks, separators=(",", ":"))


def _moved(ip: str, offset: int) -> str:
    iface = ipaddress.ip_interface(ip)
    moved = iface.ip + offset
    return f"{moved}/{iface.network.prefixlen}" if "/" in ip else str(moved)
