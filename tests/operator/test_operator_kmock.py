"""The operator's reconciler and the node agent against kmock's Kubernetes emulator.

Every request is made by lightkube's real AsyncClient over HTTP; the emulator stores the objects.
Node facts come from the real discover() over synthetic sysfs trees and the real doctor. The kopf
layer is thin (handlers.py) and is exercised for real in test_operator_kopf.py; here the same
Reconciler methods are driven directly so each step's API writes can be counted exactly.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any

import kmock
import pytest
from lightkube import AsyncClient

from dualnet import labels
from dualnet.cluster import fleet
from dualnet.host.models import HostReport
from dualnet.operator import logic
from dualnet.operator.agent import AgentConfig, AgentState, agent_cycle, default_diagnose
from dualnet.operator.reconciler import OperatorSettings, Reconciler
from tests.operator.conftest import Clock, add_node, writes

TN = kmock.resource("dualnet.io/v1alpha1/trainingnetworks")
NR = kmock.resource("dualnet.io/v1alpha1/nodereports")
NODES = kmock.resource("v1/nodes")
CM = kmock.resource("v1/configmaps")
NAD = kmock.resource("k8s.cni.cncf.io/v1/network-attachment-definitions")
DS = kmock.resource("apps/v1/daemonsets")

SPEC: dict[str, Any] = {"mode": "shared-roce", "nics": {"netdevs": ["enp1s0f0np0"]},
                        "ipam": {"type": "whereabouts", "subnet": "192.168.50.0/24"}}


def small_renderer(name: str, spec: Mapping[str, Any], hosts: list[HostReport]) -> list[Any]:
    """Stands in for dualnet.render in these API tests (render is tested on its own): the same
    shape of output, with content derived from the spec and the hosts so changes show."""
    subnet = spec.get("ipam", {}).get("subnet", "none")
    objs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": f"{name}-devices", "namespace": "kube-system",
                      "labels": {labels.NETWORK: name}},
         "data": {"hosts": ",".join(sorted(str(h.hostname) for h in hosts))}},
        {"apiVersion": "apps/v1", "kind": "DaemonSet",
         "metadata": {"name": f"{name}-dp", "namespace": "kube-system",
                      "labels": {labels.NETWORK: name}},
         "spec": {"selector": {"matchLabels": {"app": "dp"}},
                  "template": {"metadata": {"labels": {"app": "dp"}},
                               "spec": {"containers": [{"name": "dp", "image": "dp:1"}]}}}},
        {"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
         "metadata": {"name": name, "namespace": "default", "labels": {labels.NETWORK: name}},
         "spec": {"config": json.dumps({"cniVersion": "0.3.1", "name": name,
                                        "ipam": {"subnet": subnet}})}},
    ]
    if spec.get("mtu"):
        objs.append({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": f"{name}-mtu", "namespace": "kube-system",
                                  "labels": {labels.NETWORK: name}},
                     "data": {"mtu": str(spec["mtu"])}})
    return objs


def add_network(server: Any, name: str, spec: Mapping[str, Any], generation: int = 1) -> None:
    server.objects[TN, None, name] = {
        "apiVersion": "dualnet.io/v1alpha1", "kind": "TrainingNetwork",
        "metadata": {"name": name, "generation": generation, "uid": f"uid-{name}"},
        "spec": dict(spec)}


def network(server: Any, name: str) -> dict[str, Any]:
    return dict(server.objects[TN, None, name].raw)


async def publish(api: AsyncClient, node: str, report: HostReport, clock: Clock,
                  state: AgentState | None = None, mode: str | None = "shared-roce") -> AgentState:
    """The real agent cycle, with discovery pointed at a prepared report."""
    state = state or AgentState()
    cfg = AgentConfig(node=node, mode=mode, heartbeat_s=120)
    await agent_cycle(api, cfg, state, clock=clock, discover=lambda _root: report,
                      diagnose=default_diagnose)
    return state


async def watch_sync(api: AsyncClient, rec: Reconciler) -> None:
    """Feed the FleetView what kopf's watches would deliver: the current reports and nodes."""
    for body in await fleet.list_node_reports(api):
        rec.fleet.ingest_report(body)
    for name, found in (await fleet.list_node_labels(api)).items():
        ann = {fleet.READY_REASON_ANNOTATION: found.pop(fleet.READY_REASON_ANNOTATION)} \
            if fleet.READY_REASON_ANNOTATION in found else {}
        rec.fleet.ingest_node({"metadata": {"name": name, "labels": found, "annotations": ann}})


