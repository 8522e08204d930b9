"""An API server for tests and benchmarks: kmock's Kubernetes emulator taught the documented
kube-apiserver behaviours dualnet relies on, served over real HTTP to lightkube's real client.

kmock's emulator merges PATCH bodies into stored objects. A real API server additionally creates an
object on an apply PATCH when it is missing, persists nothing for `dryRun=All`, and records in
`metadata.managedFields` which fields each server-side-apply field manager set last:
`ApiServerEmulator` adds those three. (Unlike a real server it does not remove from the object the
fields an apply stopped setting: tests read managedFields for that.) `OperatorApiServer` adds what
kopf and kubectl need besides: JSON patch (RFC 6902, kopf's finalizers), a uid on every created
object, ADDED events for apply-creates, and the Table form of `kubectl get` for dualnet's CRDs.
`PodApiEmulator` adds the pod subresources `exec` (WebSocket) and `log`.

It is server emulation, not a fake of the client: every request is real HTTP. Shared by tests/
and benchmarks/, which is why it lives outside both (and outside the wheel).
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp.web
import kmock
import yaml
from pydantic import BaseModel

from dualnet.operator.crd import all_crds

APPLY_PATCH = "application/apply-patch+yaml"
JSON_PATCH = "application/json-patch+json"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            out[k] = _merge(base.get(k), v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(patch)


def fields_v1(value: Any) -> dict[str, Any]:
    """The FieldsV1 set of an applied value, as kube-apiserver records it: maps by field
    ("f:x"), lists of named items by key ('k:{"name":"a"}'), other lists atomic."""
    if isinstance(value, dict):
        return {f"f:{k}": fields_v1(v) for k, v in value.items()}
    if isinstance(value, list) and value and all(
            isinstance(i, dict) and "name" in i for i in value):
        return {"k:" + json.dumps({"name": i["name"]}, separators=(",", ":")):
                {".": {}, **fields_v1(i)} for i in value}
    return {}


def record_apply(stored: Any, request: kmock.Request) -> None:
    """Put the apply's managedFields entry (replacing that manager's last one) into the body
    kmock will store, as the API server does for server-side apply."""
    body = request.data
    manager = request.params.get("fieldManager")
    if not isinstance(body, dict) or not manager:
        return
    applied = {k: v for k, v in body.items() if k not in ("apiVersion", "kind")}
    meta = {k: v for k, v in (applied.get("metadata") or {}).items()
            if k not in ("name", "namespace", "managedFields", "uid", "resourceVersion",
                         "generation", "creationTimestamp")}  # identity and server-set
    applied["metadata"] = meta
    if not meta:
        applied.pop("metadata")
    before = ((stored.raw.get("metadata") or {}).get("managedFields") or []) if stored else []
    entries = [e for e in before if e.get("manager") != manager or e.get("operation") != "Apply"]
    entries.append({"manager": manager, "operation": "Apply", "apiVersion": body.get("apiVersion"),
                    "fieldsType": "FieldsV1", "fieldsV1": fields_v1(applied)})
    body.setdefault("metadata", {})["managedFields"] = entries


class ApiServerEmulator(kmock.KubernetesEmulator):
    """kmock's emulator plus apply-creates-if-missing, server-side dry run and managedFields."""

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        if request.resource is None or (request.name is None and request.method.value != "POST"):
            return await super()._handle(request)
        method = request.method.value
        dry = request.params.get("dryRun") == "All"
        ctype = request.headers.get("Content-Type", "")
        name = request.name or (request.data or {}).get("metadata", {}).get("name")
        ns = request.namespace or (request.data or {}).get("metadata", {}).get("namespace")
        key = (request.resource, ns, name)
        # kmock's ObjectsArray has no .get()
        stored = self.objects[key] if key in self.objects else None  # noqa: SIM401
        exists = stored is not None and not stored.deleted
        if method == "PATCH" and ctype.startswith(APPLY_PATCH) and not dry:
            record_apply(stored if exists else None, request)
        if method == "PATCH" and ctype.startswith(APPLY_PATCH) and not exists:
            if dry:
                return aiohttp.web.json_response(request.data, status=201)
            self.objects[key] = request.data
            return aiohttp.web.json_response(request.data, status=201)
        if dry and method in WRITE_METHODS:
            if method == "DELETE":
                if not exists:
                    return aiohttp.web.json_response(
                        {"kind": "Status", "apiVersion": "v1", "code": 404, "status": "Failure",
                         "reason": "NotFound", "message": "not found"}, status=404)
                return aiohttp.web.json_response(stored.raw if stored is not None else {})
            base = stored.raw if exists and stored is not None else {}
            return aiohttp.web.json_response(_merge(base, request.data or {}))
        return await super()._handle(request)


