"""Label and annotation keys dualnet puts on what it creates, and the Multus keys it reads.

Ownership rule: dualnet only ever modifies or deletes objects that carry MANAGED_BY=dualnet.
"""

from __future__ import annotations

FIELD_MANAGER = "dualnet"

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "dualnet"
PART_OF = "app.kubernetes.io/part-of"
NETWORK = "dualnet.io/network"  # name of the training network (spec metadata.name)
ROLE = "dualnet.io/role"  # component | network | test-pod | gdr-test-pod | dpdk-pod | bench
# on a bench Job of `render --target dra`: which side of the ib_write_bw pair it is
BENCH_SIDE = "dualnet.io/bench-side"  # server | client

# What the operator puts on Nodes: the readiness label, its reason, the opt-in taint, and the
# TrainingNetwork annotation that opts a network into that taint.
RDMA_READY = "dualnet.io/rdma-ready"
RDMA_READY_REASON = "dualnet.io/rdma-ready-reason"  # annotation
RDMA_UNREADY_TAINT = "dualnet.io/rdma-unready"
TAINT_UNREADY_ANNOTATION = "dualnet.io/taint-unready"  # on a TrainingNetwork: "true" | "false"

# Multus / NPWG
NETWORKS_ANNOTATION = "k8s.v1.cni.cncf.io/networks"
# Multus: the NAD (namespace/name) that replaces the pod's cluster default network
DEFAULT_NETWORK_ANNOTATION = "v1.multus-cni.io/default-network"
NETWORK_STATUS_ANNOTATION = "k8s.v1.cni.cncf.io/network-status"
RESOURCE_NAME_ANNOTATION = "k8s.v1.cni.cncf.io/resourceName"


def owned_labels(network: str, role: str) -> dict[str, str]:
    return {MANAGED_BY: MANAGED_BY_VALUE, PART_OF: "dualnet", NETWORK: network, ROLE: role}