def make_rec(api: AsyncClient, clock: Clock, debounce_s: float = 0.05) -> Reconciler:
    return Reconciler(api, settings=OperatorSettings(stale_after_s=360, debounce_s=debounce_s,
                                                     max_settle_s=10, resync_s=30),
                      clock=clock, renderer=small_renderer)


def node_label(server: Any, node: str) -> tuple[str | None, str | None]:
    meta = server.objects[NODES, None, node].raw["metadata"]
    return (meta.get("labels", {}).get(labels.RDMA_READY),
            meta.get("annotations", {}).get(fleet.READY_REASON_ANNOTATION))


def cond(status: Mapping[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == type_)


@pytest.fixture()
def fleet2(server: Any) -> Any:
    add_node(server, "gpu-1")
    add_node(server, "gpu-2")
    return server


async def test_create_applies_objects_status_and_labels_then_nothing(
        fleet2: Any, api: AsyncClient, clock: Clock, hosts: Callable[[str], HostReport]) -> None:
    server = fleet2
    bad = hosts("no_mlx5_ib")
    await publish(api, "gpu-1", hosts("gh200"), clock)
    await publish(api, "gpu-2", bad, clock)
    add_network(server, "rdma", SPEC)
    rec = make_rec(api, clock)
    await watch_sync(api, rec)

    before = len(writes(server))
    await rec.reconcile_once("rdma", network(server, "rdma"))
    first = writes(server)[before:]

    # 3 objects applied, 1 status patch, 2 node labels: nothing more.
    assert rec.writes == {"apply": 3, "status": 1, "label": 2}
    assert len(first) == 6
    nad = server.objects[NAD, "default", "rdma"].raw
    assert nad["metadata"]["labels"][labels.MANAGED_BY] == "dualnet"
    assert nad["metadata"]["labels"][labels.NETWORK] == "rdma"

    status = network(server, "rdma")["status"]
    assert (status["readyNodes"], status["notReadyNodes"], status["totalNodes"]) == (1, 1, 1 + 1)
    expected = logic.assess_node(bad, default_diagnose(bad, "shared-roce"))
    assert expected[0] is False
    assert status["notReady"] == [{"node": "gpu-2", "reason": expected[1],
                                   "message": expected[2]}]
    assert cond(status, "Ready")["status"] == "True"
    assert cond(status, "Ready")["reason"] == "PartiallyReady"
    assert cond(status, "Degraded")["status"] == "True"
    assert cond(status, "Degraded")["reason"] == "NodesNotReady"
    assert status["observedGeneration"] == 1
    assert {(o["kind"], o["name"]) for o in status["applied"]} == {
        ("ConfigMap", "rdma-devices"), ("DaemonSet", "rdma-dp"),
        ("NetworkAttachmentDefinition", "rdma")}
    assert node_label(server, "gpu-1") == ("true", "RdmaReady")
    assert node_label(server, "gpu-2") == ("false", expected[1])

    # The same inputs again: the operator reads but writes nothing (no storm).
    await watch_sync(api, rec)
    mark = len(writes(server))
    for _ in range(3):
        await rec.reconcile_once("rdma", network(server, "rdma"))
    assert writes(server)[mark:] == []


async def test_update_reapplies_only_what_changed_and_prunes(
        fleet2: Any, api: AsyncClient, clock: Clock, hosts: Callable[[str], HostReport]) -> None:
    server = fleet2
    await publish(api, "gpu-1", hosts("gh200"), clock)
    add_network(server, "rdma", {**SPEC, "mtu": 9000})
    rec = make_rec(api, clock)
    await watch_sync(api, rec)
    await rec.reconcile_once("rdma", network(server, "rdma"))
    assert (CM, "kube-system", "rdma-mtu") in server.objects

    # New generation: other subnet, no mtu -> the NAD is re-applied, the mtu ConfigMap pruned,
    # the unchanged ConfigMap and DaemonSet are not written.
    server.objects[TN, None, "rdma"].patch(
        {"metadata": {"generation": 2},
         "spec": {"ipam": {"subnet": "192.168.60.0/24"}, "mtu": None}})
    mark = len(writes(server))
    await rec.reconcile_once("rdma", network(server, "rdma"))
    sent = writes(server)[mark:]
    paths = sorted((r.method.value, r.url.path) for r in sent)
    assert ("PATCH", "/apis/k8s.cni.cncf.io/v1/namespaces/default/"
            "network-attachment-definitions/rdma") in paths
    assert ("DELETE", "/api/v1/namespaces/kube-system/configmaps/rdma-mtu") in paths
    assert not any("rdma-dp" in p or "rdma-devices" in p for _, p in paths)
    assert server.objects[CM, "kube-system", "rdma-mtu"].deleted
    nad = server.objects[NAD, "default", "rdma"].raw
    assert "192.168.60.0/24" in nad["spec"]["config"]
    assert network(server, "rdma")["status"]["observedGeneration"] == 2


async def test_delete_removes_owned_objects_and_nothing_else(
        fleet2: Any, api: AsyncClient, clock: Clock, hosts: Callable[[str], HostReport]) -> None:
    server = fleet2
    await publish(api, "gpu-1", hosts("gh200"), clock)
    # The user's own ConfigMap (no dualnet labels) and another network's object.
    server.objects[CM, "kube-system", "users-own"] = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "users-own", "namespace": "kube-system",
                     "labels": {labels.NETWORK: "rdma"}}, "data": {"k": "v"}}
    add_network(server, "rdma", SPEC)
    add_network(server, "other", SPEC)
    rec = make_rec(api, clock)
    await watch_sync(api, rec)
    await rec.reconcile_once("rdma", network(server, "rdma"))
    await rec.reconcile_once("other", network(server, "other"))

    # A restarted operator knows nothing in memory: the stored status is its inventory.
    stored = network(server, "rdma")
    fresh = make_rec(api, clock)
    deleted = await fresh.delete_network("rdma", stored["spec"], stored["status"]["applied"])
    assert deleted == 3
    assert fresh.writes["delete"] == 3
    for key in ((CM, "kube-system", "rdma-devices"), (DS, "kube-system", "rdma-dp"),
                (NAD, "default", "rdma")):
        assert server.objects[key].deleted
    assert not server.objects[CM, "kube-system", "users-own"].deleted
    for key in ((CM, "kube-system", "other-devices"), (DS, "kube-system", "other-dp"),
                (NAD, "default", "other")):
        assert not server.objects[key].deleted
    # NodeReports and node labels are the fleet's, not the network's: they stay.
    assert not server.objects[NR, None, "gpu-1"].deleted


