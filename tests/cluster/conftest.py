"""API tests run against kmock's Kubernetes emulator, or a real cluster when
DUALNET_E2E_KUBECONFIG is set (then only tests marked `e2e` run against it).

kmock's emulator merges PATCH bodies into stored objects; a real API server additionally creates
an object on an apply PATCH when it is missing, persists nothing for `dryRun=All`, and records in
`metadata.managedFields` which fields each server-side-apply field manager set last. The small
subclass below adds those three documented server behaviours, so the code under test talks plain
HTTP to a server that acts like kube-apiserver on these points. (Unlike a real server it does not
remove from the object the fields an apply stopped setting: tests read managedFields for that.)
It is server emulation, not a fake of the client: lightkube's real AsyncClient makes every
request.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp.web
import kmock
import pytest
import yaml
from lightkube import AsyncClient
from lightkube.types import PatchType

from dualnet.cluster.client import make_client

E2E_KUBECONFIG = os.environ.get("DUALNET_E2E_KUBECONFIG")
APPLY_PATCH = "application/apply-patch+yaml"
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


@pytest.fixture()
def kmock_options() -> dict[str, Any]:
    return {"cls": ApiServerEmulator}


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


@pytest.fixture()
def kubeconfig(kmock: Any, tmp_path: Path) -> Path:
    return write_kubeconfig(tmp_path / "kubeconfig", str(kmock.url).rstrip("/"))


@pytest.fixture()
async def api(kubeconfig: Path) -> AsyncIterator[AsyncClient]:
    """A real lightkube client, made by dualnet's make_client, pointed at the emulator."""
    client = make_client(kubeconfig)
    try:
        yield client
    finally:
        await client.close()


# --- one harness for both back ends -------------------------------------------------------------


class Harness:
    """What a test needs from "the cluster": a client, a namespace, a way to put objects there
    that dualnet did not create, and (emulator only) the server's count of write requests."""

    def __init__(self, client: AsyncClient, namespace: str, server: Any | None) -> None:
        self.client = client
        self.namespace = namespace
        self.server = server

    @property
    def real(self) -> bool:
        return self.server is None

    @property
    def network(self) -> str:
        """The dualnet network the test's objects belong to: unique per test on a real cluster,
        because prune works across namespaces and earlier runs may still be terminating."""
        return f"net-{self.namespace}" if self.real else "rdma-e2e"

    @property
    def emulator(self) -> Any:
        """The kmock server, for tests that only run against the emulator."""
        assert self.server is not None, "this test needs the kmock emulator"
        return self.server

    def write_count(self) -> int | None:
        return None if self.server is None else len(writes(self.server))

    async def seed(self, obj: dict[str, Any]) -> None:
        """Create `obj` as someone else would (not through dualnet's apply)."""
        from dualnet.cluster.resources import ResourceResolver, is_namespaced

        res = await ResourceResolver(self.client).resolve(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        ns = meta.get("namespace") if is_namespaced(res) else None
        if self.server is not None:
            info = res._api_info
            key = kmock.resource(info.resource.group, info.resource.version, info.plural)
            self.server.objects[key, ns, meta["name"]] = copy.deepcopy(obj)
        else:
            await self.client.patch(res, meta["name"], obj, namespace=ns,
                                    patch_type=PatchType.APPLY, field_manager="someone-else")

    async def get(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        from dualnet.cluster.client import request
        from dualnet.cluster.errors import NotFound
        from dualnet.cluster.resources import ResourceResolver, is_namespaced

        res = await ResourceResolver(self.client).resolve(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        ns = (meta.get("namespace") or self.namespace) if is_namespaced(res) else None
        try:
            found = await request(self.client, "get", self.client.get(res, meta["name"],
                                                                      namespace=ns))
        except NotFound:
            return None
        return dict(found.to_dict())


@pytest.fixture()
async def harness(
    request: pytest.FixtureRequest, kmock: Any, tmp_path: Path
) -> AsyncIterator[Harness]:
    """kmock by default; the real cluster of DUALNET_E2E_KUBECONFIG for tests marked e2e."""
    if E2E_KUBECONFIG and request.node.get_closest_marker("e2e") is not None:
        from lightkube.models.meta_v1 import ObjectMeta
        from lightkube.resources.core_v1 import Namespace

        client = make_client(Path(E2E_KUBECONFIG))
        ns = f"dualnet-e2e-{secrets.token_hex(3)}"
        await client.create(Namespace(metadata=ObjectMeta(name=ns)))
        try:
            yield Harness(client, ns, None)
        finally:
            await client.delete(Namespace, ns)
            await client.close()
        return
    # built-in kinds a real API server always serves (kmock serves what is declared or stored)
    for plural in ("v1/pods", "v1/nodes", "v1/configmaps", "v1/services", "v1/serviceaccounts",
                   "apps/v1/daemonsets", "batch/v1/jobs"):
        kmock.resources[plural] = {}
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", str(kmock.url).rstrip("/"))
    client = make_client(kubeconfig)
    try:
        yield Harness(client, "default", kmock)
    finally:
        await client.close()
