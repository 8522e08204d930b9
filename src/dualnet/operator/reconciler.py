"""The operator's working core, free of kopf: an in-memory view of the fleet fed by watch events,
and the few API-writing steps (apply, status, labels), each guarded by compare-before-write.

kopf handlers (`dualnet.operator.handlers`) only translate events into calls on these objects, so
tests and the benchmark drive exactly the code the operator runs, against a real API client.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lightkube import AsyncClient
from pydantic import ValidationError

from dualnet import labels
from dualnet.cluster import fleet as api
from dualnet.cluster.errors import ClusterError
from dualnet.errors import DualnetError, UsageError
from dualnet.host.models import HostReport
from dualnet.operator import logic
from dualnet.operator.metrics import FleetCollector, OperatorMetrics
from dualnet.operator.models import (
    API_VERSION,
    TRAINING_NETWORK_KIND,
    NodeReportStatus,
    ObjectRef,
    TrainingNetworkStatus,
)
from dualnet.plan import build_plan
from dualnet.render import render
from dualnet.spec import parse_spec

log = logging.getLogger("dualnet.operator")

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class OperatorSettings:
    """Timings. stale_after_s is N x the agent's heartbeat (default 3 x 120 s): one lost
    heartbeat is tolerated, three are an agent that is gone."""

    stale_after_s: float = 360.0
    debounce_s: float = 2.0
    max_settle_s: float = 20.0
    resync_s: float = 30.0
    # The cluster default of the dualnet.io/rdma-unready:NoSchedule taint; a TrainingNetwork's
    # annotation dualnet.io/taint-unready ("true"/"false") overrides it for that network.
    taint_unready: bool = False


@dataclass
class NetworkRecord:
    """What was applied for a network, and from which inputs (to re-apply only on change)."""

    generation: int | None
    fingerprints: tuple[str, ...]
    applied: list[ObjectRef] | None = None
    error: str | None = None
    error_reason: str = "ApplyFailed"


@dataclass
class FleetView:
    """NodeReports and node labels as the watches last saw them. Ingesting an event never writes
    to the API; it only bumps `version` and wakes whoever waits for a change."""

    reports: dict[str, NodeReportStatus] = field(default_factory=dict)
    node_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    # the rest of what sync_nodes compares with: taints, the DualnetRDMAReady condition, uid
    node_extra: dict[str, logic.NodeState] = field(default_factory=dict)
    report_generations: dict[str, int] = field(default_factory=dict)
    # hardware fingerprint -> (node holding it, that node ready?, its facts): see _share_facts
    _facts: dict[str, tuple[str, bool, HostReport]] = field(default_factory=dict)
    invalid_reports: dict[str, str] = field(default_factory=dict)
    version: int = 0
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def _bump(self) -> None:
        self.version += 1
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for_change(self, seen: int, timeout: float) -> int:
        """Return as soon as version != seen, or after `timeout` seconds."""
        if self.version != seen:
            return self.version
        event = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout=timeout)
        return self.version

    def poke(self) -> None:
        """Wake the status loops (e.g. after an apply changed what the status says)."""
        self._bump()

    def ingest_report(self, body: Mapping[str, Any]) -> bool:
        name = str((body.get("metadata") or {}).get("name"))
        try:
            report = NodeReportStatus.model_validate(body.get("status") or {})
        except ValidationError as exc:
            # A report we cannot read counts as no report (the node is shown NoReport) and is
            # logged once; the agent will overwrite it.
            first = exc.errors()[0] if exc.errors() else {"msg": str(exc)}
            self.invalid_reports[name] = str(first.get("msg"))
            changed = self.reports.pop(name, None) is not None
            if changed:
                self._bump()
            log.warning("NodeReport %s is not valid: %s", name, self.invalid_reports[name])
            return changed
        self.invalid_reports.pop(name, None)
        gen = (body.get("metadata") or {}).get("generation")
        if isinstance(gen, int):
            self.report_generations[name] = gen
        self._share_facts(name, report)
        before = self.reports.get(name)
        self.reports[name] = report
        # A heartbeat-only update changes nothing the status depends on (until it goes stale,
        # which the resync timer catches); it does not wake anyone.
        changed = before is None or before.facts_hash != report.facts_hash or \
            before.mode != report.mode
        if changed:
            self._bump()
        return changed

    def _share_facts(self, name: str, report: NodeReportStatus) -> None:
        """Nodes of equal hardware hold one facts object, that of a ready node where there is
        one: the facts only feed the plan, which takes one node per hardware fingerprint (see
        logic.plan_hosts), and they are most of a report's memory (10,000 nodes: 406 MiB held
        per-node, see BENCHMARKS.md)."""
        fp = logic.hardware_fingerprint(report.facts)
        held = self._facts.get(fp)
        if held is None or held[0] == name or (not held[1] and report.ready):
            self._facts[fp] = (name, report.ready, report.facts)
        else:
            report.facts = held[2]

    def forget_report(self, name: str) -> None:
        if self.reports.pop(name, None) is not None:
            self._bump()
        for fp, held in list(self._facts.items()):
            if held[0] == name:
                del self._facts[fp]

    def ingest_node(self, body: Mapping[str, Any]) -> None:
        meta = body.get("metadata") or {}
        name = str(meta.get("name"))
        found = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
        reason = (meta.get("annotations") or {}).get(labels.RDMA_READY_REASON)
        if reason is not None:
            found[labels.RDMA_READY_REASON] = str(reason)
        new = name not in self.node_labels
        self.node_labels[name] = found
        cond = next((c for c in ((body.get("status") or {}).get("conditions") or [])
                     if c.get("type") == logic.NODE_CONDITION), None)
        self.node_extra[name] = logic.NodeState(
            taints=tuple((body.get("spec") or {}).get("taints") or []),
            condition=dict(cond) if cond else None,
            uid=str(meta["uid"]) if meta.get("uid") else None)
        if new and name in self.reports:
            self._bump()

    def forget_node(self, name: str) -> None:
        self.node_labels.pop(name, None)
        self.node_extra.pop(name, None)

    def node_state(self, name: str) -> logic.NodeState:
        found = self.node_labels.get(name, {})
        extra = self.node_extra.get(name, logic.NodeState())
        return logic.NodeState(label=found.get(labels.RDMA_READY),
                               reason=found.get(labels.RDMA_READY_REASON),
                               taints=extra.taints, condition=extra.condition, uid=extra.uid)


# What the operator keeps deployed: the components and the network. Test pods and benchmark jobs
# that `dualnet render` also writes are one-off checks (`dualnet verify`), not desired state.
RECONCILED_ROLES = frozenset({"component", "network"})


LABEL_CONCURRENCY = 8

# Never deleted, even when labelled as a network's: deleting a Namespace deletes everything in it,
# deleting a CRD deletes every object of its kind; the user's objects included.
NEVER_DELETED = frozenset({"Namespace", "CustomResourceDefinition"})


def _spec_document(name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The CR's spec is the CLI spec's `spec`; parse_spec wants the whole document."""
    return {"apiVersion": API_VERSION, "kind": TRAINING_NETWORK_KIND,
            "metadata": {"name": name}, "spec": dict(spec)}


