"""Typed API errors: one request function turns every HTTP failure into NotFound / Conflict /
Forbidden / Invalid / Unreachable, so no caller compares status codes.

The server is a real HTTP server (aiohttp) answering with the Status objects kube-apiserver sends;
the client is lightkube's real AsyncClient made by dualnet's make_client."""

from __future__ import annotations

import ast
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp.web
import pytest
from aiohttp.test_utils import TestServer
from lightkube import AsyncClient
from lightkube.resources.core_v1 import Node
from testsupport.apiserver import write_kubeconfig

from dualnet.cluster.client import make_client, request, request_list
from dualnet.cluster.errors import (
    ApiRequestError,
    ClusterError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Unreachable,
)
from dualnet.errors import Exit

SRC = Path(__file__).resolve().parents[2] / "src" / "dualnet"


def _status(code: int, reason: str, content_type: str) -> aiohttp.web.Response:
    import json

    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
            "reason": reason, "message": f"nodes \"n\" is {reason.lower()}"}
    return aiohttp.web.Response(status=code, text=json.dumps(body), content_type=content_type)


@pytest.fixture()
async def client(tmp_path: Path) -> AsyncIterator[AsyncClient]:
    codes = {"nf": (404, "NotFound"), "cf": (409, "Conflict"), "fb": (403, "Forbidden"),
             "iv": (422, "Invalid"), "ie": (500, "InternalError")}

    async def handler(req: aiohttp.web.Request) -> aiohttp.web.Response:
        name = req.match_info["name"]
        code, reason = codes[name[:2]]
        resp = _status(code, reason, "application/json")
        if name.endswith("-charset"):  # kmock and some proxies add one; lightkube would not type
            resp.headers["Content-Type"] = "application/json; charset=utf-8"
        return resp

    async def listing(req: aiohttp.web.Request) -> aiohttp.web.Response:
        return _status(403, "Forbidden", "application/json")

    app = aiohttp.web.Application()
    app.router.add_get("/api/v1/nodes/{name}", handler)
    app.router.add_get("/api/v1/nodes", listing)
    server = TestServer(app)
    await server.start_server()
    c = make_client(write_kubeconfig(tmp_path / "kc", str(server.make_url("")).rstrip("/")))
    try:
        yield c
    finally:
        await c.close()
        await server.close()


@pytest.mark.parametrize(("name", "error", "code"), [
    ("nf", NotFound, 404), ("cf", Conflict, 409), ("fb", Forbidden, 403), ("iv", Invalid, 422),
    ("ie", ApiRequestError, 500), ("nf-charset", NotFound, 404), ("fb-charset", Forbidden, 403),
])
async def test_each_status_becomes_its_typed_error(client: AsyncClient, name: str,
                                                   error: type[ApiRequestError],
                                                   code: int) -> None:
    with pytest.raises(error) as caught:
        await request(client, f"read Node {name}", client.get(Node, name))
    assert type(caught.value) is error
    assert caught.value.code == code
    assert isinstance(caught.value, ClusterError) and caught.value.exit_code == Exit.CLUSTER
    assert caught.value.message.startswith(f"read Node {name} failed: ")


async def test_a_list_refused_is_forbidden(client: AsyncClient) -> None:
    with pytest.raises(Forbidden, match="list nodes failed: 403"):
        await request_list(client, "list nodes", client.list(Node))


async def test_no_server_is_unreachable(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = make_client(write_kubeconfig(tmp_path / "kc", f"http://127.0.0.1:{port}"), timeout_s=5)
    try:
        with pytest.raises(Unreachable, match="cannot reach the Kubernetes API"):
            await request(c, "read Node x", c.get(Node, "x"))
    finally:
        await c.close()


def test_no_code_outside_the_request_function_compares_status_codes() -> None:
    """`exc.status.code == 404` and `except ApiError` belong in cluster/client.py only."""
    offenders: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        if path == SRC / "cluster" / "client.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "code" and \
                    isinstance(node.value, ast.Attribute) and node.value.attr == "status":
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno} .status.code")
            if isinstance(node, ast.Name) and node.id == "call_api":
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno} call_api")
    assert offenders == []
