"""What the operator tests read and write on the emulator: its kinds, a TrainingNetwork, a node
agent's publish, the fleet view's sync, and readers of node labels, conditions, taints, events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kmock
from lightkube import AsyncClient

from dualnet import labels
from dualnet.cluster import fleet
from dualnet.host.models import HostReport
from dualnet.operator import logic
from dualnet.operator.agent import AgentConfig, AgentState, agent_cycle, default_diagnose
from dualnet.operator.reconciler import OperatorSettings, Reconciler
from tests.helpers import Clock

TN = kmock.resource("dualnet.io/v1alpha1/trainingnetworks")
NR = kmock.resource("dualnet.io/v1alpha1/nodereports")
NODES = kmock.resource("v1/nodes")
CM = kmock.resource("v1/configmaps")
NAD = kmock.resource("k8s.cni.cncf.io/v1/network-attachment-definitions")
DS = kmock.resource("apps/v1/daemonsets")
EVENTS = kmock.resource("v1/events")

SPEC: dict[str, Any] = {"mode": "shared-roce", "nics": {"netdevs": ["enp1s0f0np0"]},
                        "ipam": {"type": "whereabouts", "subnet": "192.168.50.0/24"}}


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
    for body in await fleet.list_nodes(api):
        rec.fleet.ingest_node(body)


def make_rec(api: AsyncClient, clock: Clock, debounce_s: float = 0.05) -> Reconciler:
    return Reconciler(api, settings=OperatorSettings(stale_after_s=360, debounce_s=debounce_s,
                                                     max_settle_s=10, resync_s=30),
                      clock=clock)


def node_label(server: Any, node: str) -> tuple[str | None, str | None]:
    meta = server.objects[NODES, None, node].raw["metadata"]
    return (meta.get("labels", {}).get(labels.RDMA_READY),
            meta.get("annotations", {}).get(fleet.READY_REASON_ANNOTATION))


def node_condition(server: Any, node: str) -> dict[str, Any]:
    conds = server.objects[NODES, None, node].raw.get("status", {}).get("conditions", [])
    return dict(next(c for c in conds if c["type"] == logic.NODE_CONDITION))


def node_taints(server: Any, node: str) -> list[dict[str, Any]]:
    return list(server.objects[NODES, None, node].raw.get("spec", {}).get("taints") or [])


def events(server: Any) -> list[dict[str, Any]]:
    return [dict(o.raw) for key, o in server.objects.items() if key[0] == EVENTS]


def cond(status: Mapping[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == type_)
