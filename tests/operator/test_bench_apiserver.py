"""The benchmark's faster emulator (testsupport/fast_apiserver.py) answers and stores exactly
what the tests' emulator does: the same requests, by lightkube's real client over HTTP, against
both; only the request history (emptied as requests are answered) and old object versions differ."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import kmock
import pytest
from lightkube.resources.core_v1 import Node
from testsupport.apiserver import OperatorApiServer, declare_resources, write_kubeconfig
from testsupport.fast_apiserver import HistoryFreeApiServer, IndexedApiServer

from dualnet.cluster import fleet
from dualnet.cluster.client import make_client

NODES = kmock.resource("v1/nodes")
REPORTS = kmock.resource("dualnet.io/v1alpha1/nodereports")


async def _script(cls: type[Any], tmp: Path) -> tuple[list[Any], dict[Any, Any], list[str], Any]:
    """Node patches, a condition, report applies (create, then update), an Event, reads and a
    list; returns the answers, the stored objects, the watch events seen and the server."""
    answers: list[Any] = []
    seen: list[str] = []
    async with cls() as server, kmock.Server(server):
        declare_resources(server)
        for i in range(3):
            server.objects[NODES, None, f"n{i}"] = {
                "apiVersion": "v1", "kind": "Node", "metadata": {"name": f"n{i}", "uid": f"u{i}"}}
        api = make_client(write_kubeconfig(tmp / f"kc-{cls.__name__}", str(server.url)
                                           .rstrip("/")))

        async def watch() -> None:
            async for op, obj in api.watch(Node):
                seen.append(f"{op} {obj.metadata.name if obj.metadata else None}")

        watcher = asyncio.create_task(watch())
        try:
            await asyncio.sleep(0.3)  # the watch is open before the first write
            answers.append(await fleet.patch_node(api, "n1", {"metadata": {"labels": {"a": "b"}}}))
            answers.append(await fleet.patch_node(api, "gone", {"metadata": {"labels": {}}}))
            answers.append(await fleet.set_node_condition(
                api, "n2", {"type": "DualnetRDMAReady", "status": "True", "reason": "R"}))
            for value in ("one", "two"):
                await fleet.publish_node_report(api, "n0", {"nodeName": "n0", "x": value})
            await fleet.create_event(api, kind="Node", api_version="v1", name="n1", uid="u1",
                                     type_="Normal", reason="R", message="m",
                                     time="2026-12-01T12:00:00Z")
            answers.append(_strip(await fleet.get_node_report(api, "n0") or {}))
            answers.append(sorted(n["metadata"]["name"] for n in await fleet.list_nodes(api)))
            await asyncio.sleep(0.3)
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
            await api.close()
        stored = {(k[0].plural, k[2]): _strip(o.raw) for k, o in server.objects.items()
                  if k[0] in (NODES, REPORTS) and not o.deleted}
    return answers, stored, seen, server


def _strip(raw: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in raw.get("metadata", {}).items() if k not in ("uid", "managedFields")}
    return {**raw, "metadata": meta}


@pytest.mark.parametrize("cls", [HistoryFreeApiServer, IndexedApiServer])
async def test_same_answers_objects_and_watch_events_as_the_tests_emulator(
        cls: type[Any], tmp_path: Path) -> None:
    want = await _script(OperatorApiServer, tmp_path)
    got = await _script(cls, tmp_path)
    assert got[0] == want[0]
    assert got[1] == want[1]
    assert got[2] == want[2] and "MODIFIED n1" in got[2]
    server = got[3]
    assert list(server) == []  # nothing kept of the answered requests
    assert server.writes == {"node-label": 2, "node-condition": 1, "nodereport": 2, "event": 1}
    if cls is IndexedApiServer:
        assert all(len(o.history) <= 2 for o in server.objects.values())
