"""Pods that use the network: the guide's test pod, a GPUDirect test pod, a DPDK pod, and a
benchmark Job template (suspended: resume one copy as the ib_write_bw server and one with PEER_IP
set to the server's net1 address as the client; `dualnet bench` launches its own pods)."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from dualnet.labels import DEFAULT_NETWORK_ANNOTATION, NETWORKS_ANNOTATION
from dualnet.modes import Mode
from dualnet.plan.model import Plan
from dualnet.plan.nccl import SOCKET_IFNAME, ib_hca_value, qos_env
from dualnet.render.common import base_name, meta
from dualnet.render.images import image
from dualnet.render.podhelper import (
    helper_configmap,
    helper_mount,
    helper_volume,
    nccl_exec_command,
    preflight_container,
)
from dualnet.spec import IpamType


def _resources(plan: Plan, **extra: Any) -> dict[str, Any]:
    return {"limits": {plan.resource_name: 1, **extra}}


# Host numbers of the per-pod static addresses: the test pod, the GPUDirect pod, the DPDK pod and
# the bench Job each take their own, away from the low addresses gateways usually hold.
STATIC_HOST = {"test": 10, "gdr": 11, "dpdk": 12, "bench": 20}


def _annotations(plan: Plan, role: str) -> dict[str, str]:
    """The networks annotation. Static IPAM without fixed addresses takes each pod's address from
    the annotation's `ips` (the NAD declares the `ips` capability), so those pods use the JSON form;
    everything else uses the guide's plain name."""
    if plan.offload_cni is not None:
        # the offload NAD replaces the pod's default network (eth0): OVN-Kubernetes' and
        # Antrea's offload guides name it in Multus' default-network annotation
        return {DEFAULT_NETWORK_ANNOTATION: f"{plan.namespace}/{plan.name}"}
    ipam = plan.spec.spec.ipam
    if ipam.type is IpamType.STATIC and not ipam.addresses and ipam.subnet:
        net = ipaddress.ip_network(ipam.subnet, strict=False)
        addr = f"{net.network_address + STATIC_HOST[role]}/{net.prefixlen}"
        return {NETWORKS_ANNOTATION: json.dumps(
            [{"name": plan.name, "namespace": plan.namespace, "ips": [addr]}],
            separators=(",", ":"))}
    return {NETWORKS_ANNOTATION: plan.name}


def _iface(plan: Plan) -> str | None:
    """The pod's training interface where it is not net1: with OVS offload the VF is eth0."""
    return "eth0" if plan.offload_cni is not None else None


def nccl_env(plan: Plan) -> list[dict[str, str]]:
    env = [
        # exact names (`=`), as `dualnet nccl-env` gives them; with no device known, the
        # prefix `mlx5` lets NCCL take any ConnectX port the pod sees
        {"name": "NCCL_IB_HCA",
         "value": ib_hca_value(plan.nccl_ib_hca) if plan.nccl_ib_hca else "mlx5"},
        # eth0 (the cluster network) carries NCCL's bootstrap; net1 carries the RDMA traffic
        {"name": "NCCL_SOCKET_IFNAME", "value": SOCKET_IFNAME},
        {"name": "NCCL_DEBUG", "value": "INFO"},
    ]
    if plan.link_layer == "Ethernet":
        # the RoCE v2 GID index is a per-pod fact in shared mode (macvlan adds the pod's own
        # address as a new GID), so no index is written here: the pod's helper sets it from
        # net1's address (plan.nccl's module docstring), NCCL >= 2.21.5 picks a RoCE v2 IPv4
        # GID itself without it
        env.append({"name": "NCCL_IB_ROCE_VERSION_NUM", "value": "2"})
        env.append({"name": "NCCL_IB_ADDR_FAMILY", "value": "AF_INET"})
    env.extend({"name": k, "value": v} for k, v in qos_env(plan.spec.spec.nccl).items())
    return env


def helper_name(plan: Plan) -> str:
    return f"{base_name(plan)}-dualnet-pod"


def pod_helper(plan: Plan) -> dict[str, Any]:
    """The ConfigMap with `dualnet-pod` (render/podhelper.py): the test pods' preflight init
    container and, in shared mode, the per-pod NCCL GID settings."""
    return helper_configmap(helper_name(plan), plan.namespace,
                            meta(plan, "x", "test-pod")["labels"])


def _wrapped(plan: Plan, command: list[str]) -> list[str]:
    # shared mode: the RoCE GID is a per-pod fact, set by the helper before the command starts
    return nccl_exec_command(command) if plan.mode is Mode.SHARED_ROCE else command


def test_pod(plan: Plan) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta(plan, f"{base_name(plan)}-test", "test-pod", namespace=plan.namespace,
                         annotations=_annotations(plan, "test")),
        "spec": {
            "initContainers": [preflight_container(image(plan.spec.spec.images, "test"),
                                                   _resources(plan), iface=_iface(plan))],
            "volumes": [helper_volume(helper_name(plan))],
            "containers": [{
                "name": "test",
                "image": image(plan.spec.spec.images, "test"),
                "command": ["sleep", "infinity"],
                # RDMA registers (pins) memory: IPC_LOCK lifts the memlock limit for it
                "securityContext": {"capabilities": {"add": ["IPC_LOCK"]}},
                "resources": _resources(plan),
                "volumeMounts": [helper_mount()],
            }],
        },
    }


