"""Waiting until what `apply` created works: DaemonSets rolled out, nodes advertising the RDMA
resource, NetworkAttachmentDefinitions present. When time runs out, the error says why.

The edge (`gather`) reads a snapshot of the cluster; `pending` and `explain` are pure functions
over that snapshot, so every "why" is testable without a cluster.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import Any

from lightkube import AsyncClient
from lightkube.resources.apps_v1 import DaemonSet
from lightkube.resources.core_v1 import Node, Pod
from pydantic import BaseModel, Field
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from dualnet import labels
from dualnet.cluster.client import request, request_list
from dualnet.cluster.errors import ApiRequestError, NotFound, WaitTimeoutError
from dualnet.cluster.objects import Obj, as_dict
from dualnet.cluster.resources import KNOWN_CRDS, NAD_API_VERSION, NAD_KIND, generic
from dualnet.quantity import quantity_count

LOG_TAIL_LINES = 8
# Container waiting reasons that will not fix themselves by waiting longer.
BAD_WAITING = {
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
    "CreateContainerError",
    "InvalidImageName",
    "RunContainerError",
}


class Ref(BaseModel):
    namespace: str | None = None
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


class WaitTarget(BaseModel):
    daemonsets: list[Ref] = Field(default_factory=list)
    resources: list[str] = Field(default_factory=list, description="e.g. rdma/rdma_shared_device")
    nads: list[Ref] = Field(default_factory=list)
    min_nodes: int = Field(default=1, description="nodes that must advertise each resource")

    @property
    def empty(self) -> bool:
        return not (self.daemonsets or self.resources or self.nads)


class ContainerProblem(BaseModel):
    container: str
    reason: str
    restarts: int = 0
    exit_code: int | None = None
    message: str | None = None
    last_log: list[str] = Field(default_factory=list)


class PodState(BaseModel):
    namespace: str
    name: str
    node: str | None = None
    phase: str | None = None
    problems: list[ContainerProblem] = Field(default_factory=list)
    unschedulable: str | None = None


class DaemonSetState(BaseModel):
    ref: Ref
    found: bool = True
    desired: int = 0
    available: int = 0
    updated: int = 0
    generation: int | None = None
    observed_generation: int | None = None
    pods: list[PodState] = Field(default_factory=list)

    @property
    def rolled_out(self) -> bool:
        if not self.found or self.desired == 0:
            return False
        if self.generation is not None and (self.observed_generation or 0) < self.generation:
            return False
        return self.available == self.desired and self.updated == self.desired


class NodeState(BaseModel):
    name: str
    allocatable: dict[str, str] = Field(default_factory=dict)

    def amount(self, resource: str) -> int:
        """Whole units allocatable, read as Kubernetes reads quantities (`1k` is 1000)."""
        raw = self.allocatable.get(resource)
        count = quantity_count(raw) if raw is not None else None
        return count if count is not None else 0


class Snapshot(BaseModel):
    daemonsets: list[DaemonSetState] = Field(default_factory=list)
    nodes: list[NodeState] = Field(default_factory=list)
    nads: dict[str, bool] = Field(default_factory=dict, description="'ns/name' -> exists")
    nad_crd_installed: bool | None = None


class Pending(BaseModel):
    what: str
    why: list[str]


# --- pure -------------------------------------------------------------------------------------


def _device_plugin_resources(config_json: str) -> list[str]:
    """Resource names from an RDMA shared device plugin or SR-IOV device plugin config.json."""
    try:
        conf = json.loads(config_json)
    except ValueError:
        return []
    out: list[str] = []
    if not isinstance(conf, dict):
        return out
    for entry in conf.get("configList") or []:  # rdma shared device plugin (formats.md §1)
        if isinstance(entry, dict) and entry.get("resourceName"):
            prefix = entry.get("resourcePrefix") or "rdma"
            out.append(f"{prefix}/{entry['resourceName']}")
    for entry in conf.get("resourceList") or []:  # sriov device plugin: prefix only when explicit
        if isinstance(entry, dict) and entry.get("resourceName") and entry.get("resourcePrefix"):
            out.append(f"{entry['resourcePrefix']}/{entry['resourceName']}")
    return out


def targets_from_objects(objects: list[Obj], default_namespace: str = "default") -> WaitTarget:
    """What to wait for after applying `objects`: their DaemonSets, NADs and the resources the
    NADs and device-plugin configs name."""
    target = WaitTarget()
    resources: list[str] = []
    for obj in objects:
        kind, meta = obj.get("kind"), obj.get("metadata") or {}
        ns = meta.get("namespace") or default_namespace
        if kind == "DaemonSet":
            target.daemonsets.append(Ref(namespace=ns, name=meta["name"]))
        elif kind == NAD_KIND:
            target.nads.append(Ref(namespace=ns, name=meta["name"]))
            res = (meta.get("annotations") or {}).get(labels.RESOURCE_NAME_ANNOTATION)
            if res:
                resources.append(str(res))
        elif kind == "ConfigMap":
            for value in (obj.get("data") or {}).values():
                if isinstance(value, str) and ("configList" in value or "resourceList" in value):
                    resources.extend(_device_plugin_resources(value))
    target.resources = list(dict.fromkeys(resources))
    return target


def pending(target: WaitTarget, snap: Snapshot) -> list[Pending]:
    """What is not ready yet, each with the reasons read from the snapshot."""
    out: list[Pending] = []
    for ds in snap.daemonsets:
        if ds.rolled_out:
            continue
        why: list[str] = []
        if not ds.found:
            why.append("DaemonSet not found (was it applied?)")
        elif ds.desired == 0:
            why.append(
                "scheduled on 0 nodes: no node matches its nodeSelector/affinity, or a taint "
                "is not tolerated"
            )
        else:
            why.append(
                f"{ds.available}/{ds.desired} pods available, {ds.updated}/{ds.desired} updated"
            )
        for pod in ds.pods:
            where = f"pod {pod.name}" + (f" on {pod.node}" if pod.node else "")
            if pod.unschedulable:
                why.append(f"{where} cannot be scheduled: {pod.unschedulable}")
            for prob in pod.problems:
                line = f"{where}: container {prob.container} {prob.reason}"
                if prob.restarts:
                    line += f" (restarted {prob.restarts}x"
                    code = prob.exit_code
                    line += f", last exit code {code})" if code is not None else ")"
                if prob.message:
                    line += f": {prob.message}"
                why.append(line)
                if prob.last_log:
                    why.append("  last log lines:")
                    why.extend(f"    | {log_line}" for log_line in prob.last_log)
        out.append(Pending(what=f"DaemonSet {ds.ref}", why=why))

    for res in target.resources:
        advertising = [n for n in snap.nodes if n.amount(res) > 0]
        if len(advertising) >= target.min_nodes:
            continue
        why = [f"{len(advertising)} of {len(snap.nodes)} nodes advertise it, "
               f"need {target.min_nodes}"]
        for node in snap.nodes:
            if node.amount(res) > 0:
                continue
            if res in node.allocatable:
                why.append(
                    f"node {node.name} advertises {res}: {node.allocatable[res]} (the device "
                    "plugin found no matching device: check its selectors, `rdma system` netns "
                    "mode, and that ib_umad/ib_uverbs/rdma_ucm are loaded)"
                )
            else:
                why.append(f"node {node.name} does not advertise {res} at all (device plugin "
                           "not running there, or a different resource name)")
        out.append(Pending(what=f"resource {res}", why=why))

    for nad in target.nads:
        if snap.nads.get(str(nad)):
            continue
        why = [f"NetworkAttachmentDefinition {nad} missing"]
        if snap.nad_crd_installed is False:
            why.append(
                "the NetworkAttachmentDefinition CRD is not installed: Multus is missing or its "
                "CRD was not applied"
            )
        out.append(Pending(what=f"NAD {nad}", why=why))
    return out


def explain(items: list[Pending], timeout_s: float) -> str:
    lines = [f"not ready after {timeout_s:g}s:"]
    for item in items:
        lines.append(f"- {item.what}")
        lines.extend(f"    {w}" for w in item.why)
    return "\n".join(lines)


# --- edge -------------------------------------------------------------------------------------


def _matches(selector: Mapping[str, str], pod_labels: Mapping[str, str]) -> bool:
    return all(pod_labels.get(k) == v for k, v in selector.items())


def _pod_state(pod: Obj) -> PodState:
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    state = PodState(namespace=meta.get("namespace") or "", name=meta.get("name") or "",
                     node=spec.get("nodeName"), phase=status.get("phase"))
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            state.unschedulable = cond.get("message") or cond.get("reason") or "unschedulable"
    for cs in status.get("containerStatuses") or []:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        terminated = (cs.get("lastState") or {}).get("terminated") or {}
        restarts = int(cs.get("restartCount") or 0)
        reason = waiting.get("reason")
        if reason in BAD_WAITING or (restarts > 0 and not cs.get("ready")):
            state.problems.append(ContainerProblem(
                container=cs.get("name") or "?",
                reason=reason or "not ready",
                restarts=restarts,
                exit_code=terminated.get("exitCode"),
                message=waiting.get("message") if reason != "CrashLoopBackOff" else None,
            ))
    return state


async def _logs(client: AsyncClient, pod: PodState, container: str) -> list[str]:
    try:
        lines = await request_list(client, f"read logs of {pod.name}", client.log(
            pod.name, namespace=pod.namespace, container=container, tail_lines=LOG_TAIL_LINES))
    except ApiRequestError:
        return []
    return [line.rstrip("\n") for line in lines][-LOG_TAIL_LINES:]


async def gather(client: AsyncClient, target: WaitTarget, *, with_logs: bool = False) -> Snapshot:
    """Read what `pending` needs; logs of failing containers only when `with_logs`."""
    snap = Snapshot()
    for ref in target.daemonsets:
        state = DaemonSetState(ref=ref)

        try:
            ds = as_dict(await request(client, f"read DaemonSet {ref}",
                                       client.get(DaemonSet, ref.name, namespace=ref.namespace)))
        except NotFound:
            state.found = False
            snap.daemonsets.append(state)
            continue
        st = ds.get("status") or {}
        state.desired = int(st.get("desiredNumberScheduled") or 0)
        state.available = int(st.get("numberAvailable") or 0)
        state.updated = int(st.get("updatedNumberScheduled") or 0)
        state.observed_generation = st.get("observedGeneration")
        state.generation = (ds.get("metadata") or {}).get("generation")
        if not state.rolled_out:
            selector = ((ds.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}

            sel: dict[str, Any] = dict(selector)
            pods = await request_list(client, f"list pods of {ref}",
                                      client.list(Pod, namespace=ref.namespace, labels=sel))
            for pod in pods:
                pod_d = as_dict(pod)
                # the label selector again, client-side: a server may ignore it
                pod_labels = (pod_d.get("metadata") or {}).get("labels") or {}
                if not _matches(selector, pod_labels):
                    continue
                ps = _pod_state(pod_d)
                if with_logs:
                    for prob in ps.problems:
                        prob.last_log = await _logs(client, ps, prob.container)
                state.pods.append(ps)
        snap.daemonsets.append(state)

    if target.resources:
        nodes = await request_list(client, "list nodes", client.list(Node))
        for node in nodes:
            nd = as_dict(node)
            alloc = (nd.get("status") or {}).get("allocatable") or {}
            snap.nodes.append(NodeState(name=(nd.get("metadata") or {}).get("name") or "?",
                                        allocatable={str(k): str(v) for k, v in alloc.items()}))

    if target.nads:
        nad_res = generic(NAD_API_VERSION, NAD_KIND, KNOWN_CRDS[(NAD_API_VERSION, NAD_KIND)])
        for ref in target.nads:
            try:
                await request(client, f"read NAD {ref}",
                              client.get(nad_res, ref.name, namespace=ref.namespace))
                snap.nads[str(ref)] = True
            except NotFound:
                snap.nads[str(ref)] = False
                snap.nad_crd_installed = await _nad_crd_installed(client)
    return snap


async def _nad_crd_installed(client: AsyncClient) -> bool | None:
    from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

    try:
        await request(client, "read the NAD CRD", client.get(
            CustomResourceDefinition, "network-attachment-definitions.k8s.cni.cncf.io"))
        return True
    except NotFound:
        return False
    except ApiRequestError:
        return None


async def wait_ready(
    client: AsyncClient,
    target: WaitTarget,
    *,
    timeout_s: float = 300.0,
    poll_s: float = 2.0,
    console: Console | None = None,
) -> Snapshot:
    """Poll until nothing is pending; on timeout raise WaitTimeoutError explaining what and why.

    With a `console`, a progress display shows one line per DaemonSet, resource and NAD.
    """
    deadline = time.monotonic() + timeout_s
    progress = (
        Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                 TextColumn("{task.fields[state]}"), TimeElapsedColumn(),
                 console=console, transient=False)
        if console is not None else None
    )
    tasks: dict[str, Any] = {}
    if progress is not None:
        progress.start()
        for ref in target.daemonsets:
            tasks[f"DaemonSet {ref}"] = progress.add_task(f"DaemonSet {ref}", total=1, state="")
        for res in target.resources:
            tasks[f"resource {res}"] = progress.add_task(f"nodes advertise {res}",
                                                         total=target.min_nodes, state="")
        for ref in target.nads:
            tasks[f"NAD {ref}"] = progress.add_task(f"NAD {ref}", total=1, state="")
    try:
        while True:
            snap = await gather(client, target)
            left = pending(target, snap)
            if progress is not None:
                _update(progress, tasks, target, snap, left)
            if not left:
                return snap
            if time.monotonic() >= deadline:
                snap = await gather(client, target, with_logs=True)
                left = pending(target, snap)
                if not left:
                    return snap
                raise WaitTimeoutError(
                    explain(left, timeout_s),
                    hint="fix the first reason above and run `dualnet apply` again "
                    "(it changes nothing that is already right), or raise --timeout",
                )
            await asyncio.sleep(min(poll_s, max(0.0, deadline - time.monotonic())))
    finally:
        if progress is not None:
            progress.stop()


def _update(progress: Progress, tasks: dict[str, Any], target: WaitTarget, snap: Snapshot,
            left: list[Pending]) -> None:
    waiting = {p.what for p in left}
    for ds in snap.daemonsets:
        key = f"DaemonSet {ds.ref}"
        progress.update(tasks[key], total=max(ds.desired, 1),
                        completed=ds.available if key in waiting else max(ds.desired, 1),
                        state=f"{ds.available}/{ds.desired} available")
    for res in target.resources:
        n = sum(1 for node in snap.nodes if node.amount(res) > 0)
        progress.update(tasks[f"resource {res}"], completed=min(n, target.min_nodes),
                        state=f"{n}/{len(snap.nodes)} nodes")
    for ref in target.nads:
        ok = snap.nads.get(str(ref), False)
        progress.update(tasks[f"NAD {ref}"], completed=1 if ok else 0,
                        state="present" if ok else "missing")
