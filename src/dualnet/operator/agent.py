"""The node agent: discover + doctor on this node, published as its NodeReport.

It runs every `interval_s` and publishes only when the report changed (hash of facts and
findings) or a heartbeat is due, so an idle fleet of N nodes costs N/heartbeat_s writes per
second and nothing else. It reads the host through a read-only mount of /sys (and /proc, /dev
listings) under `root`; it writes nothing on the node.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lightkube import AsyncClient

from dualnet import __version__
from dualnet.cluster import fleet as api
from dualnet.cluster.errors import ClusterError
from dualnet.doctor import diagnose
from dualnet.host.discover import discover
from dualnet.host.models import HostReport
from dualnet.modes import Mode
from dualnet.operator import health, logic
from dualnet.operator.metrics import AgentMetrics
from dualnet.operator.models import STALE_HEARTBEATS, NodeCondition, NodeReportStatus
from dualnet.operator.reconciler import Clock, mode_of, utcnow

log = logging.getLogger("dualnet.agent")

Discover = Callable[[Path], HostReport]
Diagnose = Callable[[HostReport, str | None], Sequence[Any]]


def default_discover(root: Path) -> HostReport:
    return discover(root)


def default_diagnose(report: HostReport, mode: str | None) -> Sequence[Any]:
    return diagnose(report, Mode(mode) if mode else None)


@dataclass(frozen=True)
class AgentConfig:
    node: str
    root: Path = Path("/host")
    interval_s: float = 30.0
    heartbeat_s: float = 120.0
    mode: str | None = None  # None: the mode of the cluster's TrainingNetwork (first by name)
    thresholds: health.Thresholds = field(default_factory=health.Thresholds)
    gpudirect: bool = False  # GPUDirect RDMA is asked: nvidia_peermem unloaded blocks


@dataclass
class AgentState:
    last_hash: str | None = None
    last_publish: datetime | None = None
    publishes: int = 0
    cycles: int = 0
    mode: str | None = None
    mode_read_at: datetime | None = None
    node_uid: str | None = None
    node_uid_read_at: datetime | None = None
    last_error: str | None = None  # the last cycle's publish failure; None after a good one
    generation: int | None = None  # of the TrainingNetwork the mode came from
    conditions: list[NodeCondition] = field(default_factory=list)  # as last published
    seeded: bool = False  # own NodeReport read back once (keeps lastTransitionTime on restart)
    health: health.HealthSample | None = None  # the previous look, for what changed since
    last_status: NodeReportStatus | None = None  # the last observation (metrics)


async def cluster_network(client: AsyncClient) -> tuple[str | None, int | None]:
    """(mode, generation) of the first TrainingNetwork by name whose spec parses."""
    networks = sorted(await api.list_training_networks(client),
                      key=lambda n: str((n.get("metadata") or {}).get("name")))
    for net in networks:
        meta = net.get("metadata") or {}
        mode = mode_of(str(meta.get("name")), net.get("spec") or {})
        if mode is not None:
            gen = meta.get("generation")
            return mode, int(gen) if isinstance(gen, int) else None
    return None, None


def previous_conditions(state: AgentState, now: datetime,
                        heartbeat_s: float) -> list[NodeCondition]:
    """What the next conditions are compared with: the last published ones, except that after a
    silence of three heartbeats the operator will have marked the report Stale, so Stale=False
    is a transition again."""
    if state.last_publish is not None and \
            (now - state.last_publish).total_seconds() > STALE_HEARTBEATS * heartbeat_s:
        return [c for c in state.conditions if c.type != "Stale"]
    return list(state.conditions)


def observe(config: AgentConfig, mode: str | None, now: datetime,
            discover: Discover = default_discover,
            diagnose: Diagnose = default_diagnose,
            previous: Sequence[NodeCondition] = (),
            generation: int | None = None,
            state: AgentState | None = None) -> NodeReportStatus:
    """One look at the node: discover + doctor + what changed since the last look (health) ->
    the NodeReport status (pure but for reading the host tree)."""
    try:
        report = discover(config.root)
        if report.hostname is None:
            report.hostname = config.node
        findings = list(diagnose(report, mode))
        if state is not None:
            now_sample = health.sample(config.root, report)
            findings += health.compare(state.health, now_sample, config.thresholds,
                                       gpudirect=config.gpudirect)
            state.health = now_sample
    except Exception as exc:  # the agent must report, not crash, whatever the host looks like
        log.exception("discovery on %s failed", config.node)
        return logic.failed_node_report(config.node, f"{type(exc).__name__}: {exc}", mode=mode,
                                        now=now, agent_version=__version__, previous=previous)
    return logic.build_node_report(config.node, report, findings, mode=mode, now=now,
                                   agent_version=__version__, previous=previous,
                                   generation=generation)


async def agent_cycle(
    client: AsyncClient,
    config: AgentConfig,
    state: AgentState,
    *,
    clock: Clock = utcnow,
    discover: Discover = default_discover,
    diagnose: Diagnose = default_diagnose,
    metrics: AgentMetrics | None = None,
) -> logic.PublishDecision:
    """Observe once and publish if changed or a heartbeat is due."""
    now = clock()
    mode = config.mode
    if mode is None:
        # Re-read the cluster's mode once per heartbeat, not every cycle: 1,000 agents listing
        # TrainingNetworks every 30 s would be 33 list requests a second for a value that
        # almost never changes.
        due = state.mode_read_at is None or \
            (now - state.mode_read_at).total_seconds() >= config.heartbeat_s
        if due:
            try:
                state.mode, state.generation = await cluster_network(client)
                state.mode_read_at = now
            except ClusterError as exc:
                log.warning("cannot read TrainingNetworks (%s); diagnosing without a mode",
                            exc.message)
        mode = state.mode
    if state.node_uid is None and (
            state.node_uid_read_at is None
            or (now - state.node_uid_read_at).total_seconds() >= config.heartbeat_s):
        # The Node's uid makes it the NodeReport's owner, so the report goes with the Node.
        # Read until found, at most once per heartbeat (a uid never changes for a Node).
        try:
            state.node_uid = await api.node_uid(client, config.node)
        except ClusterError as exc:
            log.warning("cannot read Node %s (%s); its NodeReport has no owner reference "
                        "until it can", config.node, exc.message)
        state.node_uid_read_at = now
    if not state.seeded:
        state.seeded = True
        try:
            own = await api.get_node_report(client, config.node)
        except ClusterError as exc:
            own = None
            log.warning("cannot read back NodeReport %s (%s); conditions start afresh",
                        config.node, exc.message)
        if own is not None:
            state.conditions = logic.stored_conditions(own)
    status = await asyncio.to_thread(
        observe, config, mode, now, discover, diagnose,
        previous_conditions(state, now, config.heartbeat_s),
        state.generation if config.mode is None else None, state)
    state.last_status = status
    decision = logic.should_publish(status.facts_hash, state.last_hash, state.last_publish, now,
                                    config.heartbeat_s)
    state.cycles += 1
    if decision.publish:
        await api.publish_node_report(
            client, config.node, status.model_dump(mode="json", by_alias=True, exclude_none=True),
            owner_uid=state.node_uid)
        state.last_hash, state.last_publish = status.facts_hash, now
        state.conditions = list(status.conditions)
        state.publishes += 1
        if metrics is not None:
            metrics.publishes.labels(config.node, decision.why).inc()
        log.info("published NodeReport %s (%s): ready=%s reason=%s", config.node, decision.why,
                 status.ready, status.reason)
    return decision


async def run_agent(
    client: AsyncClient,
    config: AgentConfig,
    *,
    cycles: int | None = None,
    clock: Clock = utcnow,
    discover: Discover = default_discover,
    diagnose: Diagnose = default_diagnose,
    metrics: AgentMetrics | None = None,
    state: AgentState | None = None,
) -> AgentState:
    """Loop forever (or `cycles` times). API errors are logged and retried next cycle: an agent
    that cannot publish will show as AgentGone, which is the truth."""
    state = state or AgentState()
    if metrics is not None:
        metrics.watch(lambda: (state.last_status, state.health))
    while cycles is None or state.cycles < cycles:
        try:
            await agent_cycle(client, config, state, clock=clock, discover=discover,
                              diagnose=diagnose, metrics=metrics)
            state.last_error = None
        except ClusterError as exc:
            state.cycles += 1
            state.last_error = exc.message
            log.warning("publishing NodeReport %s failed: %s", config.node, exc.message)
        if cycles is None or state.cycles < cycles:
            await asyncio.sleep(config.interval_s)
    return state