def _spec_problem(name: str, spec: Mapping[str, Any]) -> str:
    try:
        parse_spec(_spec_document(name, spec))
    except UsageError as exc:
        return exc.message
    return "valid"


def mode_of(name: str, spec: Mapping[str, Any]) -> str | None:
    """The network's mode with the spec's defaults applied; None for a spec that does not parse
    (its status already says InvalidSpec)."""
    try:
        return str(parse_spec(_spec_document(name, spec)).spec.mode.value)
    except UsageError:
        return None


def render_network(name: str, spec: Mapping[str, Any], hosts: list[Any]) -> list[dict[str, Any]]:
    """spec + node facts -> plan -> rendered objects (the plan and render layers' own code)."""
    plan = build_plan(parse_spec(_spec_document(name, spec)), hosts)
    return [o for o in render(plan, target="plain")
            if ((o.get("metadata") or {}).get("labels") or {}).get(labels.ROLE, "component")
            in RECONCILED_ROLES]


class Reconciler:
    """Everything the operator does to the API. One per operator process."""

    def __init__(
        self,
        client: AsyncClient,
        *,
        settings: OperatorSettings | None = None,
        fleet: FleetView | None = None,
        clock: Clock = utcnow,
        renderer: Callable[[str, Mapping[str, Any], list[Any]], list[dict[str, Any]]]
        = render_network,
        metrics: OperatorMetrics | None = None,
    ) -> None:
        self.client = client
        self.settings = settings or OperatorSettings()
        self.fleet = fleet or FleetView()
        self.clock = clock
        self.renderer = renderer
        self.networks: dict[str, NetworkRecord] = {}
        self.taints: dict[str, bool] = {}  # network -> its taint opt-in annotation, when set
        self.modes: dict[str, str | None] = {}  # network -> its mode, as last reconciled
        self.metrics = metrics
        if metrics is not None:
            metrics.watch_fleet(FleetCollector(lambda: self.fleet.reports, lambda: self.modes,
                                               self.clock, self.settings.stale_after_s))
        self.writes: Counter[str] = Counter()
        self._locks: dict[str, asyncio.Lock] = {}
        self._label_lock = asyncio.Lock()
        self._nodes_task: asyncio.Task[None] | None = None
        self._nodes_again = False

    def _lock(self, name: str) -> asyncio.Lock:
        return self._locks.setdefault(name, asyncio.Lock())

    # ------------------------------------------------------------ objects

    def _planning_reports(self) -> dict[str, NodeReportStatus]:
        """Every known report, stale ones included: the plan's inputs must not shrink because an
        agent missed heartbeats (that would rewrite the device plugin config on every node and
        restart it fleet-wide); they change when hardware appears or a NodeReport is deleted."""
        return dict(self.fleet.reports)

    def inputs_changed(self, name: str, generation: int | None) -> bool:
        rec = self.networks.get(name)
        fps, _ = logic.plan_hosts(self._planning_reports())
        return rec is None or rec.generation != generation or rec.fingerprints != tuple(fps)

    def _inventory(self, name: str, stored: Sequence[Any]) -> list[ObjectRef]:
        """What this network applied before: the in-memory record, and the stored status (after
        an operator restart the status is the only memory)."""
        out: list[ObjectRef] = []
        for item in stored:
            try:
                out.append(item if isinstance(item, ObjectRef) else ObjectRef.model_validate(item))
            except ValidationError:
                continue
        rec = self.networks.get(name)
        if rec is not None and rec.applied:
            out.extend(rec.applied)
        return out

    async def _prune(self, name: str, refs: Iterable[ObjectRef]) -> int:
        owned = [api.OwnedRef(r.api_version, r.kind, r.namespace, r.name) for r in refs
                 if r.kind not in NEVER_DELETED]
        deleted = await api.delete_owned(self.client, name, owned)
        self.writes["delete"] += deleted
        return deleted

    async def apply_network(self, name: str, spec: Mapping[str, Any],
                            generation: int | None,
                            previous: Sequence[Any] = ()) -> NetworkRecord:
        """Render from the current fleet and server-side apply (prune what is no longer
        rendered). A bad spec or an impossible plan is recorded, not raised: it is the user's to
        fix and shows in status; API failures raise ClusterError (kopf retries)."""
        async with self._lock(name):
            fps, hosts = logic.plan_hosts(self._planning_reports())
            rec = NetworkRecord(generation=generation, fingerprints=tuple(fps))
            if mode_of(name, spec) is None:
                rec.error, rec.error_reason = _spec_problem(name, spec), "InvalidSpec"
                self.networks[name] = rec
                return rec
            if not hosts:
                # Nothing is applied before some node has reported: the plan derives selectors
                # from real device ids, and a guess could bind the wrong NICs.
                rec.error = "no node has published a NodeReport yet; is the agent running?"
                rec.error_reason = "WaitingForNodeReports"
                self.networks[name] = rec
                return rec
            try:
                objects = self.renderer(name, spec, hosts)
            except DualnetError as exc:
                rec.error, rec.error_reason = exc.message, "PlanFailed"
                self.networks[name] = rec
                return rec
            try:
                result = await api.apply_network_objects(self.client, name, objects)
            except ClusterError as exc:
                rec.error, rec.error_reason = exc.message, "ApplyFailed"
                self.networks[name] = rec
                raise
            self.writes["apply"] += result.writes
            rec.applied = [
                ObjectRef(api_version=o.api_version, kind=o.kind, name=o.name,
                          namespace=o.namespace)
                for o in result.outcomes if o.action.value in ("created", "configured",
                                                               "unchanged")
            ]
            keep = {(r.api_version, r.kind, r.namespace, r.name) for r in rec.applied}
            keep |= {(o.api_version, o.kind, o.namespace, o.name) for o in result.outcomes}
            gone = [r for r in self._inventory(name, previous)
                    if (r.api_version, r.kind, r.namespace, r.name) not in keep]
            if gone:
                await self._prune(name, gone)
            skipped = [o.ref for o in result.outcomes if o.action.value == "skipped"]
            if skipped:
                rec.error = "not owned by dualnet, left alone: " + ", ".join(skipped[:10])
                rec.error_reason = "ObjectsNotOwned"
            self.networks[name] = rec
            return rec

    async def delete_network(self, name: str, spec: Mapping[str, Any] | None = None,
                             stored: Sequence[Any] = ()) -> int:
        """Remove the objects this network applied (inventory: memory + stored status, plus
        what its spec renders to now), each only if still labelled as this network's."""
        async with self._lock(name):
            refs = self._inventory(name, stored)
            if spec is not None:
                _, hosts = logic.plan_hosts(self._planning_reports())
                try:
                    objs = self.renderer(name, spec, hosts) if hosts else []
                except DualnetError:
                    objs = []
                for o in objs:
                    meta = o.get("metadata") or {}
                    refs.append(ObjectRef(api_version=str(o.get("apiVersion")),
                                          kind=str(o.get("kind")), name=str(meta.get("name")),
                                          namespace=meta.get("namespace")))
            deleted = await self._prune(name, refs)
            self.networks.pop(name, None)
            return deleted

    # ------------------------------------------------------------ status

    def desired_status(self, name: str, generation: int | None, mode: str | None,
                       current: Mapping[str, Any] | None) -> TrainingNetworkStatus:
        try:
            previous = TrainingNetworkStatus.model_validate(current) if current else None
        except ValidationError:
            previous = None
        rec = self.networks.get(name)
        return logic.compute_network_status(
            generation=rec.generation if rec is not None else None,
            nodes=self.fleet.reports.keys(),
            reports=self.fleet.reports,
            now=self.clock(),
            stale_after_s=self.settings.stale_after_s,
            mode=mode,
            previous=previous,
            applied=rec.applied if rec is not None and rec.applied is not None else None,
            apply_error=rec.error if rec is not None else None,
            apply_error_reason=rec.error_reason if rec is not None else "ApplyFailed",
            fingerprints=list(rec.fingerprints) if rec is not None else None,
        )

    async def sync_status(self, name: str, generation: int | None, mode: str | None,
                          current: Mapping[str, Any] | None, *, uid: str | None = None) -> bool:
        """Patch the status only when it differs from what is stored. True when written. A flip
        of its Degraded condition also posts one Event on the TrainingNetwork."""
        desired = self.desired_status(name, generation, mode, current)
        stored = {k: v for k, v in (current or {}).items() if k != "kopf"}
        if not logic.status_differs(stored, desired):
            return False
        await api.patch_network_status(self.client, name, logic.status_dict(desired), stored)
        self.writes["status"] += 1
        try:
            previous = TrainingNetworkStatus.model_validate(stored) if stored else None
        except ValidationError:
            previous = None
        rules = {n.node: logic.node_verdict(self.fleet.reports.get(n.node), now=self.clock(),
                                            stale_after_s=self.settings.stale_after_s).rule
                 for n in desired.not_ready}
        event = logic.network_event(previous, desired, rules)
        if event is not None:
            await self._event(TRAINING_NETWORK_KIND, API_VERSION, name, uid, event)
        return True

    async def _event(self, kind: str, api_version: str, name: str, uid: str | None,
                     event: tuple[str, str, str]) -> None:
        type_, reason, message = event
        try:
            await api.create_event(self.client, kind=kind, api_version=api_version, name=name,
                                   uid=uid, type_=type_, reason=reason, message=message,
                                   time=logic.rfc3339(self.clock()))
        except ClusterError as exc:  # an Event is a courtesy; the condition already says it
            log.warning("cannot post Event %s about %s %s: %s", reason, kind, name, exc.message)
            return
        self.writes["event"] += 1

    # ------------------------------------------------------------ nodes

    def taint_enabled(self) -> bool:
        """Taint unready nodes when some TrainingNetwork opts in (its annotation, else the
        operator's default)."""
        return any(self.taints.get(n, self.settings.taint_unready) for n in self.networks) \
            if self.networks else False

    async def sync_nodes(self) -> int:
        """Per node whose state differs from what it carries: one merge patch (dualnet.io/rdma-
        ready label, its reason, the opt-in taint), the DualnetRDMAReady condition, and one
        Event per transition. Returns the writes. Serialised: several networks' loops may call
        it, and the second finds nothing."""
        async with self._label_lock:
            now = self.clock()
            taint = self.taint_enabled()
            updates = []
            for node in sorted(self.fleet.reports):
                if node not in self.fleet.node_labels:
                    continue  # not known to exist (not watched yet, or deleted)
                verdict = logic.node_verdict(self.fleet.reports[node], now=now,
                                             stale_after_s=self.settings.stale_after_s)
                update = logic.node_update(node, verdict, self.fleet.node_state(node),
                                           taint=taint, now=now)
                if update.patch or update.condition or update.event:
                    updates.append(update)
            # A few requests in flight at once: a cold start touches every node, and one at a
            # time is N round trips; more than LABEL_CONCURRENCY would only queue at the server.
            gate = asyncio.Semaphore(LABEL_CONCURRENCY)
            results = await asyncio.gather(*(self._write_node(u, gate) for u in updates))
            return sum(results)

    async def _write_node(self, u: logic.NodeUpdate, gate: asyncio.Semaphore) -> int:
        written = 0
        async with gate:
            if u.patch is not None:
                if not await api.patch_node(self.client, u.node, u.patch):
                    self.fleet.forget_node(u.node)
                    return 0
                self.writes["label"] += 1
                written += 1
                meta = u.patch.get("metadata") or {}
                found = self.fleet.node_labels.setdefault(u.node, {})
                found.update(meta.get("labels") or {})
                found.update(meta.get("annotations") or {})
                if "spec" in u.patch:
                    extra = self.fleet.node_extra.get(u.node, logic.NodeState())
                    self.fleet.node_extra[u.node] = dataclasses.replace(
                        extra, taints=tuple(u.patch["spec"]["taints"]))
            if u.condition is not None and \
                    await api.set_node_condition(self.client, u.node, u.condition):
                self.writes["condition"] += 1
                written += 1
                extra = self.fleet.node_extra.get(u.node, logic.NodeState())
                self.fleet.node_extra[u.node] = dataclasses.replace(extra, condition=u.condition)
        if u.event is not None:
            await self._event("Node", "v1", u.node, self.fleet.node_state(u.node).uid, u.event)
            written += 1
        return written

    # the name this step had before it also set the condition, the taint and Events
    sync_labels = sync_nodes

    async def sync_stale(self) -> int:
        """Mark Stale=True on the NodeReports whose heartbeat is overdue (the agent cannot say
        so itself), once: the agent sets it back to False when it publishes again."""
        now = self.clock()
        written = 0
        for node, report in sorted(self.fleet.reports.items()):
            want = logic.stale_conditions(report, now=now,
                                          stale_after_s=self.settings.stale_after_s,
                                          generation=self.fleet.report_generations.get(node))
            if want is None:
                continue
            body = [c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in want]
            if await api.set_node_report_conditions(self.client, node, body):
                report.conditions = want
                self.writes["stale"] += 1
                written += 1
        return written

    # ------------------------------------------------------------ one pass

    async def reconcile_once(self, name: str, body: Mapping[str, Any], *,
                             nodes: bool = True) -> None:
        """One pass for one network: re-apply if its inputs changed, then status, then (unless
        `nodes` is False) the nodes."""
        started = time.perf_counter()
        try:
            await self._reconcile_once(name, body, nodes=nodes)
        finally:
            if self.metrics is not None:
                self.metrics.reconcile_duration.labels(name).observe(
                    time.perf_counter() - started)

    async def _reconcile_once(self, name: str, body: Mapping[str, Any], *, nodes: bool) -> None:
        meta = body.get("metadata") or {}
        spec = body.get("spec") or {}
        generation = meta.get("generation")
        if self.inputs_changed(name, generation):
            try:
                await self.apply_network(name, spec, generation,
                                         (body.get("status") or {}).get("applied") or ())
            except ClusterError as exc:
                log.warning("applying TrainingNetwork %s failed: %s", name, exc.message)
        ann = meta.get("annotations") or {}
        if labels.TAINT_UNREADY_ANNOTATION in ann:
            self.taints[name] = str(ann[labels.TAINT_UNREADY_ANNOTATION]).lower() == "true"
        else:
            self.taints.pop(name, None)
        self.modes[name] = mode_of(name, spec)
        await self.sync_status(name, generation, self.modes[name], body.get("status"),
                               uid=meta.get("uid"))
        await self.sync_stale()
        if nodes:
            await self.sync_nodes()

    def kick_nodes(self) -> None:
        """Run a node pass in the background, or have the running one go once more. Node writes
        are 2 per changed node: a rollout of 1,000 nodes held the next status pass 35 s behind
        them when both ran in one pass (BENCHMARKS.md, operator); the status is one write."""
        self._nodes_again = True
        if self._nodes_task is None or self._nodes_task.done():
            self._nodes_task = asyncio.create_task(self._node_passes())

    async def _node_passes(self) -> None:
        while self._nodes_again:
            self._nodes_again = False
            try:
                await self.sync_nodes()
            except ClusterError as exc:
                log.warning("updating nodes: %s", exc.message)

    async def _finish_nodes(self) -> None:
        """Let a node pass in flight finish its writes (the loop was asked to stop)."""
        task = self._nodes_task
        if task is not None and not task.done():
            try:
                await task
            except asyncio.CancelledError:
                task.cancel()
                raise

    async def settle(self) -> None:
        """Debounce: wait until the fleet has been quiet for debounce_s (a burst of reports is
        one pass, not one per report), but no longer than max_settle_s (a steady stream of
        changes must not starve the status)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.max_settle_s
        while True:
            version = self.fleet.version
            await asyncio.sleep(self.settings.debounce_s)
            if self.fleet.version == version or loop.time() >= deadline:
                return

    async def run_network_loop(self, name: str, get_body: Callable[[], Mapping[str, Any]],
                               stopped: Callable[[], bool]) -> None:
        """Until stopped: wait for a fleet change (or the resync period, which is what turns
        silent agents into AgentGone), let a burst settle for debounce_s, reconcile the status
        once and kick a node pass, which runs beside the next status passes."""
        seen = -1
        try:
            while not stopped():
                seen = await self.fleet.wait_for_change(seen, self.settings.resync_s)
                if stopped():
                    break
                await self.settle()
                seen = self.fleet.version
                try:
                    await self.reconcile_once(name, get_body(), nodes=False)
                except ClusterError as exc:
                    log.warning("status of TrainingNetwork %s: %s", name, exc.message)
                self.kick_nodes()
        except asyncio.CancelledError:
            if self._nodes_task is not None:
                self._nodes_task.cancel()
            raise
        await self._finish_nodes()
