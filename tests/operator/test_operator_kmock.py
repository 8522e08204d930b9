"""The operator's reconciler and the node agent against kmock's Kubernetes emulator.

Every request is made by lightkube's real AsyncClient over HTTP; the emulator stores the objects.
Node facts come from the real discover() over synthetic sysfs trees and the real doctor. The kopf
layer is thin (handlers.py) and is exercised for real in test_operator_kopf.py; here the same
Reconciler methods are driven directly so each step's API writes can be counted exactly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from lightkube import AsyncClient
from testsupport.apiserver import writes

from dualnet import labels
from dualnet.cluster import fleet
from dualnet.host.models import HostReport
from dualnet.operator import logic
from dualnet.operator.agent import AgentState, default_diagnose
from dualnet.operator.reconciler import render_network
from tests.helpers import Clock, add_node
from tests.operator.helpers import (
    CM,
    DS,
    NAD,
    NR,
    SPEC,
    TN,
    add_network,
    cond,
    events,
    make_rec,
    network,
    node_condition,
    node_label,
    node_taints,
    publish,
    watch_sync,
)


@pytest.fixture()
def fleet2(server: Any) -> Any:
    add_node(server, "gpu-1")
    add_node(server, "gpu-2")
    return server


async def test_create_applies_objects_status_and_labels_then_nothing(
        fleet2: Any, api: AsyncClient, clock: Clock, hosts: Callable[[str], HostReport]) -> None:
    server = fleet2
    bad = hosts("gh200_port_down")
    await publish(api, "gpu-1", hosts("gh200"), clock)
    await publish(api, "gpu-2", bad, clock)
    add_network(server, "rdma", SPEC)
    rec = make_rec(api, clock)
    await watch_sync(api, rec)

    before = len(writes(server))
    await rec.reconcile_once("rdma", network(server, "rdma"))
    first = writes(server)[before:]

    # What the real renderer gives, applied once; 1 status patch; per node one label patch and
    # one condition; one Event for the broken node and one for the network turning Degraded.
    rendered = render_network("rdma", SPEC, [logic.prune_facts(hosts("gh200"))])
    assert rec.writes == {"apply": len(rendered), "status": 1, "label": 2, "condition": 2,
                          "event": 2}
    assert len(first) == len(rendered) + 7
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
        (o["kind"], o["metadata"]["name"]) for o in rendered}
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
    add_network(server, "rdma", SPEC)
    rec = make_rec(api, clock)
    await watch_sync(api, rec)
    await rec.reconcile_once("rdma", network(server, "rdma"))
    assert (DS, "kube-system", "whereabouts") in server.objects

    # New generation: host-local instead of whereabouts -> the NAD is re-applied, whereabouts'
    # DaemonSet, ServiceAccount and RBAC pruned (its CRDs never: they hold the user's pools),
    # Multus and the device plugin not written.
    server.objects[TN, None, "rdma"].patch(
        {"metadata": {"generation": 2},
         "spec": {"ipam": {"type": "host-local", "subnet": "192.168.60.0/24"}}})
    mark = len(writes(server))
    await rec.reconcile_once("rdma", network(server, "rdma"))
    sent = writes(server)[mark:]
    paths = sorted((r.method.value, r.url.path) for r in sent)
    assert ("PATCH", "/apis/k8s.cni.cncf.io/v1/namespaces/default/"
            "network-attachment-definitions/rdma") in paths
    assert ("DELETE", "/apis/apps/v1/namespaces/kube-system/daemonsets/whereabouts") in paths
    assert ("DELETE", "/apis/rbac.authorization.k8s.io/v1/clusterroles/whereabouts-cni") in paths
    assert not any(m == "DELETE" and "customresourcedefinitions" in p for m, p in paths)
    assert not any("multus" in p or "rdma-devices" in p for _, p in paths)
    assert server.objects[DS, "kube-system", "whereabouts"].deleted
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
    # "other" renders the same components, so the last apply labelled them as its own: they
    # stay; what is "rdma"'s alone (its NAD) goes.
    assert deleted == fresh.writes["delete"] >= 1
    assert server.objects[NAD, "default", "rdma"].deleted
    assert not server.objects[CM, "kube-system", "users-own"].deleted
    assert not server.objects[NAD, "default", "other"].deleted
    assert not server.objects[DS, "kube-system", "kube-multus-ds"].deleted
    for ref in stored["status"]["applied"]:
        if ref["kind"] == "CustomResourceDefinition":
            assert not any(r.method.value == "DELETE" and ref["name"] in r.url.path
                           for r in server)
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
    # one status patch; for gpu-1 its label, condition, Stale on its report and one Event; one
    # Event for the network turning Degraded: nothing for the healthy node
    assert sorted(k for k in rec.writes.elements()) and len(sent) == 6
    assert rec.writes["stale"] == 1
    report = server.objects[NR, None, "gpu-1"].raw["status"]
    assert next(c for c in report["conditions"] if c["type"] == "Stale")["status"] == "True"
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


async def test_port_going_down_flips_condition_label_taint_and_emits_one_event(
        fleet2: Any, api: AsyncClient, clock: Clock, hosts: Callable[[str], HostReport]) -> None:
    server = fleet2
    state = await publish(api, "gpu-1", hosts("gh200"), clock)
    add_network(server, "rdma", SPEC)
    server.objects[TN, None, "rdma"].patch(
        {"metadata": {"annotations": {labels.TAINT_UNREADY_ANNOTATION: "true"}}})
    rec = make_rec(api, clock)
    await watch_sync(api, rec)
    await rec.reconcile_once("rdma", network(server, "rdma"))
    assert cond(network(server, "rdma")["status"], "Ready")["reason"] == "AllNodesReady"
    assert node_condition(server, "gpu-1")["status"] == "True"
    assert node_taints(server, "gpu-1") == []
    assert events(server) == []  # a node first seen ready is no news

    # The port goes down: the agent sees it on its next look (one interval) and publishes.
    clock.advance(30)
    mark = len(writes(server))
    await publish(api, "gpu-1", hosts("gh200_port_down"), clock, state)
    assert len(writes(server)[mark:]) == 1  # the report itself
    report = server.objects[NR, None, "gpu-1"].raw["status"]
    assert report["ready"] is False and report["rule"] == "port.none-active"
    assert report["rails"] == "0/2"
    ready_c = next(c for c in report["conditions"] if c["type"] == "Ready")
    assert (ready_c["status"], ready_c["lastTransitionTime"]) == ("False", logic.rfc3339(clock()))
    for _ in range(3):  # several reconciles: one transition, one Event
        await watch_sync(api, rec)
        await rec.reconcile_once("rdma", network(server, "rdma"))
    status = network(server, "rdma")["status"]
    assert cond(status, "Ready") | {"lastTransitionTime": None} == {
        "type": "Ready", "status": "False", "reason": "NoReadyNodes",
        "message": f"0/1 nodes ready: 1 {report['reason']}",
        "lastTransitionTime": None, "observedGeneration": 1}
    assert node_label(server, "gpu-1") == ("false", report["reason"])
    assert node_condition(server, "gpu-1") | {"lastTransitionTime": None,
                                              "lastHeartbeatTime": None} == {
        "type": "DualnetRDMAReady", "status": "False", "reason": report["reason"],
        "message": report["message"], "lastTransitionTime": None, "lastHeartbeatTime": None}
    assert node_taints(server, "gpu-1") == [{"key": labels.RDMA_UNREADY_TAINT,
                                            "value": report["reason"], "effect": "NoSchedule"}]
    node_events = [e for e in events(server) if e["involvedObject"]["kind"] == "Node"]
    assert [(e["type"], e["reason"]) for e in node_events] == [("Warning", "port.none-active")]
    net_events = [e for e in events(server) if e["involvedObject"]["kind"] == "TrainingNetwork"]
    assert [(e["type"], e["reason"]) for e in net_events] == [("Warning", "port.none-active")]

    # Back up: the taint goes, the condition flips back, one Normal Event.
    clock.advance(30)
    await publish(api, "gpu-1", hosts("gh200"), clock, state)
    await watch_sync(api, rec)
    await rec.reconcile_once("rdma", network(server, "rdma"))
    assert node_taints(server, "gpu-1") == []
    assert node_condition(server, "gpu-1")["status"] == "True"
    node_events = [e for e in events(server) if e["involvedObject"]["kind"] == "Node"]
    assert [e["type"] for e in node_events] == ["Warning", "Normal"]


async def test_taint_is_off_unless_a_network_opts_in(
        fleet2: Any, api: AsyncClient, clock: Clock, hosts: Callable[[str], HostReport]) -> None:
    server = fleet2
    await publish(api, "gpu-1", hosts("gh200_port_down"), clock)
    add_network(server, "rdma", SPEC)
    rec = make_rec(api, clock)
    await watch_sync(api, rec)
    await rec.reconcile_once("rdma", network(server, "rdma"))
    assert node_label(server, "gpu-1")[0] == "false"
    assert node_taints(server, "gpu-1") == []


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
    assert rec.writes["apply"] == len(render_network("empty", SPEC,
                                                     [logic.prune_facts(hosts("gh200"))]))
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
        await asyncio.wait_for(loop, 30)
    status = network(server, "rdma")["status"]
    assert status["readyNodes"] == 40
    assert first == 1
    # 40 report events -> at most 2 more status writes (one pass per debounce window),
    # never one per report
    assert 1 <= rec.writes["status"] - first <= 2
    assert rec.writes["label"] == 40


async def test_status_is_not_held_behind_a_node_pass_in_flight(
        server: Any, api: AsyncClient, clock: Clock, hosts: Callable[[str], HostReport],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A rollout's node pass is 2 writes per node; the status (one write) must not wait for it
    # (1,000 nodes: the status came 35 s after the last report when both were one pass).
    for i in range(3):
        add_node(server, f"n{i}")
        await publish(api, f"n{i}", hosts("gh200"), clock)
    add_network(server, "rdma", SPEC)
    rec = make_rec(api, clock)
    await watch_sync(api, rec)
    gate = asyncio.Event()
    real_patch = fleet.patch_node

    async def slow_patch(client: AsyncClient, node: str, patch: Mapping[str, Any]) -> bool:
        await gate.wait()  # the node writes of this pass are still in flight
        return await real_patch(client, node, patch)

    monkeypatch.setattr(fleet, "patch_node", slow_patch)
    stop = asyncio.Event()
    loop = asyncio.create_task(rec.run_network_loop(
        "rdma", lambda: network(server, "rdma"), stop.is_set))
    try:
        for _ in range(100):
            await asyncio.sleep(0.05)
            if (network(server, "rdma").get("status") or {}).get("readyNodes") == 3:
                break
        await publish(api, "n0", hosts("gh200_port_down"), clock)
        rec.fleet.ingest_report(server.objects[NR, None, "n0"].raw)
        for _ in range(100):
            await asyncio.sleep(0.05)
            if (network(server, "rdma").get("status") or {}).get("notReadyNodes") == 1:
                break
        assert network(server, "rdma")["status"]["notReadyNodes"] == 1
        assert rec.writes["label"] == 0  # the node pass is still waiting
    finally:
        gate.set()
        stop.set()
        rec.fleet.poke()
        await asyncio.wait_for(loop, 30)
    # stopping let the pass in flight finish, and the pass asked for meanwhile ran too
    assert node_label(server, "n0")[0] == "false"
    assert [node_label(server, f"n{i}")[0] for i in (1, 2)] == ["true", "true"]


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


async def test_kubectl_get_shows_the_printer_columns(
        fleet2: Any, api: AsyncClient, clock: Clock, hosts: Callable[[str], HostReport],
        tmp_path: Any) -> None:
    """The real kubectl against the emulator, which answers its Table request from the CRD's
    additionalPrinterColumns as kube-apiserver does."""
    import shutil

    from testsupport.apiserver import write_kubeconfig

    from tests.helpers import require

    require(shutil.which("kubectl") is not None, "kubectl")
    server = fleet2
    await publish(api, "gpu-1", hosts("gh200"), clock)
    await publish(api, "gpu-2", hosts("gh200_port_down"), clock)
    add_network(server, "rdma", SPEC)
    rec = make_rec(api, clock)
    await watch_sync(api, rec)
    await rec.reconcile_once("rdma", network(server, "rdma"))
    cfg = write_kubeconfig(tmp_path / "kc", str(server.url).rstrip("/"))

    async def kubectl(*args: str) -> list[list[str]]:
        proc = await asyncio.create_subprocess_exec(
            "kubectl", "--kubeconfig", str(cfg), *args, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        return [line.split() for line in out.decode().splitlines()]

    head, *rows = await kubectl("get", "nodereports")
    assert head == ["NAME", "NODE", "READY", "REASON", "RAILS", "MODE", "NETNS", "HEARTBEAT",
                    "AGE"]
    by_name = {r[0]: r for r in rows}
    assert by_name["gpu-1"][1:6] == ["gpu-1", "True", "RdmaReady", "1/2", "shared-roce"]
    assert by_name["gpu-2"][1:6] == ["gpu-2", "False", "NoneActive", "0/2", "shared-roce"]
    head, *rows = await kubectl("get", "trainingnetworks")
    assert head == ["NAME", "MATCHED", "READY", "PROGRESSING", "DEGRADED", "AGE"]
    assert rows[0][:5] == ["rdma", "2", "1", "False", "True"]
