"""wait: ready when rolled out; on timeout the error says why (emulator-backed, real HTTP)."""

from __future__ import annotations

import io
import json
from typing import Any

import kmock
import pytest
from rich.console import Console

from dualnet import labels
from dualnet.cluster.errors import WaitTimeoutError
from dualnet.cluster.wait import (
    WaitTarget,
    explain,
    gather,
    pending,
    targets_from_objects,
    wait_ready,
)
from tests.helpers import Harness

RES = "rdma/rdma_shared_device"
DS_RES = kmock.resource("apps", "v1", "daemonsets")
POD_RES = kmock.resource("", "v1", "pods")
NODE_RES = kmock.resource("", "v1", "nodes")
NAD_RES = kmock.resource("k8s.cni.cncf.io", "v1", "network-attachment-definitions")


def ds(desired: int, available: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "rdma-shared-dp-ds", "namespace": "kube-system", "generation": 1},
        "spec": {"selector": {"matchLabels": {"name": "rdma-shared-dp-ds"}},
                 "template": {"metadata": {"labels": {"name": "rdma-shared-dp-ds"}},
                              "spec": {"containers": [{"name": "k8s-rdma-shared-dp-ds"}]}}},
        "status": {"currentNumberScheduled": desired, "numberMisscheduled": 0,
                   "numberReady": available, "desiredNumberScheduled": desired,
                   "numberAvailable": available,
                   "updatedNumberScheduled": desired, "observedGeneration": 1},
    }


def node(name: str, alloc: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "status": {"allocatable": {"cpu": "72", "pods": "110", **alloc}}}


def crashing_pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "rdma-shared-dp-ds-x7k2p", "namespace": "kube-system",
                     "labels": {"name": "rdma-shared-dp-ds"}},
        "spec": {"nodeName": "gh200-1", "containers": [{"name": "k8s-rdma-shared-dp-ds"}]},
        "status": {"phase": "Running", "containerStatuses": [{
            "name": "k8s-rdma-shared-dp-ds", "ready": False, "restartCount": 7,
            "image": "ghcr.io/mellanox/k8s-rdma-shared-dev-plugin", "imageID": "",
            "state": {"waiting": {"reason": "CrashLoopBackOff",
                                  "message": "back-off 5m0s restarting failed container"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}},
        }]},
    }


TARGET = WaitTarget(
    daemonsets=[{"namespace": "kube-system", "name": "rdma-shared-dp-ds"}],
    resources=[RES],
    nads=[{"namespace": "default", "name": "rdma-net"}],
)


def seed_ready(server: Any) -> None:
    server.objects[DS_RES, "kube-system", "rdma-shared-dp-ds"] = ds(1, 1)
    server.objects[NODE_RES, None, "gh200-1"] = node("gh200-1", {RES: "100"})
    server.objects[NAD_RES, "default", "rdma-net"] = {
        "apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
        "metadata": {"name": "rdma-net", "namespace": "default"}, "spec": {"config": "{}"}}


async def test_ready_cluster_returns_with_progress_display(harness: Harness) -> None:
    seed_ready(harness.emulator)
    out = io.StringIO()
    snap = await wait_ready(harness.client, TARGET, timeout_s=2, poll_s=0.05,
                            console=Console(file=out, force_terminal=False, width=120))
    assert pending(TARGET, snap) == []
    text = out.getvalue()
    assert "DaemonSet kube-system/rdma-shared-dp-ds" in text
    assert "nodes advertise rdma/rdma_shared_device" in text


async def test_timeout_names_node_without_resource(harness: Harness) -> None:
    seed_ready(harness.emulator)
    harness.emulator.objects[NODE_RES, None, "gh200-2"] = node("gh200-2", {RES: "0"})
    harness.emulator.objects[NODE_RES, None, "gh200-3"] = node("gh200-3", {})
    target = TARGET.model_copy(update={"min_nodes": 3})
    with pytest.raises(WaitTimeoutError) as err:
        await wait_ready(harness.client, target, timeout_s=0.2, poll_s=0.05)
    msg = str(err.value)
    assert "resource rdma/rdma_shared_device" in msg
    assert "1 of 3 nodes advertise it, need 3" in msg
    assert "node gh200-2 advertises rdma/rdma_shared_device: 0" in msg
    assert "node gh200-3 does not advertise rdma/rdma_shared_device at all" in msg
    assert "timeout" not in msg.split("\n")[0].lower() or "not ready" in msg


async def test_timeout_shows_crash_looping_pod_with_last_log_lines(harness: Harness) -> None:
    seed_ready(harness.emulator)
    harness.emulator.objects[DS_RES, "kube-system", "rdma-shared-dp-ds"] = ds(1, 0)
    harness.emulator.objects[POD_RES, "kube-system", "rdma-shared-dp-ds-x7k2p"] = crashing_pod()
    log = (b"Using Kubelet Plugin Registry Mode\n"
           b"error: netns mode is exclusive, the shared device plugin needs shared\n")
    harness.emulator["get /api/v1/namespaces/kube-system/pods/rdma-shared-dp-ds-x7k2p/log"] << log
    with pytest.raises(WaitTimeoutError) as err:
        await wait_ready(harness.client, TARGET, timeout_s=0.2, poll_s=0.05)
    msg = str(err.value)
    assert "DaemonSet kube-system/rdma-shared-dp-ds" in msg
    assert "0/1 pods available" in msg
    assert ("pod rdma-shared-dp-ds-x7k2p on gh200-1: container k8s-rdma-shared-dp-ds "
            "CrashLoopBackOff (restarted 7x, last exit code 1)") in msg
    assert "| error: netns mode is exclusive" in msg
    assert err.value.exit_code == 6


async def test_timeout_says_nad_missing_and_crd_absent(harness: Harness) -> None:
    seed_ready(harness.emulator)
    del harness.emulator.objects[NAD_RES, "default", "rdma-net"]
    with pytest.raises(WaitTimeoutError) as err:
        await wait_ready(harness.client, TARGET, timeout_s=0.1, poll_s=0.05)
    msg = str(err.value)
    assert "NetworkAttachmentDefinition default/rdma-net missing" in msg
    assert "CRD is not installed" in msg


async def test_daemonset_on_zero_nodes_is_explained(harness: Harness) -> None:
    seed_ready(harness.emulator)
    harness.emulator.objects[DS_RES, "kube-system", "rdma-shared-dp-ds"] = ds(0, 0)
    snap = await gather(harness.client, TARGET)
    text = explain(pending(TARGET, snap), 1)
    assert "scheduled on 0 nodes" in text


def test_targets_from_rendered_objects() -> None:
    config = {"configList": [{"resourceName": "rdma_shared_device", "rdmaHcaMax": 100,
                              "selectors": {"vendors": ["15b3"]}},
                             {"resourceName": "ib", "resourcePrefix": "example.org"}]}
    objs = [
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "rdma-devices", "namespace": "kube-system"},
         "data": {"config.json": json.dumps(config)}},
        {"apiVersion": "apps/v1", "kind": "DaemonSet",
         "metadata": {"name": "rdma-shared-dp-ds", "namespace": "kube-system"}},
        {"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
         "metadata": {"name": "rdma-net",
                      "annotations": {labels.RESOURCE_NAME_ANNOTATION: RES}}},
    ]
    t = targets_from_objects(objs)
    assert [str(d) for d in t.daemonsets] == ["kube-system/rdma-shared-dp-ds"]
    assert [str(n) for n in t.nads] == ["default/rdma-net"]
    assert t.resources == [RES, "example.org/ib"]
