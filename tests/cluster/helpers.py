"""Objects the cluster tests apply: shaped like `dualnet render` output for the guide's setup."""

from __future__ import annotations

import json
from typing import Any

from dualnet import labels


def rendered(ns: str, net: str = "rdma-e2e") -> list[dict[str, Any]]:
    """Objects shaped like `dualnet render` output for the guide's setup (labels from labels.py)."""
    own = labels.owned_labels(net, "component")
    config = {
        "configList": [{"resourceName": "rdma_shared_device", "rdmaHcaMax": 100,
                        "selectors": {"vendors": ["15b3"], "deviceIDs": ["1021"],
                                      "drivers": ["mlx5_core"]}}]
    }
    return [
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "rdma-devices", "namespace": ns, "labels": dict(own)},
         "data": {"config.json": json.dumps(config)}},
        {"apiVersion": "apps/v1", "kind": "DaemonSet",
         "metadata": {"name": "rdma-shared-dp-ds", "namespace": ns, "labels": dict(own)},
         "spec": {"selector": {"matchLabels": {"name": "rdma-shared-dp-ds"}},
                  "template": {"metadata": {"labels": {"name": "rdma-shared-dp-ds"}},
                               "spec": {"containers": [{
                                   "name": "k8s-rdma-shared-dp-ds",
                                   # harmless on a real cluster (e2e): it only sleeps
                                   "image": "registry.k8s.io/pause:3.9",
                               }]}}}},
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": "dualnet-test", "namespace": ns,
                      "labels": labels.owned_labels(net, "test-pod")}},
    ]
