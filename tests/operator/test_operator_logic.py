"""The operator's pure decisions: readiness with reasons, staleness, conditions, labels, bounds."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dualnet.host.models import HostReport, PortState
from dualnet.operator import logic
from dualnet.operator.agent import default_diagnose
from dualnet.operator.models import MAX_GIDS_PER_PORT, MAX_NOT_READY_LISTED, NodeReportStatus
from tests.helpers import T0


def report(host: HostReport, node: str = "gpu-1", mode: str = "shared-roce",
           at: int = 0) -> NodeReportStatus:
    return logic.build_node_report(node, host, default_diagnose(host, mode), mode=mode,
                                   now=T0 + timedelta(seconds=at))


@pytest.mark.parametrize(("finding_id", "reason"), [
    ("rdma.mlx5_ib-missing", "Mlx5IbMissing"),
    ("roce.gid-missing", "GidMissing"),
    ("GID_MISSING", "GidMissing"),
    ("netns/exclusive-with-shared-dp", "ExclusiveWithSharedDp"),
    ("1bad", "Finding1bad"),
])
def test_reason_from_finding_id(finding_id: str, reason: str) -> None:
    assert logic.reason_from_finding_id(finding_id) == reason


@given(st.text(min_size=1, max_size=40))
def test_reasons_are_always_valid_condition_reasons(finding_id: str) -> None:
    reason = logic.reason_from_finding_id(finding_id)
    assert reason[0].isalpha() and reason.isalnum()


def test_readiness_from_real_discovery_and_doctor(hosts: Callable[[str], HostReport]) -> None:
    good, no_ib, no_rdma = hosts("gh200"), hosts("no_mlx5_ib"), hosts("no_rdma")
    assert logic.assess_node(good, default_diagnose(good, "shared-roce"))[:2] == (
        True, "RdmaReady")
    findings = default_diagnose(no_ib, "shared-roce")
    ready, reason, message = logic.assess_node(no_ib, findings)
    errors = sorted(f.id for f in findings if f.severity.value == "error")
    assert not ready and errors
    assert reason == logic.reason_from_finding_id(errors[0])
    assert f"(and {len(errors) - 1} more)" in message or len(errors) == 1
    # without the doctor's verdicts the two facts still decide
    assert logic.assess_node(no_rdma, [])[:2] == (False, "NoRdmaDevice")
    down = copy.deepcopy(good)
    for dev in down.rdma_devices:
        for port in dev.ports:
            port.state = PortState.DOWN
    assert logic.assess_node(down, [])[:2] == (False, "NoActivePort")


def test_report_hash_ignores_heartbeat_and_bounds_size(
        hosts: Callable[[str], HostReport]) -> None:
    host = hosts("gh200")
    a, b = report(host, at=0), report(host, at=500)
    assert a.heartbeat_time != b.heartbeat_time and a.facts_hash == b.facts_hash
    assert report(hosts("no_mlx5_ib")).facts_hash != a.facts_hash
    many = copy.deepcopy(host)
    port = many.rdma_devices[0].ports[0]
    port.gids = [dataclasses.replace(port.gids[0], index=i) for i in range(200)]
    pruned = logic.prune_facts(many)
    assert len(pruned.rdma_devices[0].ports[0].gids) == MAX_GIDS_PER_PORT
    assert all(r.destination in ("0.0.0.0", "0.0.0.0/0", "default", "::/0", "::")
               for r in pruned.routes)
    assert pruned.routes, "the default route must survive pruning (plan excludes that NIC)"
    # PCI paths only draw `dualnet report`'s tree: not carried in every node's status
    assert any(n.pci_path for n in host.nics) and any(g.pci_path for g in host.gpus)
    assert all(n.pci_path is None for n in pruned.nics)
    assert all(g.pci_path is None for g in pruned.gpus)


def test_should_publish() -> None:
    later = T0 + timedelta(seconds=119)
    assert logic.should_publish("a", None, None, T0, 120).why == "changed"
    assert logic.should_publish("a", "a", T0, later, 120).publish is False
    assert logic.should_publish("a", "a", T0, later + timedelta(seconds=1), 120).why == \
        "heartbeat"
    assert logic.should_publish("b", "a", T0, later, 120).why == "changed"


def test_staleness_and_mode_mismatch(hosts: Callable[[str], HostReport]) -> None:
    r = report(hosts("gh200"))
    at = T0 + timedelta(seconds=360)
    assert logic.effective_readiness(r, now=at, stale_after_s=360)[0] is True
    gone = logic.effective_readiness(r, now=at + timedelta(seconds=1), stale_after_s=360)
    assert gone[:2] == (False, "AgentGone") and "361s ago" in gone[2]
    assert logic.effective_readiness(None, now=T0, stale_after_s=360)[1] == "NoReport"
    assert logic.effective_readiness(r, now=T0, stale_after_s=360, mode="ipoib")[1] == \
        "ModeMismatch"


def test_status_is_stable_and_transitions_only_on_flip(
        hosts: Callable[[str], HostReport]) -> None:
    good, bad = report(hosts("gh200"), "a"), report(hosts("no_mlx5_ib"), "b")
    args = {"generation": 1, "stale_after_s": 360.0, "mode": "shared-roce", "applied": []}
    s1 = logic.compute_network_status(nodes=["a"], reports={"a": good}, now=T0,
                                      previous=None, **args)  # type: ignore[arg-type]
    s2 = logic.compute_network_status(nodes=["a"], reports={"a": good},
                                      now=T0 + timedelta(seconds=90), previous=s1,
                                      **args)  # type: ignore[arg-type]
    assert not logic.status_differs(logic.status_dict(s1), s2)  # nothing changed, no write
    s3 = logic.compute_network_status(nodes=["a", "b"], reports={"a": good, "b": bad},
                                      now=T0 + timedelta(seconds=100), previous=s2,
                                      **args)  # type: ignore[arg-type]
    c1 = {c.type: c for c in s1.conditions}
    c3 = {c.type: c for c in s3.conditions}
    assert c3["Ready"].reason == "PartiallyReady"
    assert c3["Ready"].last_transition_time == c1["Ready"].last_transition_time
    assert c3["Degraded"].status == "True"
    assert c3["Degraded"].last_transition_time == logic.rfc3339(T0 + timedelta(seconds=100))
    assert logic.status_differs(logic.status_dict(s2), s3)


def test_not_ready_list_is_bounded_but_counts_are_complete(
        hosts: Callable[[str], HostReport]) -> None:
    bad = report(hosts("no_mlx5_ib"))
    reports = {f"n{i:04d}": bad for i in range(1000)}
    status = logic.compute_network_status(
        generation=1, nodes=reports, reports=reports, now=T0, stale_after_s=360,
        mode="shared-roce", previous=None, applied=[])
    assert status.not_ready_nodes == 1000 and status.ready_nodes == 0
    assert len(status.not_ready) == MAX_NOT_READY_LISTED
    assert status.not_ready[0].node == "n0000"
    assert sum(status.not_ready_reasons.values()) == 1000
    assert {c.type: c.reason for c in status.conditions}["Ready"] == "NoReadyNodes"


def test_labels_change_only_where_needed(hosts: Callable[[str], HostReport]) -> None:
    good, bad = report(hosts("gh200")), report(hosts("no_mlx5_ib"))
    desired = logic.desired_labels({"a": good, "b": bad, "c": good}, now=T0, stale_after_s=360)
    current = {"a": ("true", "RdmaReady"), "b": (None, None)}  # c: node not seen (yet)
    assert logic.label_changes(desired, current) == {"b": ("false", bad.reason)}


def test_plan_hosts_one_per_hardware(hosts: Callable[[str], HostReport]) -> None:
    a, b = report(hosts("gh200"), "a"), report(hosts("gh200"), "b")
    c = report(hosts("no_rdma"), "c")
    fps, chosen = logic.plan_hosts({"b": b, "a": a, "c": c})
    assert len(fps) == len(chosen) == 2
    assert fps == sorted(fps)


def test_peering_priorities_differ_per_replica_and_are_stable() -> None:
    from dualnet.operator.handlers import peering_priority

    names = [f"dualnet-operator-7d9f8c6b5-{i:05x}" for i in range(2000)]
    prios = [peering_priority(n) for n in names]
    assert len(set(prios)) == len(names)  # kopf pauses every replica on a tie
    assert peering_priority(names[0]) == prios[0]


def test_node_update_writes_and_emits_only_on_a_transition() -> None:
    from dualnet.operator.logic import NodeState, NodeVerdict, node_update

    bad = NodeVerdict(False, "NoneActive", "port.none-active", "no RDMA port is ACTIVE")
    good = NodeVerdict(True, "RdmaReady", "RdmaReady", "1 active RDMA port(s)")
    first = node_update("n", good, NodeState(), taint=True, now=T0)
    assert first.event is None and first.patch is not None and first.condition is not None
    seen = NodeState(label="true", reason="RdmaReady", condition=first.condition)
    assert node_update("n", good, seen, taint=True, now=T0 + timedelta(seconds=60)) == \
        logic.NodeUpdate("n", None, None, None)
    down = node_update("n", bad, seen, taint=True, now=T0 + timedelta(seconds=90))
    assert down.event == ("Warning", "port.none-active", "RDMA not ready: no RDMA port is ACTIVE")
    assert down.patch is not None and down.patch["spec"]["taints"] == [
        {"key": "dualnet.io/rdma-unready", "value": "NoneActive", "effect": "NoSchedule"}]
    assert down.condition is not None
    assert down.condition["lastTransitionTime"] == logic.rfc3339(T0 + timedelta(seconds=90))
    # the user's own taints are kept; without the opt-in ours is not added
    other = {"key": "gpu", "value": "a100", "effect": "NoSchedule"}
    kept = node_update("n", bad, NodeState(label="false", reason="NoneActive",
                                           taints=(other,), condition=down.condition),
                       taint=False, now=T0)
    assert kept == logic.NodeUpdate("n", None, None, None)


def test_stale_is_set_once_when_the_heartbeat_is_overdue(
        hosts: Callable[[str], HostReport]) -> None:
    report = logic.build_node_report("n", hosts("gh200"), [], mode=None, now=T0)
    assert logic.stale_conditions(report, now=T0 + timedelta(seconds=300), stale_after_s=360,
                                  generation=3) is None
    stale = logic.stale_conditions(report, now=T0 + timedelta(seconds=400), stale_after_s=360,
                                   generation=3)
    assert stale is not None
    cond = {c.type: c for c in stale}
    assert (cond["Stale"].status, cond["Stale"].observed_generation) == ("True", 3)
    assert cond["Ready"] == next(c for c in report.conditions if c.type == "Ready")
    report.conditions = stale
    assert logic.stale_conditions(report, now=T0 + timedelta(seconds=500), stale_after_s=360,
                                  generation=3) is None


def test_fleet_view_holds_one_facts_object_per_hardware_preferring_a_ready_node(
        hosts: Callable[[str], HostReport]) -> None:
    from dualnet.operator.reconciler import FleetView

    def body(name: str, kind: str) -> dict[str, object]:
        h = hosts(kind)
        h.hostname = name
        nr = logic.build_node_report(name, h, default_diagnose(h, "shared-roce"),
                                     mode="shared-roce", now=T0)
        return {"metadata": {"name": name},
                "status": nr.model_dump(mode="json", by_alias=True, exclude_none=True)}

    view = FleetView()
    view.ingest_report(body("a-down", "gh200_port_down"))  # same hardware, not ready
    view.ingest_report(body("b-up", "gh200"))
    view.ingest_report(body("c-up", "gh200"))
    r = view.reports
    assert r["b-up"].facts is r["c-up"].facts  # shared, not copied
    assert r["b-up"].facts.hostname == "b-up"  # a ready node's facts won over the first seen
    _, planned = logic.plan_hosts(r)
    assert len(planned) == 1 and planned[0].hostname == "b-up"
    view.forget_report("b-up")
    view.ingest_report(body("c-up", "gh200"))
    assert view.reports["c-up"].facts.hostname == "c-up"
