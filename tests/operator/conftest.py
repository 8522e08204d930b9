"""Fixtures for the operator tests: kmock's Kubernetes emulator (with the cluster tests' two
documented apiserver behaviours: apply creates, dry-run persists nothing), a real lightkube client
made by dualnet's make_client, node facts from real discovery over synthetic sysfs trees, and a
controllable clock."""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp.web
import kmock
import pytest
from lightkube import AsyncClient

from dualnet.cluster.client import make_client
from dualnet.host.discover import discover
from dualnet.host.models import HostReport, PhysState, PortState
from dualnet.host.samples import gh200, no_mlx5_ib, no_rdma
from dualnet.host.synthetic import build_tree
from dualnet.operator.crd import all_crds
from tests.cluster.conftest import ApiServerEmulator, record_apply, write_kubeconfig

JSON_PATCH = "application/json-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

T0 = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture()
def clock() -> Clock:
    return Clock()


def _pointer(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def json_patch(doc: Any, ops: list[dict[str, Any]]) -> Any:
    """RFC 6902 add/replace/remove/test, as kopf sends for finalizers (a real apiserver applies
    them; kmock's emulator only merges dicts)."""
    doc = copy.deepcopy(doc)
    for op in ops:
        *parents, last = _pointer(op["path"])
        target = doc
        for p in parents:
            target = target[int(p)] if isinstance(target, list) else target.setdefault(p, {})
        kind = op["op"]
        if kind == "test":
            current = target[int(last)] if isinstance(target, list) else target.get(last)
            if current != op["value"]:
                raise ValueError(f"test failed at {op['path']}")
        elif isinstance(target, list):
            idx = len(target) if last == "-" else int(last)
            if kind == "add":
                target.insert(idx, op["value"])
            elif kind == "replace":
                target[idx] = op["value"]
            elif kind == "remove":
                del target[idx]
        elif kind in ("add", "replace"):
            target[last] = op["value"]
        elif kind == "remove":
            del target[last]
    return doc


def _merge_from(old: Any, new: Any) -> Any:
    """The merge patch (kmock's dialect: None deletes) that turns `old` into `new`."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: dict[str, Any] = {k: None for k in old if k not in new}
        for k, v in new.items():
            if k not in old or old[k] != v:
                out[k] = _merge_from(old.get(k), v)
        return out
    return copy.deepcopy(new)


def _jsonpath(obj: Any, path: str) -> Any:
    """The subset of Kubernetes JSONPath that printer columns use: `.a.b` and one filter
    `[?(@.key=="value")]` on a list."""
    cur: Any = obj
    for part in re.findall(r'\.([A-Za-z0-9_]+)|\[\?\(@\.([A-Za-z0-9_]+)=="([^"]*)"\)\]', path):
        field, key, value = part
        if field:
            cur = cur.get(field) if isinstance(cur, dict) else None
        else:
            cur = next((i for i in cur or [] if isinstance(i, dict) and i.get(key) == value),
                       None)
        if cur is None:
            return None
    return cur


def _age(stamp: str | None) -> str:
    if not stamp:
        return "<unknown>"
    secs = int((datetime.now(UTC) - datetime.fromisoformat(stamp.replace("Z", "+00:00")))
               .total_seconds())
    return f"{secs}s" if secs < 120 else f"{secs // 60}m"


def printer_table(crd: dict[str, Any], objects: list[dict[str, Any]]) -> dict[str, Any]:
    """What kube-apiserver answers `kubectl get` (Accept: as=Table) for a custom resource: the
    CRD's additionalPrinterColumns evaluated on each object, dates as ages."""
    cols = crd["spec"]["versions"][0]["additionalPrinterColumns"]
    defs = [{"name": "Name", "type": "string", "format": "name", "description": "",
             "priority": 0}] + [{"name": c["name"], "type": c["type"], "format": "",
                                 "description": c.get("description", ""),
                                 "priority": c.get("priority", 0)} for c in cols]
    rows = []
    for obj in objects:
        cells: list[Any] = [obj["metadata"]["name"]]
        for c in cols:
            value = _jsonpath(obj, c["jsonPath"])
            cells.append(_age(value) if c["type"] == "date" else value)
        rows.append({"cells": cells, "object": {"kind": "PartialObjectMetadata",
                                                "apiVersion": "meta.k8s.io/v1",
                                                "metadata": obj["metadata"]}})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": "1"}, "columnDefinitions": defs, "rows": rows}


class OperatorApiServer(ApiServerEmulator):

    """The cluster tests' emulator plus JSON patch (RFC 6902), which kopf uses for finalizers.
    Stored and announced to watchers as kmock does for its own patches (same lock, same event
    bus, same garbage collection once the last finalizer is gone)."""

    async def _store_patched(self, request: Any, key: Any,
                             merge: dict[str, Any]) -> aiohttp.web.StreamResponse:
        async with self._lock:
            obj = self.objects[key]
            obj.patch(merge)
            raw = obj.raw
            await self._buses[request.resource].put({"type": "MODIFIED", "object": raw})
            meta = raw.get("metadata", {})
            if meta.get("deletionTimestamp") and not meta.get("finalizers"):
                obj.delete()
                await self._buses[request.resource].put({"type": "DELETED", "object": raw})
        return aiohttp.web.json_response(raw)

    async def _handle(self, request: Any) -> aiohttp.web.StreamResponse:
        ctype = request.headers.get("Content-Type", "")
        if (request.method.value == "GET" and request.name is None and request.resource
                is not None and "as=Table" in request.headers.get("Accept", "")
                and request.resource.group == "dualnet.io"):
            crd = all_crds()[f"{request.resource.plural}.dualnet.io.yaml"]
            objs = [dict(o.raw) for k, o in self.objects.items()
                    if k[0] == request.resource and not o.deleted]
            return aiohttp.web.json_response(printer_table(crd, objs))
        if request.method.value == "POST" and isinstance(request.data, dict):
            # A real server gives every object a uid; kopf keys its per-object memory by it.
            request.data.setdefault("metadata", {}).setdefault("uid", str(uuid.uuid4()))
        if (request.method.value == "PATCH" and ctype.startswith(APPLY_PATCH) and request.name
                and request.params.get("dryRun") != "All"):
            key = (request.resource, request.namespace, request.name)
            if key not in self.objects or self.objects[key].deleted:
                # apply creates; watchers see ADDED (the parent class stores without an event)
                async with self._lock:
                    request.data.setdefault("metadata", {}).setdefault("uid", str(uuid.uuid4()))
                    record_apply(None, request)
                    self.objects[key] = request.data
                    raw = self.objects[key].raw
                    await self._buses[request.resource].put({"type": "ADDED", "object": raw})
                return aiohttp.web.json_response(raw, status=201)
        if request.method.value == "PATCH" and ctype.startswith(JSON_PATCH) and request.name:
            key = (request.resource, request.namespace, request.name)
            if key in self.objects and not self.objects[key].deleted:
                old = self.objects[key].raw
                try:
                    new = json_patch(old, request.data or [])
                except (ValueError, KeyError, IndexError) as exc:
                    return aiohttp.web.json_response(
                        {"kind": "Status", "apiVersion": "v1", "code": 422,
                         "status": "Failure", "reason": "Invalid", "message": str(exc)},
                        status=422)
                return await self._store_patched(request, key, _merge_from(old, new))
        return await super()._handle(request)


@pytest.fixture()
def kmock_options() -> dict[str, Any]:
    return {"cls": OperatorApiServer}


def declare_resources(server: Any) -> None:
    """The kinds the operator touches, as the API server would list them in discovery."""
    info = kmock.ResourceInfo
    server.resources["dualnet.io/v1alpha1/trainingnetworks"] = info(
        kind="TrainingNetwork", namespaced=False, subresources=["status"],
        verbs=["get", "list", "watch", "create", "update", "patch", "delete"])
    server.resources["dualnet.io/v1alpha1/nodereports"] = info(
        kind="NodeReport", namespaced=False,
        verbs=["get", "list", "watch", "create", "update", "patch", "delete"])
    server.resources["v1/nodes"] = info(kind="Node", namespaced=False, subresources=["status"],
                                        verbs=["get", "list", "watch", "patch"])
    # kopf waits until discovery shows namespaces (every real cluster serves them).
    server.resources["v1/namespaces"] = info(kind="Namespace", namespaced=False,
                                             verbs=["get", "list", "watch"])
    server.resources["apiextensions.k8s.io/v1/customresourcedefinitions"] = info(
        kind="CustomResourceDefinition", namespaced=False,
        verbs=["get", "list", "watch", "create", "patch", "delete"])
    # what the real renderer produces besides the kinds below
    server.resources["v1/serviceaccounts"] = info(kind="ServiceAccount", namespaced=True)
    server.resources["v1/events"] = info(kind="Event", namespaced=True)
    server.resources["rbac.authorization.k8s.io/v1/clusterroles"] = info(
        kind="ClusterRole", namespaced=False)
    server.resources["rbac.authorization.k8s.io/v1/clusterrolebindings"] = info(
        kind="ClusterRoleBinding", namespaced=False)
    server.resources["v1/configmaps"] = info(kind="ConfigMap", namespaced=True)
    server.resources["apps/v1/daemonsets"] = info(kind="DaemonSet", namespaced=True)
    server.resources["k8s.cni.cncf.io/v1/network-attachment-definitions"] = info(
        kind="NetworkAttachmentDefinition", namespaced=True)


@pytest.fixture()
def server(kmock: Any) -> Any:
    declare_resources(kmock)
    return kmock


@pytest.fixture()
async def api(server: Any, tmp_path: Path) -> AsyncIterator[AsyncClient]:
    cfg = write_kubeconfig(tmp_path / "kubeconfig", str(server.url).rstrip("/"))
    client = make_client(cfg)
    try:
        yield client
    finally:
        await client.close()


def writes(server: Any) -> list[Any]:
    return [r for r in server if r.method is not None and r.method.value in WRITE_METHODS]


def add_node(server: Any, name: str, labels: dict[str, str] | None = None) -> None:
    server.objects[kmock.resource("v1/nodes"), None, name] = {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "uid": str(uuid.uuid4()),
                     "labels": labels or {"kubernetes.io/hostname": name}},
    }


_HOSTS: dict[str, HostReport] = {}


def host(kind: str, tmp: Path) -> HostReport:
    """A HostReport read by the real discover() from a synthetic sysfs tree (cached per kind).
    "gh200_port_down": the GH200 node after its one ACTIVE port went down (same hardware, so
    the same plan)."""
    if kind == "gh200_port_down":
        down = host("gh200", tmp)
        for dev in down.rdma_devices:
            for port in dev.ports:
                port.state, port.phys_state = PortState.DOWN, PhysState.DISABLED
        return down
    if kind not in _HOSTS:
        samples: dict[str, Callable[[], Any]] = {
            "gh200": gh200, "no_mlx5_ib": no_mlx5_ib, "no_rdma": no_rdma}
        root = tmp / f"tree-{kind}"
        build_tree(samples[kind](), root)
        _HOSTS[kind] = discover(root)
    return _HOSTS[kind].model_copy(deep=True)


@pytest.fixture()
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], HostReport]:
    base = tmp_path_factory.mktemp("hosts")
    return lambda kind: host(kind, base)
