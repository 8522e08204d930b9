"""`dualnet-pod`: a POSIX sh helper that runs inside the pod, shipped in a ConfigMap.

Two commands:

- `dualnet-pod preflight` (an init container, rendered with the test pods and documented for
  training pods): before the workload starts, checks `/dev/infiniband/uverbs*`, that the pod's
  net1 address has a RoCE v2 GID (or, on InfiniBand, that a port is ACTIVE), `ulimit -l`, and
  nvidia_peermem when GPUDirect is asked (DUALNET_GPUDIRECT=1). Each failure prints the doctor's
  wording and fix, and the container exits 1 so the pod does not start half-working.
- `dualnet-pod nccl-exec -- CMD...` (the workload's entrypoint wrapper): shared mode puts one GID
  per pod into the master's table, so the RoCE GID is a per-pod fact. It reads net1's IPv4
  address, finds the RoCE v2 GID that holds it (type `RoCE v2`, ndev net1) under
  /sys/class/infiniband, exports NCCL_IB_GID_INDEX (read by every NCCL version) together with
  NCCL_IB_ADDR_FAMILY=AF_INET and NCCL_IB_ADDR_RANGE=<ip>/32 (NCCL >= 2.21.5 filters its own GID
  choice by that range), and execs CMD. `plan.nccl.pod_nccl_env` is the same derivation; a test
  runs both on the same trees.

Why a helper and not NCCL_IB_ADDR_RANGE alone: the pod's address comes from IPAM when the pod
starts, so no rendered value can name it; and NCCL before 2.21.5 ignores the range (its default
GID index was 0 there). A helper reading the pod's own facts works with every NCCL.

The paths are the kernel's, overridable for tests: DUALNET_SYSFS (/sys), DUALNET_DEV (/dev),
DUALNET_IFACE (net1), DUALNET_MEMLOCK_MIN_KB (65536, as doctor).
"""

from __future__ import annotations

from typing import Any

from dualnet.plan.podhelper import (
    MOUNT_DIR,
    SCRIPT,
    SCRIPT_NAME,
    helper_configmap,
    helper_mount,
    helper_volume,
    nccl_exec_command,
)

__all__ = ["MEMLOCK_MIN_KB", "SCRIPT", "helper_configmap", "helper_mount", "helper_volume",
           "nccl_exec_command", "preflight_container"]

MEMLOCK_MIN_KB = 64 * 1024  # doctor's limits.memlock-low threshold


def preflight_container(image: str, resources: dict[str, Any], *,
                        gpudirect: bool = False, iface: str | None = None) -> dict[str, Any]:
    """The init container: the same RDMA resource and IPC_LOCK as the workload, so it sees
    what the workload will see. `iface`: the training interface when it is not net1 (OVS
    offload puts the VF on eth0)."""
    env = [{"name": "DUALNET_GPUDIRECT", "value": "1" if gpudirect else "0"}]
    if iface is not None:
        env.append({"name": "DUALNET_IFACE", "value": iface})
    return {
        "name": "dualnet-preflight",
        "image": image,
        "command": ["/bin/sh", f"{MOUNT_DIR}/{SCRIPT_NAME}", "preflight"],
        "env": env,
        "securityContext": {"capabilities": {"add": ["IPC_LOCK"]}},
        "resources": resources,
        "volumeMounts": [helper_mount()],
    }