async def test_agent_gone_turns_node_not_ready_once(
        fleet2: Any, api: AsyncClient, clock: Clock, hosts: Callable[[str], HostReport]) -> None:
    server = fleet2
    await publish(api, "gpu-1", hosts("gh200"), clock)
    state2 = await publish(api, "gpu-2", hosts("gh200"), clock)
    add_network(server, "rdma", SPEC)
    rec = make_rec(api, clock)
    await watch_sync(api, rec)
    await rec.reconcile_once("rdma", network(server, "rdma"))
    status = network(server, "rdma")["status"]
    assert status["readyNodes"] == 2
    assert cond(status, "Degraded")["status"] == "False"
    ready_since = cond(status, "Ready")["lastTransitionTime"]

    # gpu-2's agent keeps its heartbeat; gpu-1's agent is gone. 7 minutes later:
    clock.advance(200)
    await publish(api, "gpu-2", hosts("gh200"), clock, state2)
    clock.advance(200)
    await publish(api, "gpu-2", hosts("gh200"), clock, state2)
    await watch_sync(api, rec)
    mark = len(writes(server))
    await rec.reconcile_once("rdma", network(server, "rdma"))
    sent = writes(server)[mark:]
    assert rec.writes["status"] == 2 and rec.writes["label"] == 3
    assert len(sent) == 2  # one status patch, one node label: nothing for the healthy node
    status = network(server, "rdma")["status"]
    assert status["notReady"][0]["node"] == "gpu-1"
    assert status["notReady"][0]["reason"] == "AgentGone"
    assert status["notReadyReasons"] == {"AgentGone": 1}
    assert cond(status, "Degraded")["reason"] == "NodesNotReady"
    # Ready stayed True (1 of 2): its transition time did not move.
    assert cond(status, "Ready")["lastTransitionTime"] == ready_since
    assert node_label(server, "gpu-1") == ("false", "AgentGone")
    assert node_label(server, "gpu-2") == ("true", "RdmaReady")

    # The agent comes back: ready again.
    await publish(api, "gpu-1", hosts("gh200"), clock)
    await watch_sync(api, rec)
    await rec.reconcile_once("rdma", network(server, "rdma"))
    assert network(server, "rdma")["status"]["readyNodes"] == 2
    assert node_label(server, "gpu-1") == ("true", "RdmaReady")