def gdr_test_pod(plan: Plan) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta(plan, f"{base_name(plan)}-gdr-test", "gdr-test-pod",
                         namespace=plan.namespace, annotations=_annotations(plan, "gdr")),
        "spec": {
            "initContainers": [preflight_container(
                image(plan.spec.spec.images, "gpu_test"),
                _resources(plan, **{"nvidia.com/gpu": 1}), gpudirect=True, iface=_iface(plan))],
            "volumes": [helper_volume(helper_name(plan))],
            "containers": [{
                "name": "gdr-test",
                "image": image(plan.spec.spec.images, "gpu_test"),
                "command": _wrapped(plan, ["sleep", "infinity"]),
                "env": nccl_env(plan),
                "securityContext": {"capabilities": {"add": ["IPC_LOCK"]}},
                "resources": _resources(plan, **{"nvidia.com/gpu": 1}),
                "volumeMounts": [helper_mount()],
            }],
        },
    }


def dpdk_pod(plan: Plan) -> dict[str, Any]:
    s = plan.spec.spec
    # The notes: NET_RAW for CRI-O >= 1.17, SYS_ADMIN for DPDK with physical addresses,
    # NET_ADMIN for DPDK apps that set MTU, MAC or link state.
    caps = ["IPC_LOCK", "NET_RAW", "SYS_ADMIN", "NET_ADMIN"]
    res = {plan.resource_name: 1, "hugepages-1Gi": s.hugepages_1gi, "memory": "1Gi"}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta(plan, f"{base_name(plan)}-dpdk-test", "dpdk-pod",
                         namespace=plan.namespace, annotations=_annotations(plan, "dpdk")),
        "spec": {
            "containers": [{
                "name": "dpdk",
                "image": image(s.images, "dpdk"),
                "imagePullPolicy": "IfNotPresent",
                "command": ["/bin/bash", "-c", "--"],
                "args": ["while true; do sleep 300000; done;"],
                "securityContext": {"capabilities": {"add": caps}},
                "volumeMounts": [{"mountPath": "/dev/hugepages", "name": "hugepage"}],
                "resources": {"requests": dict(res), "limits": dict(res)},
            }],
            "volumes": [{"name": "hugepage", "emptyDir": {"medium": "HugePages"}}],
        },
    }


BENCH_SCRIPT = """\
set -eu
case "${BENCH}" in
  ib_write_bw)
    # server: PEER_IP empty; client: PEER_IP = the server pod's net1 address
    # no RDMA_DEVICE (VF modes: the VF's device name is known only in the pod): the first one
    exec ib_write_bw ${RDMA_DEVICE:+-d "${RDMA_DEVICE}"} --report_gbits -F ${GID_ARG} ${PEER_IP}
    ;;
  all_reduce_perf)
    exec all_reduce_perf -b 8 -e 1G -f 2 -g "${GPUS}"
    ;;
esac
echo "BENCH must be ib_write_bw or all_reduce_perf" >&2
exit 2
"""


def bench_job(plan: Plan) -> dict[str, Any]:
    rdma_dev = plan.nccl_ib_hca[0] if plan.nccl_ib_hca else ""
    # RoCE: connect through rdma_cm (-R) so the GID follows net1's IPv4 address; a fixed -x
    # index would be a guess (the index moves when addresses change, formats.md 5.1).
    gid_arg = "-R" if plan.link_layer == "Ethernet" else ""
    env = [
        {"name": "BENCH", "value": "ib_write_bw"},
        {"name": "RDMA_DEVICE", "value": rdma_dev},
        {"name": "GID_ARG", "value": gid_arg},
        # empty: this copy is the server; the client's copy gets the server's net1 address
        {"name": "PEER_IP", "value": ""},
        {"name": "GPUS", "value": "1"},
        *nccl_env(plan),
    ]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta(plan, f"{base_name(plan)}-bench", "bench", namespace=plan.namespace),
        "spec": {
            # a template: applying it starts nothing until it is resumed
            "suspend": True,
            "backoffLimit": 0,
            "template": {
                "metadata": {"annotations": _annotations(plan, "bench"),
                             "labels": meta(plan, "x", "bench")["labels"]},
                "spec": {
                    "restartPolicy": "Never",
                    "volumes": [helper_volume(helper_name(plan))],
                    "containers": [{
                        "name": "bench",
                        "image": image(plan.spec.spec.images, "bench"),
                        "command": _wrapped(plan, ["/bin/bash", "-c", BENCH_SCRIPT]),
                        "env": env,
                        "securityContext": {"capabilities": {"add": ["IPC_LOCK"]}},
                        "resources": _resources(plan, **{"nvidia.com/gpu": 1}),
                        "volumeMounts": [helper_mount()],
                    }],
                },
            },
        },
    }


def workloads(plan: Plan) -> list[dict[str, Any]]:
    out = [pod_helper(plan), test_pod(plan), gdr_test_pod(plan)]
    if plan.mode is Mode.SRIOV_DPDK:
        out.append(dpdk_pod(plan))
    out.append(bench_job(plan))
    return out