def writes(server: Any) -> list[Any]:
    """The write requests the server received (create, patch, update, delete)."""
    return [r for r in server if r.method is not None and r.method.value in WRITE_METHODS]


def write_kubeconfig(path: Path, server: str, context: str = "kmock") -> Path:
    conf = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server}}],
        "users": [{"name": context, "user": {"token": "test-token"}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context,
                                                  "namespace": "default"}}],
        "current-context": context,
    }
    path.write_text(yaml.safe_dump(conf))
    return path


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


# --- pods/exec and pods/log ---------------------------------------------------------------------
# exec is a WebSocket on `/api/v1/namespaces/NS/pods/NAME/exec?command=..&command=..` speaking the
# `v5.channel.k8s.io`/`v4.channel.k8s.io` protocol: every frame is one channel byte (1 stdout,
# 2 stderr, 3 status) then data; the status frame is a `meta/v1 Status`: `Success`, or `Failure`
# with reason `NonZeroExitCode` and the exit code as the `ExitCode` cause (how the kubelet reports
# a command that ran and failed). log is a plain-text GET. lightkube's real client talks to both.
# What a command prints is looked up in `exec_table` by pod and argument list: the tests fill it
# with real tool outputs.

PODS = kmock.resource("", "v1", "pods")
PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")


class Reply(BaseModel):
    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0


class PodApiEmulator(ApiServerEmulator):
    """ApiServerEmulator plus pods/exec (WebSocket) and pods/log."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (pod, argv as a tuple) or (pod, argv[0]) -> reply; unknown commands exit 127 as a shell
        self.exec_table: dict[tuple[str, Any], Reply] = {}
        self.logs: dict[str, str] = {}
        self.execs: list[tuple[str, list[str]]] = []

    def reply(self, pod: str, argv: list[str]) -> Reply:
        for key in ((pod, tuple(argv)), (pod, argv[0] if argv else "")):
            if key in self.exec_table:
                return self.exec_table[key]
        return Reply(stderr=f'OCI runtime exec failed: exec: "{argv[0]}": executable file not '
                     "found in $PATH", exit_code=127)

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        if request.resource == PODS and request.subresource == "exec":
            return await self._exec(request)
        if request.resource == PODS and request.subresource == "log":
            name = request.name or ""
            if name not in self.logs:
                return aiohttp.web.json_response(
                    {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404,
                     "reason": "NotFound", "message": f'pods "{name}" not found'}, status=404)
            return aiohttp.web.Response(text=self.logs[name], content_type="text/plain")
        return await super()._handle(request)

    async def _exec(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        raw = request._raw_request
        assert raw is not None
        argv = list(raw.query.getall("command", []))
        name = request.name or ""
        self.execs.append((name, argv))
        rep = self.reply(name, argv)
        ws = aiohttp.web.WebSocketResponse(protocols=PROTOCOLS)
        await ws.prepare(raw)
        if rep.stdout:
            await ws.send_bytes(b"\x01" + rep.stdout.encode())
        if rep.stderr:
            await ws.send_bytes(b"\x02" + rep.stderr.encode())
        status: dict[str, Any] = {"metadata": {}, "status": "Success"}
        if rep.exit_code:
            status = {"metadata": {}, "status": "Failure",
                      "message": f"command terminated with non-zero exit code: exit status "
                      f"{rep.exit_code}", "reason": "NonZeroExitCode",
                      "details": {"causes": [{"reason": "ExitCode",
                                              "message": str(rep.exit_code)}]}}
        await ws.send_bytes(b"\x03" + json.dumps(status).encode())
        await ws.close()
        return ws