async def test_report_turning_bad_flips_label_and_conditions(
        fleet2: Any, api: AsyncClient, clock: Clock, hosts: Callable[[str], HostReport]) -> None:
    server = fleet2
    state = await publish(api, "gpu-1", hosts("gh200"), clock)
    add_network(server, "rdma", SPEC)
    rec = make_rec(api, clock)
    await watch_sync(api, rec)
    await rec.reconcile_once("rdma", network(server, "rdma"))
    assert cond(network(server, "rdma")["status"], "Ready")["reason"] == "AllNodesReady"

    # mlx5_ib unloaded on the node: the agent sees it on its next look and publishes at once.
    clock.advance(30)
    mark = len(writes(server))
    await publish(api, "gpu-1", hosts("no_mlx5_ib"), clock, state)
    assert len(writes(server)[mark:]) == 1  # the report itself
    await watch_sync(api, rec)
    await rec.reconcile_once("rdma", network(server, "rdma"))
    status = network(server, "rdma")["status"]
    report = server.objects[NR, None, "gpu-1"].raw["status"]
    assert report["ready"] is False
    assert any(f["id"] == "rdma.mlx5_ib-missing" and f["fix"] for f in report["findings"])
    assert cond(status, "Ready") | {"lastTransitionTime": None} == {
        "type": "Ready", "status": "False", "reason": "NoReadyNodes",
        "message": f"0/1 nodes ready: 1 {report['reason']}",
        "lastTransitionTime": None, "observedGeneration": 1}
    assert cond(status, "Ready")["lastTransitionTime"] == logic.rfc3339(clock())
    assert node_label(server, "gpu-1") == ("false", report["reason"])


async def test_agent_publishes_on_change_or_heartbeat_only(
        server: Any, api: AsyncClient, clock: Clock, hosts: Callable[[str], HostReport]) -> None:
    good = hosts("gh200")
    state = AgentState()
    marks = []
    for _step in range(6):  # every 30 s for 2.5 minutes, nothing changes
        await publish(api, "gpu-1", good, clock, state)
        marks.append(state.publishes)
        clock.advance(30)
    # published at t=0 (new) and t=120 (heartbeat), not in between
    assert marks == [1, 1, 1, 1, 2, 2]
    report_writes = [r for r in writes(server) if "/nodereports" in r.url.path]
    assert len(report_writes) == 2
    await publish(api, "gpu-1", hosts("no_rdma"), clock, state)
    assert state.publishes == 3
    assert server.objects[NR, None, "gpu-1"].raw["status"]["reason"] == "NoRdmaDevice" or \
        server.objects[NR, None, "gpu-1"].raw["status"]["ready"] is False


async def test_agent_reads_mode_from_the_cluster_network(
        server: Any, api: AsyncClient, clock: Clock, hosts: Callable[[str], HostReport]) -> None:
    add_network(server, "ib", {"mode": "ipoib", "ipam": {"subnet": "10.10.0.0/16"}})
    await publish(api, "gpu-1", hosts("gh200"), clock, mode=None)
    report = server.objects[NR, None, "gpu-1"].raw["status"]
    assert report["mode"] == "ipoib"
    expected = default_diagnose(hosts("gh200"), "ipoib")
    assert [f["id"] for f in report["findings"]] == [
        f.id for f in sorted(expected, key=lambda f: (f.severity.value != "error", f.id))]


