"""The API emulator alone: milliseconds per request against the number of objects stored and the
number of requests already served, by verb, side by side for kmock's emulator as the operator
tests use it (`OperatorApiServer`, "kmock"), the same without its request history
(`HistoryFreeApiServer`, "no history") and with objects found by key too (`IndexedApiServer`,
"indexed"; see testsupport/fast_apiserver.py).

Each request goes over real HTTP from one aiohttp client, one at a time. The store is preloaded
through kmock's own API (`server.objects[...]`) with N Nodes and N NodeReports (the real agent's
report body for a GH200 node). Rows:
  GET node, merge PATCH node labels, server-side apply of an existing NodeReport, POST Event,
  LIST nodes, each row started with kmock's history emptied (so a row shows the store's cost);
  then GET node again after `--served` more requests have been answered, which shows the cost
  of the history.

Run: python -m benchmarks.bench_kmock [--nodes N [N ...]] [--requests R] [--served H]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import kmock
from testsupport.apiserver import OperatorApiServer, declare_resources
from testsupport.fast_apiserver import HistoryFreeApiServer, IndexedApiServer

from dualnet.host.discover import discover
from dualnet.host.samples import gh200
from dualnet.host.synthetic import build_tree
from dualnet.operator import logic
from dualnet.operator.agent import default_diagnose
from dualnet.operator.reconciler import utcnow

NODES = "/api/v1/nodes"
REPORTS = "/apis/dualnet.io/v1alpha1/nodereports"
EVENTS = "/api/v1/namespaces/default/events"


def report_body(tmp: Path) -> dict[str, Any]:
    """The status an agent publishes for a GH200 node (real discover + doctor)."""
    build_tree(gh200(), tmp / "gh200")
    host = discover(tmp / "gh200")
    return logic.build_node_report("x", host, default_diagnose(host, "shared-roce"),
                                   mode="shared-roce", now=utcnow()).model_dump(
        mode="json", by_alias=True, exclude_none=True)


def preload(server: Any, n: int, status: dict[str, Any]) -> None:
    """N Nodes and N NodeReports stored through kmock's own object API (no requests)."""
    nodes, reports = kmock.resource("v1/nodes"), kmock.resource("dualnet.io/v1alpha1/nodereports")
    for i in range(n):
        name = f"node-{i:05d}"
        server.objects[nodes, None, name] = {"apiVersion": "v1", "kind": "Node",
                                             "metadata": {"name": name, "uid": f"u-{i}"}}
        server.objects[reports, None, name] = {
            "apiVersion": "dualnet.io/v1alpha1", "kind": "NodeReport",
            "metadata": {"name": name, "uid": f"r-{i}"}, "status": {**status, "nodeName": name}}


async def _time(server: Any, count: int, one: Callable[[int], Awaitable[Any]]) -> float:
    server._requests.clear()  # kmock's private history: each row starts with none
    t0 = time.perf_counter()
    for i in range(count):
        await one(i)
    return (time.perf_counter() - t0) / count * 1000


async def measure(cls: type[Any], n: int, requests: int, served: int,
                  status: dict[str, Any]) -> dict[str, float]:
    """Milliseconds per request, by row, for one emulator class with n nodes stored."""
    out: dict[str, float] = {}
    async with cls() as server, kmock.Server(server), aiohttp.ClientSession(
            str(server.url)) as http:
        declare_resources(server)
        preload(server, n, status)
        apply_body = json.dumps({"apiVersion": "dualnet.io/v1alpha1", "kind": "NodeReport",
                                 "metadata": {"name": "node-00000"}, "status": status})

        async def call(method: str, path: str, body: str | None = None,
                       ctype: str = "application/merge-patch+json",
                       params: dict[str, str] | None = None) -> None:
            async with http.request(method, path, data=body, params=params,
                                    headers={"Content-Type": ctype}) as resp:
                await resp.read()
                if resp.status >= 400:
                    raise RuntimeError(f"{method} {path}: HTTP {resp.status}")

        def name(i: int) -> str:
            return f"node-{(i * 7919) % n:05d}"  # spread over the store

        out["GET node"] = await _time(server, requests, lambda i: call("GET", f"{NODES}/{name(i)}"))
        out["merge PATCH node labels"] = await _time(server, requests, lambda i: call(
            "PATCH", f"{NODES}/{name(i)}", json.dumps({"metadata": {"labels": {"b": str(i)}}})))
        out["apply NodeReport (exists)"] = await _time(server, requests, lambda i: call(
            "PATCH", f"{REPORTS}/{name(i)}", apply_body.replace("node-00000", name(i)),
            "application/apply-patch+yaml", {"fieldManager": "dualnet-agent", "force": "true"}))
        out["POST Event"] = await _time(server, requests, lambda i: call(
            "POST", EVENTS, json.dumps({"apiVersion": "v1", "kind": "Event", "metadata": {
                "name": f"ev-{i}", "namespace": "default"}, "reason": "b"}),
            "application/json"))
        out["LIST nodes"] = await _time(server, max(1, requests // 40),
                                        lambda i: call("GET", NODES))
        server._requests.clear()
        for i in range(served):
            await call("GET", f"{NODES}/{name(i)}")
        t0 = time.perf_counter()  # not _time: it would empty the history this row is about
        for i in range(requests):
            await call("GET", f"{NODES}/{name(i)}")
        out[f"GET node, {served} served before"] = (time.perf_counter() - t0) / requests * 1000
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--requests", type=int, default=100, help="requests per row")
    parser.add_argument("--served", type=int, default=1000,
                        help="requests answered before the last row")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        status = report_body(Path(tmp))
    columns: dict[str, dict[str, float]] = {}
    for n in args.nodes:
        for cls, label in ((OperatorApiServer, "kmock"), (HistoryFreeApiServer, "no history"),
                           (IndexedApiServer, "indexed")):
            columns[f"{label} @{n}"] = asyncio.run(
                measure(cls, n, args.requests, args.served, status))
            print(f"  measured {label} with {n} nodes", flush=True)
    rows = list(next(iter(columns.values())))
    width = max(len(r) for r in rows)
    print(f"\nms per request (one client, sequential; load average at the end: "
          f"{os.getloadavg()[0]:.1f})")
    print(f"{'request':<{width}}  " + "  ".join(f"{c:>17}" for c in columns))
    for row in rows:
        print(f"{row:<{width}}  " + "  ".join(f"{columns[c][row]:>17.2f}" for c in columns))


if __name__ == "__main__":
    main()
