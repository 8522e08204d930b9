"""Pods for verify and bench: create, wait until running, exec, read, delete. A thin edge over
the API; every decision about what the outputs mean lives in `dualnet.verify`."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from lightkube import AsyncClient
from lightkube.resources.core_v1 import Pod
from lightkube.types import CascadeType
from pydantic import BaseModel

from dualnet.cluster.client import request, request_list
from dualnet.cluster.errors import ClusterError, NotFound, WaitTimeoutError
from dualnet.cluster.objects import Obj, as_dict
from dualnet.cluster.resources import ResourceResolver


class ExecResult(BaseModel):
    command: list[str]
    stdout: str
    stderr: str
    exit_code: int


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


async def exec_in(
    client: AsyncClient,
    pod: str,
    namespace: str,
    command: list[str],
    *,
    container: str | None = None,
    timeout_s: float = 120.0,
) -> ExecResult:
    """Run `command` (an argument list, never a shell string) in a pod; capture its output."""

    try:
        resp = await request(client, f"exec {' '.join(command)} in {namespace}/{pod}",
                             client.exec(pod, namespace=namespace, container=container,
                                         command=command, stdout=True, stderr=True,
                                         timeout=timeout_s))
    except TimeoutError as exc:
        raise ClusterError(f"exec {' '.join(command)} in {namespace}/{pod}: no answer in "
                           f"{timeout_s:g}s") from exc
    return ExecResult(command=command, stdout=_text(resp.stdout), stderr=_text(resp.stderr),
                      exit_code=int(resp.exit_code))


async def get_pod(client: AsyncClient, name: str, namespace: str) -> Obj | None:
    try:
        return as_dict(await request(client, f"read pod {namespace}/{name}",
                                     client.get(Pod, name, namespace=namespace)))
    except NotFound:
        return None


async def create_pod(client: AsyncClient, pod: Obj) -> None:
    meta = pod["metadata"]

    await request(client, f"create pod {meta['name']}", client.create(Pod.from_dict(pod)))


async def delete_pod(client: AsyncClient, name: str, namespace: str) -> None:
    with contextlib.suppress(NotFound):
        await request(client, f"delete pod {namespace}/{name}",
                      client.delete(Pod, name, namespace=namespace, grace_period=0))


def pod_phase_problem(pod: Obj) -> str | None:
    """Why a pod will not become Running by waiting (pure), or None."""
    status = pod.get("status") or {}
    if status.get("phase") in {"Failed", "Succeeded"}:
        return f"pod ended with phase {status['phase']}"
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            return f"cannot be scheduled: {cond.get('message') or cond.get('reason')}"
    for cs in status.get("containerStatuses") or []:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in {"ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff",
                                     "CreateContainerConfigError", "InvalidImageName"}:
            return f"container {cs.get('name')}: {waiting['reason']} {waiting.get('message', '')}"
    return None


async def wait_running(client: AsyncClient, name: str, namespace: str, *,
                       timeout_s: float = 300.0, poll_s: float = 2.0) -> Obj:
    """Wait until the pod is Running with all containers ready; explain a failure."""
    deadline = time.monotonic() + timeout_s
    last: Obj | None = None
    while True:
        last = await get_pod(client, name, namespace)
        if last is not None:
            status = last.get("status") or {}
            statuses = status.get("containerStatuses") or []
            if status.get("phase") == "Running" and statuses and all(
                cs.get("ready") for cs in statuses
            ):
                return last
            problem = pod_phase_problem(last)
            if problem and "CrashLoopBackOff" not in problem:
                raise ClusterError(f"pod {namespace}/{name}: {problem}")
        if time.monotonic() >= deadline:
            why = pod_phase_problem(last) if last else "pod not found"
            phase = ((last or {}).get("status") or {}).get("phase")
            raise WaitTimeoutError(
                f"pod {namespace}/{name} not running after {timeout_s:g}s "
                f"(phase {phase}){': ' + why if why else ''}"
            )
        await asyncio.sleep(poll_s)


def pod_ip_and_node(pod: Obj) -> tuple[str | None, str | None]:
    return (pod.get("status") or {}).get("podIP"), (pod.get("spec") or {}).get("nodeName")


async def list_pods(client: AsyncClient, namespace: str, labels: dict[str, str]) -> list[Obj]:
    selector: dict[str, Any] = dict(labels)
    found = await request_list(client, "list pods",
                               client.list(Pod, namespace=namespace, labels=selector))
    return [as_dict(p) for p in found]


async def pod_log(client: AsyncClient, name: str, namespace: str) -> str:
    lines = await request_list(client, f"read logs of {name}",
                               client.log(name, namespace=namespace))
    return "".join(lines)


async def delete_objects(client: AsyncClient, objects: list[Obj]) -> None:
    """Delete what a run created, last first, waiting for dependents (foreground); gone is fine."""
    resolver = ResourceResolver(client)
    for obj in reversed(objects):
        res = await resolver.resolve(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]

        with contextlib.suppress(NotFound):
            await request(client, f"delete {obj['kind']} {meta['name']}", client.delete(
                res, meta["name"], namespace=meta.get("namespace"),
                cascade=CascadeType.FOREGROUND))