async def test_invalid_spec_and_no_reports_apply_nothing(
        fleet2: Any, api: AsyncClient, clock: Clock, hosts: Callable[[str], HostReport]) -> None:
    server = fleet2
    add_network(server, "empty", SPEC)
    add_network(server, "bad", {"mode": "warp-drive"})
    rec = make_rec(api, clock)
    await rec.reconcile_once("empty", network(server, "empty"))
    status = network(server, "empty")["status"]
    assert cond(status, "Applied")["reason"] == "WaitingForNodeReports"
    assert cond(status, "Ready")["status"] == "False"

    await publish(api, "gpu-1", hosts("gh200"), clock)
    await watch_sync(api, rec)
    await rec.reconcile_once("bad", network(server, "bad"))
    status = network(server, "bad")["status"]
    assert cond(status, "Applied")["reason"] == "InvalidSpec"
    assert "warp-drive" in cond(status, "Applied")["message"]
    assert rec.writes["apply"] == 0
    # the first report arrived: the waiting network now applies
    await rec.reconcile_once("empty", network(server, "empty"))
    assert rec.writes["apply"] == 3
    assert cond(network(server, "empty")["status"], "Applied")["status"] == "True"


async def test_burst_of_reports_gives_one_status_write(
        server: Any, api: AsyncClient, clock: Clock, hosts: Callable[[str], HostReport]) -> None:
    good = hosts("gh200")
    for i in range(40):
        add_node(server, f"n{i:02d}")
    add_network(server, "rdma", SPEC)
    rec = make_rec(api, clock, debounce_s=0.4)
    await watch_sync(api, rec)
    stop = asyncio.Event()
    loop = asyncio.create_task(rec.run_network_loop(
        "rdma", lambda: network(server, "rdma"), stop.is_set))
    try:
        await asyncio.sleep(0.6)  # first pass: no reports yet
        first = rec.writes["status"]
        for i in range(40):  # 40 agents report within the debounce window
            await publish(api, f"n{i:02d}", good, clock)
            # what the NodeReport watch delivers for this one event
            rec.fleet.ingest_report(server.objects[NR, None, f"n{i:02d}"].raw)
        await asyncio.sleep(0.5)
    finally:
        stop.set()
        rec.fleet.poke()
        await asyncio.wait_for(loop, 5)
    status = network(server, "rdma")["status"]
    assert status["readyNodes"] == 40
    assert first == 1
    # 40 report events -> at most 2 more status writes (one pass per debounce window),
    # never one per report
    assert 1 <= rec.writes["status"] - first <= 2
    assert rec.writes["label"] == 40


async def test_agent_rereads_the_mode_once_per_heartbeat(
        server: Any, api: AsyncClient, clock: Clock, hosts: Callable[[str], HostReport]) -> None:
    add_network(server, "net", {"mode": "shared-roce"})
    state = await publish(api, "gpu-1", hosts("gh200"), clock, mode=None)
    server.objects[TN, None, "net"].patch({"spec": {"mode": "ipoib"}})
    lists = len([r for r in server if r.method.value == "GET" and "trainingnetworks" in
                 r.url.path])
    clock.advance(30)
    await publish(api, "gpu-1", hosts("gh200"), clock, state, mode=None)
    assert server.objects[NR, None, "gpu-1"].raw["status"]["mode"] == "shared-roce"
    assert len([r for r in server if r.method.value == "GET" and "trainingnetworks" in
                r.url.path]) == lists  # no list request between heartbeats
    clock.advance(90)
    await publish(api, "gpu-1", hosts("gh200"), clock, state, mode=None)
    assert server.objects[NR, None, "gpu-1"].raw["status"]["mode"] == "ipoib"


async def test_a_silent_agent_does_not_change_what_is_deployed(
        fleet2: Any, api: AsyncClient, clock: Clock, hosts: Callable[[str], HostReport]) -> None:
    """AgentGone changes readiness, never the plan: dropping a stale node's hardware from the
    device plugin config would restart the plugin on every node."""
    server = fleet2
    await publish(api, "gpu-1", hosts("gh200"), clock)
    await publish(api, "gpu-2", hosts("no_rdma"), clock)
    add_network(server, "rdma", SPEC)
    rec = make_rec(api, clock)
    await watch_sync(api, rec)
    await rec.reconcile_once("rdma", network(server, "rdma"))
    applied = rec.writes["apply"]
    clock.advance(400)  # both agents silent
    await rec.reconcile_once("rdma", network(server, "rdma"))
    assert rec.writes["apply"] == applied
    assert network(server, "rdma")["status"]["notReadyReasons"] == {"AgentGone": 2}
    assert len(network(server, "rdma")["status"]["hardwareFingerprints"]) == 2
