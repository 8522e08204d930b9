"""The operator's decisions as pure functions: (spec, reports, now) -> desired status and labels.

Nothing here talks to the API or reads the clock; the kopf handlers and the agent pass `now` in.
That keeps every rule testable without a cluster and makes "compare before patch" exact: the same
inputs always give byte-identical output, so an unchanged fleet produces no write.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from dualnet import labels
from dualnet.host.models import HostReport, PortState, RdmaPort
from dualnet.operator.models import (
    MAX_FINDINGS,
    MAX_GIDS_PER_PORT,
    MAX_MESSAGE,
    MAX_NOT_READY_LISTED,
    REASON_AGENT_GONE,
    REASON_DISCOVERY_FAILED,
    REASON_MODE_MISMATCH,
    REASON_NO_ACTIVE_PORT,
    REASON_NO_RDMA_DEVICE,
    REASON_NO_REPORT,
    REASON_READY,
    Condition,
    NodeCondition,
    NodeReportStatus,
    NotReadyNode,
    ObjectRef,
    ReportFinding,
    TrainingNetworkStatus,
)

# Severities that make a node unable to carry training traffic. The doctor's own names are used
# when they land; the synonyms keep this working whatever spelling it settles on.
BLOCKING_SEVERITIES = frozenset({"error", "critical", "fatal", "fail", "failure"})
HEALTH_PREFIX = "health."  # ids of dualnet.operator.health's findings

# Kernel modules worth publishing: the RDMA, NIC and GPU stacks. A full lsmod is 100+ entries
# that no rule downstream of the node needs.
_MODULE_PREFIXES = ("mlx", "ib_", "rdma", "nvidia", "bnxt", "irdma", "rxe", "siw", "ice", "i40e",
                    "vfio", "macvlan", "ipvlan", "ib", "efa", "gdrdrv")

LABEL_TRUE = "true"
LABEL_FALSE = "false"


class FindingLike(Protocol):
    """What the operator reads from a doctor finding (dualnet.doctor's Finding fits)."""

    @property
    def id(self) -> str: ...
    @property
    def severity(self) -> Any: ...
    @property
    def title(self) -> str: ...
    @property
    def fix(self) -> Any: ...


# ---------------------------------------------------------------- time


def rfc3339(now: datetime) -> str:
    return now.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# ---------------------------------------------------------------- agent side


def _severity(finding: FindingLike) -> str:
    sev = finding.severity
    return str(getattr(sev, "value", sev)).lower()


def reason_from_finding_id(finding_id: str) -> str:
    """'rdma.gid-missing' / 'GID_MISSING' / 'gid_missing' -> 'GidMissing' (a condition reason
    must be CamelCase: [A-Za-z][A-Za-z0-9_,:]*)."""
    last = re.split(r"[./:]", finding_id.strip())[-1] or finding_id
    words = [w for w in re.split(r"[^A-Za-z0-9]+", last) if w]
    reason = "".join(w[:1].upper() + w[1:].lower() if w.isupper() or w.islower() else w
                     for w in words)
    if not reason or not reason[0].isalpha():
        reason = "Finding" + reason
    return reason


def _fix_text(fix: Any) -> str | None:
    """The doctor gives a list of commands; one line of them is what fits a report."""
    if not fix:
        return None
    text = "; ".join(str(c) for c in fix) if isinstance(fix, list | tuple) else str(fix)
    return _truncate(text, 256)


def _truncate(text: str, limit: int = MAX_MESSAGE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _active(port: RdmaPort) -> bool:
    return port.state in (PortState.ACTIVE, PortState.ACTIVE_DEFER)


def assess_node(report: HostReport, findings: Sequence[FindingLike]) -> tuple[bool, str, str]:
    """Can this node carry RDMA training traffic now? (ready, reason, message).

    Blocking findings win (they carry the precise cause and fix); then the two facts without which
    nothing works whatever the doctor says: an RDMA device, and a port that is ACTIVE."""
    blocking = sorted((f for f in findings if _severity(f) in BLOCKING_SEVERITIES),
                      key=lambda f: _reason_order(f.id))
    if blocking:
        first = blocking[0]
        more = f" (and {len(blocking) - 1} more)" if len(blocking) > 1 else ""
        return False, reason_from_finding_id(first.id), _truncate(f"{first.title}{more}")
    if not report.rdma_devices:
        return False, REASON_NO_RDMA_DEVICE, "no RDMA device under /sys/class/infiniband"
    if not any(_active(p) for d in report.rdma_devices for p in d.ports):
        states = ", ".join(f"{d.name}/{p.number}={p.state}" for d in report.rdma_devices
                           for p in d.ports)
        return False, REASON_NO_ACTIVE_PORT, _truncate(f"no RDMA port is ACTIVE ({states})")
    active = sum(1 for d in report.rdma_devices for p in d.ports if _active(p))
    return True, REASON_READY, f"{active} active RDMA port(s)"


def prune_facts(report: HostReport) -> HostReport:
    """The facts that matter for fleet decisions and planning, bounded in size: GID tables cut to
    the useful entries (RoCE v2 IPv4 first), only RDMA/NIC/GPU modules, no routes or read
    problems, CNI state without file details."""
    pruned = copy.deepcopy(report)
    for dev in pruned.rdma_devices:
        for port in dev.ports:
            port.gids = sorted(
                port.gids,
                key=lambda g: (not (g.roce_version == "v2" and g.ipv4), g.index),
            )[:MAX_GIDS_PER_PORT]
            port.gids.sort(key=lambda g: g.index)
    pruned.modules = [m for m in pruned.modules if m.name.startswith(_MODULE_PREFIXES)]
    # Only default routes: the plan uses them to keep the management NIC out of the network.
    pruned.routes = [r for r in pruned.routes if r.is_default]
    pruned.problems = pruned.problems[:5]
    if pruned.cni is not None:
        pruned.cni.conf_files = pruned.cni.conf_files[:10]
    # PCI paths draw the report's topology tree; planning uses the relations already derived
    for nic in pruned.nics:
        nic.pci_path = None
    for gpu in pruned.gpus:
        gpu.pci_path = None
    return pruned


def facts_hash(status: NodeReportStatus) -> str:
    """Hash of everything but the heartbeat and the conditions (derived from the rest, and
    carrying times): equal hashes mean nothing worth publishing changed."""
    data = status.model_dump(mode="json", by_alias=True,
                             exclude={"heartbeat_time", "facts_hash", "conditions"})
    blob = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def rails(report: HostReport) -> tuple[int, int]:
    """(ACTIVE RDMA ports, RDMA ports): the Rails column."""
    ports = [p for d in report.rdma_devices for p in d.ports]
    return sum(1 for p in ports if _active(p)), len(ports)


def blocking_rule(findings: Sequence[FindingLike]) -> str | None:
    """The doctor rule id that decides a not-ready verdict (what assess_node names)."""
    blocking = sorted((f.id for f in findings if _severity(f) in BLOCKING_SEVERITIES),
                      key=_reason_order)
    return blocking[0] if blocking else None


def _reason_order(finding_id: str) -> tuple[bool, str]:
    """The doctor's verdict on the state names the reason before a health finding about a
    change (which lasts one interval): the reason then stays put when the change is over."""
    return finding_id.startswith(HEALTH_PREFIX), finding_id


def next_condition(previous: Sequence[Any], type_: str, status: str, reason: str,
                   message: str, now: datetime) -> tuple[str, str, str, str]:
    """(status, reason, message, lastTransitionTime): the time is kept unless the status flips
    (the API convention; it is what keeps an unchanged node from writing)."""
    before = next((c for c in previous if c.type == type_), None)
    since = before.last_transition_time if before is not None and before.status == status \
        else rfc3339(now)
    return status, reason, _truncate(message), since


def node_conditions(
    ready: bool, reason: str, message: str, findings: Sequence[FindingLike], *,
    previous: Sequence[NodeCondition], now: datetime, generation: int | None,
) -> list[NodeCondition]:
    """The agent's conditions: Ready (the verdict), Degraded (warnings that do not block yet:
    counters rising, a flapping carrier), Stale=False (it is publishing now)."""
    warnings = sorted(f.id for f in findings if _severity(f) == "warning")
    degraded = ("True", reason_from_finding_id(warnings[0]),
                f"{len(warnings)} warning(s): {', '.join(warnings[:5])}") if warnings \
        else ("False", "AsExpected", "no warning")
    wanted = (
        ("Ready", ("True" if ready else "False", reason, message)),
        ("Degraded", degraded),
        ("Stale", ("False", "HeartbeatFresh", "the agent is publishing")),
    )
    out = []
    for type_, (st, rs, msg) in wanted:
        st, rs, msg, since = next_condition(previous, type_, st, rs, msg, now)
        out.append(NodeCondition.model_validate({
            "type": type_, "status": st, "reason": rs, "message": msg,
            "lastTransitionTime": since, "observedGeneration": generation}))
    return out


def stored_conditions(body: Mapping[str, Any]) -> list[NodeCondition]:
    """The conditions of a NodeReport as the API returns it (unreadable entries dropped)."""
    out: list[NodeCondition] = []
    for item in ((body.get("status") or {}).get("conditions") or []):
        try:
            out.append(NodeCondition.model_validate(item))
        except ValueError:
            continue
    return out


def build_node_report(
    node: str,
    report: HostReport,
    findings: Sequence[FindingLike],
    *,
    mode: str | None,
    now: datetime,
    agent_version: str | None = None,
    previous: Sequence[NodeCondition] = (),
    generation: int | None = None,
) -> NodeReportStatus:
    ready, reason, message = assess_node(report, findings)
    published = sorted(findings, key=lambda f: (_severity(f) not in BLOCKING_SEVERITIES, f.id))
    up, total = rails(report)
    status = NodeReportStatus(
        node_name=node,
        ready=ready,
        reason=reason,
        message=message,
        mode=mode,
        heartbeat_time=rfc3339(now),
        facts_hash="",
        agent_version=agent_version,
        findings=[
            ReportFinding(id=f.id, severity=_severity(f), title=_truncate(f.title, 256),
                          fix=_fix_text(f.fix))
            for f in published[:MAX_FINDINGS]
        ],
        facts=prune_facts(report),
        rule=blocking_rule(findings),
        rails_ready=up,
        rails_expected=total,
        rails=f"{up}/{total}",
        conditions=node_conditions(ready, reason, message, findings, previous=previous,
                                   now=now, generation=generation),
    )
    status.facts_hash = facts_hash(status)
    return status


def failed_node_report(node: str, error: str, *, mode: str | None, now: datetime,
                       agent_version: str | None = None,
                       previous: Sequence[NodeCondition] = ()) -> NodeReportStatus:
    """What the agent publishes when discovery itself fails: not ready, and why."""
    status = NodeReportStatus(
        node_name=node, ready=False, reason=REASON_DISCOVERY_FAILED,
        message=_truncate(error), mode=mode, heartbeat_time=rfc3339(now), facts_hash="",
        agent_version=agent_version, facts=HostReport(hostname=node, source="synthetic"),
        conditions=node_conditions(False, REASON_DISCOVERY_FAILED, error, [],
                                   previous=previous, now=now, generation=None),
    )
    status.facts_hash = facts_hash(status)
    return status


@dataclass(frozen=True)
class PublishDecision:
    publish: bool
    why: str  # "changed" | "heartbeat" | "unchanged"


def should_publish(new_hash: str, last_hash: str | None, last_publish: datetime | None,
                   now: datetime, heartbeat_s: float) -> PublishDecision:
    if new_hash != last_hash:
        return PublishDecision(True, "changed")
    if last_publish is None or (now - last_publish).total_seconds() >= heartbeat_s:
        return PublishDecision(True, "heartbeat")
    return PublishDecision(False, "unchanged")


# ---------------------------------------------------------------- operator side


def effective_readiness(
    report: NodeReportStatus | None,
    *,
    now: datetime,
    stale_after_s: float,
    mode: str | None = None,
) -> tuple[bool, str, str]:
    """The agent's verdict, overruled when it cannot be trusted: no report, a heartbeat older than
    `stale_after_s` (AgentGone), or findings computed for another mode than the network's."""
    if report is None:
        return False, REASON_NO_REPORT, "no NodeReport from the dualnet agent"
    beat = parse_time(report.heartbeat_time)
    if beat is None or (now - beat).total_seconds() > stale_after_s:
        age = "never" if beat is None else f"{int((now - beat).total_seconds())}s ago"
        return False, REASON_AGENT_GONE, f"last agent heartbeat {age} (limit {int(stale_after_s)}s)"
    if mode is not None and report.mode is not None and report.mode != mode:
        return False, REASON_MODE_MISMATCH, (
            f"agent diagnosed for mode {report.mode!r}, network wants {mode!r}")
    return report.ready, report.reason, report.message


def _condition(
    previous: Sequence[Condition], type_: str, status: str, reason: str, message: str,
    now: datetime, generation: int | None,
) -> Condition:
    """A condition that keeps its lastTransitionTime unless its status flips (the API convention,
    and what keeps an unchanged fleet from producing a new status on every pass)."""
    status, reason, message, since = next_condition(previous, type_, status, reason, message,
                                                    now)
    return Condition.model_validate({
        "type": type_, "status": status, "reason": reason, "message": message,
        "lastTransitionTime": since, "observedGeneration": generation,
    })


def _reason_summary(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {r}" for r, n in sorted(counts.items(), key=lambda x: (-x[1], x[0])))


def compute_network_status(
    *,
    generation: int | None,
    nodes: Iterable[str],
    reports: Mapping[str, NodeReportStatus],
    now: datetime,
    stale_after_s: float,
    mode: str | None,
    previous: TrainingNetworkStatus | None,
    applied: Sequence[ObjectRef] | None = None,
    apply_error: str | None = None,
    apply_error_reason: str = "ApplyFailed",
    fingerprints: Sequence[str] | None = None,
) -> TrainingNetworkStatus:
    """Desired status of one TrainingNetwork. `nodes` are the nodes the network covers (nodes with
    a report, or selected by the spec); `applied`/`fingerprints` None keeps the previous values."""
    prev = previous or TrainingNetworkStatus()
    ready: list[str] = []
    not_ready: list[NotReadyNode] = []
    for node in sorted(set(nodes)):
        ok, reason, message = effective_readiness(reports.get(node), now=now,
                                                  stale_after_s=stale_after_s, mode=mode)
        if ok:
            ready.append(node)
        else:
            not_ready.append(NotReadyNode(node=node, reason=reason, message=message))
    counts = dict(Counter(n.reason for n in not_ready))
    total = len(ready) + len(not_ready)

    if apply_error is not None:
        applied_c = ("False", apply_error_reason, apply_error)
    elif applied is None and not prev.applied:
        applied_c = ("False", "Pending", "objects not applied yet")
    else:
        n = len(applied if applied is not None else prev.applied)
        applied_c = ("True", "Applied", f"{n} object(s) applied by server-side apply")

    if apply_error is not None:
        ready_c = ("False", apply_error_reason, apply_error)
    elif applied_c[0] != "True":
        ready_c = ("False", "Pending", "waiting for the objects to be applied")
    elif total == 0:
        ready_c = ("False", "NoNodeReports", "no node has reported yet (is the agent running?)")
    elif not ready:
        ready_c = ("False", "NoReadyNodes", f"0/{total} nodes ready: {_reason_summary(counts)}")
    elif not_ready:
        ready_c = ("True", "PartiallyReady", f"{len(ready)}/{total} nodes ready")
    else:
        ready_c = ("True", "AllNodesReady", f"{total}/{total} nodes ready")

    if apply_error is not None:
        degraded_c = ("True", apply_error_reason, apply_error)
    elif not_ready:
        degraded_c = ("True", "NodesNotReady",
                      f"{len(not_ready)}/{total} nodes not ready: {_reason_summary(counts)}")
    else:
        degraded_c = ("False", "AsExpected", "no node reports a problem")

    if apply_error is not None:
        progressing_c = ("False", apply_error_reason, "stopped: " + apply_error)
    elif applied_c[0] != "True":
        progressing_c = ("True", "Applying", "rendering and applying the network's objects")
    elif total == 0:
        progressing_c = ("True", "WaitingForNodeReports", "no node has reported yet")
    else:
        progressing_c = ("False", "Converged", f"applied; {total} node(s) reporting")

    conditions = [
        _condition(prev.conditions, t, s, r, m, now, generation)
        for t, (s, r, m) in (("Ready", ready_c), ("Progressing", progressing_c),
                             ("Degraded", degraded_c), ("Applied", applied_c))
    ]
    return TrainingNetworkStatus(
        observed_generation=generation,
        ready_nodes=len(ready),
        not_ready_nodes=len(not_ready),
        total_nodes=total,
        not_ready=not_ready[:MAX_NOT_READY_LISTED],
        not_ready_reasons=counts,
        applied=list(applied) if applied is not None else prev.applied,
        hardware_fingerprints=list(fingerprints) if fingerprints is not None
        else prev.hardware_fingerprints,
        conditions=conditions,
    )


def status_dict(status: TrainingNetworkStatus) -> dict[str, Any]:
    return status.model_dump(mode="json", by_alias=True, exclude_none=True)


def status_differs(current: Mapping[str, Any] | None, desired: TrainingNetworkStatus) -> bool:
    """Compare before patch: the stored status (as the API returns it) against the desired one."""
    if not current:
        return True
    try:
        parsed = TrainingNetworkStatus.model_validate(current)
    except ValueError:
        return True  # a status we cannot read is rewritten
    return status_dict(parsed) != status_dict(desired)


# ---------------------------------------------------------------- node labels


def desired_labels(
    reports: Mapping[str, NodeReportStatus | None],
    *,
    now: datetime,
    stale_after_s: float,
) -> dict[str, tuple[str, str]]:
    """node -> (rdma-ready label value, reason) for every node that has (had) a report."""
    out: dict[str, tuple[str, str]] = {}
    for node, report in reports.items():
        ok, reason, _ = effective_readiness(report, now=now, stale_after_s=stale_after_s)
        out[node] = (LABEL_TRUE if ok else LABEL_FALSE, reason)
    return out


def label_changes(
    desired: Mapping[str, tuple[str, str]],
    current: Mapping[str, tuple[str | None, str | None]],
) -> dict[str, tuple[str, str]]:
    """Only the nodes whose label or reason differs from what the node carries now. Nodes not in
    `current` are not known to exist (not watched yet, or deleted): they are left alone."""
    return {node: want for node, want in desired.items()
            if node in current and current[node] != want}


# ---------------------------------------------------------------- planning inputs


def hardware_fingerprint(facts: HostReport) -> str:
    """Nodes with equal fingerprints plan identically: NIC ids, drivers, link types, RDMA ports'
    link layers and the netns mode."""
    key = {
        "nics": sorted((n.vendor_id, n.device_id, n.driver or "", n.link_type or "", n.is_vf)
                       for n in facts.nics),
        "rdma": sorted((d.driver or "", tuple(str(p.link_layer) for p in d.ports))
                       for d in facts.rdma_devices),
        "netns": str(facts.netns_mode),
        "arch": facts.arch or "",
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=list).encode()).hexdigest()[:12]


def plan_hosts(reports: Mapping[str, NodeReportStatus]) -> tuple[list[str], list[HostReport]]:
    """One representative HostReport per distinct hardware (ready nodes preferred, then by name):
    what the plan is built from. Returns (sorted fingerprints, hosts in that order)."""
    chosen: dict[str, tuple[bool, str, HostReport]] = {}
    for node in sorted(reports):
        r = reports[node]
        fp = hardware_fingerprint(r.facts)
        cand = (not r.ready, node, r.facts)
        if fp not in chosen or cand[:2] < chosen[fp][:2]:
            chosen[fp] = cand
    fps = sorted(chosen)
    return fps, [chosen[fp][2] for fp in fps]


# ---------------------------------------------------------------- nodes: condition, taint, events

NODE_CONDITION = "DualnetRDMAReady"
TAINT_KEY = labels.RDMA_UNREADY_TAINT
TAINT_EFFECT = "NoSchedule"


@dataclass(frozen=True)
class NodeVerdict:
    """One node's effective readiness: `reason` is CamelCase (condition and label annotation),
    `rule` the doctor rule id behind it (Event reason), or the operator's own reason."""

    ready: bool
    reason: str
    rule: str
    message: str


@dataclass(frozen=True)
class NodeState:
    """What a Node carries now, as the watch last saw it."""

    label: str | None = None
    reason: str | None = None
    taints: tuple[Mapping[str, Any], ...] = ()
    condition: Mapping[str, Any] | None = None
    uid: str | None = None


@dataclass(frozen=True)
class NodeUpdate:
    """The writes one node needs: a metadata/spec merge patch (label, reason annotation, taints),
    the node condition (status subresource), and the Event of a transition; None where nothing
    is to be written."""

    node: str
    patch: dict[str, Any] | None
    condition: dict[str, Any] | None
    event: tuple[str, str, str] | None  # (type Normal|Warning, reason = rule id, message)


def node_verdict(report: NodeReportStatus | None, *, now: datetime,
                 stale_after_s: float) -> NodeVerdict:
    ok, reason, message = effective_readiness(report, now=now, stale_after_s=stale_after_s)
    rule = report.rule if report is not None and report.rule and reason == report.reason \
        and not ok else reason
    return NodeVerdict(ok, reason, rule, message)


def _without_ours(taints: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [dict(t) for t in taints if t.get("key") != TAINT_KEY]


def node_update(node: str, verdict: NodeVerdict, current: NodeState, *, taint: bool,
                now: datetime) -> NodeUpdate:
    """Compare before write, per node (pure). The Event goes with a change of the condition's
    status or reason, i.e. once per transition whatever the number of reconciles; a node seen
    for the first time gets one only when it is not ready (a ready node is no news)."""
    label = LABEL_TRUE if verdict.ready else LABEL_FALSE
    patch: dict[str, Any] = {}
    if (current.label, current.reason) != (label, verdict.reason):
        patch["metadata"] = {"labels": {labels.RDMA_READY: label},
                             "annotations": {labels.RDMA_READY_REASON: verdict.reason}}
    want_taints = _without_ours(current.taints)
    if taint and not verdict.ready:
        want_taints.append({"key": TAINT_KEY, "value": verdict.reason, "effect": TAINT_EFFECT})
    if want_taints != [dict(t) for t in current.taints]:
        patch["spec"] = {"taints": want_taints}

    status = "True" if verdict.ready else "False"
    before = current.condition or {}
    condition: dict[str, Any] | None = None
    changed = before.get("status") != status or before.get("reason") != verdict.reason
    if changed or before.get("message") != _truncate(verdict.message):
        since = before.get("lastTransitionTime") if before.get("status") == status \
            and before.get("lastTransitionTime") else rfc3339(now)
        condition = {"type": NODE_CONDITION, "status": status, "reason": verdict.reason,
                     "message": _truncate(verdict.message), "lastTransitionTime": since,
                     "lastHeartbeatTime": rfc3339(now)}
    event = None
    if changed and (before or not verdict.ready):
        event = ("Normal" if verdict.ready else "Warning", verdict.rule,
                 _truncate(f"RDMA {'ready' if verdict.ready else 'not ready'}: "
                           f"{verdict.message}", 1024))
    return NodeUpdate(node, patch or None, condition, event)


def network_event(previous: TrainingNetworkStatus | None,
                  desired: TrainingNetworkStatus,
                  rules: Mapping[str, str]) -> tuple[str, str, str] | None:
    """The Event of a TrainingNetwork whose Degraded condition flipped (once per flip): reason
    is the rule id most of its not-ready nodes share (`rules`: node -> rule id)."""
    def degraded(s: TrainingNetworkStatus | None) -> str | None:
        c = next((c for c in (s.conditions if s else []) if c.type == "Degraded"), None)
        return c.status if c else None

    now, before = degraded(desired), degraded(previous)
    if now == before or now is None or (before is None and now != "True"):
        return None
    cond = next(c for c in desired.conditions if c.type == "Degraded")
    if now != "True":
        return "Normal", cond.reason, cond.message
    counts = Counter(rules.get(n.node, n.reason) for n in desired.not_ready)
    top = min(counts.items(), key=lambda x: (-x[1], x[0]))[0] if counts else cond.reason
    return "Warning", top, cond.message


def stale_conditions(report: NodeReportStatus, *, now: datetime, stale_after_s: float,
                     generation: int | None) -> list[NodeCondition] | None:
    """The report's conditions with Stale=True when its heartbeat is overdue and it does not say
    so yet; None when nothing is to be written."""
    beat = parse_time(report.heartbeat_time)
    overdue = beat is None or (now - beat).total_seconds() > stale_after_s
    current = next((c for c in report.conditions if c.type == "Stale"), None)
    if not overdue or (current is not None and current.status == "True"):
        return None
    age = "never" if beat is None else f"{int((now - beat).total_seconds())}s ago"
    stale = NodeCondition.model_validate({
        "type": "Stale", "status": "True", "reason": REASON_AGENT_GONE,
        "message": f"last agent heartbeat {age} (limit {int(stale_after_s)}s)",
        "lastTransitionTime": rfc3339(now), "observedGeneration": generation})
    return [c for c in report.conditions if c.type != "Stale"] + [stale]
