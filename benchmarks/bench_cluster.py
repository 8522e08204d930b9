"""apply against the kmock API emulator (real HTTP, lightkube's real client): the first apply of
N objects, the second one (which must send no write request), and the cost of the bench parsers.

What the apply rows prove is the request counts (one read per object, one write per changed
object, none on the second run). Their times are mostly the emulator's: kmock matches each request
against every request recorded so far, so its cost grows with the square of the request count
(profiled: >90% of the time in kmock's dsl/filtering).

Run: python -m benchmarks.bench_cluster [--objects N] [--repeat R]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import kmock
import yaml

from dualnet import labels
from dualnet.cluster.apply import apply_objects
from dualnet.cluster.client import make_client
from dualnet.verify.nccl_tests import parse_all_reduce_perf
from dualnet.verify.perftest import parse_ib_write_bw

OUTPUTS = Path(__file__).resolve().parent.parent / "tests" / "verify" / "outputs"
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


class _Emulator(kmock.KubernetesEmulator):
    """kmock plus kube-apiserver's create-on-apply (as in tests/cluster/conftest.py)."""

    async def _handle(self, request: Any) -> Any:
        import aiohttp.web

        if (request.resource is not None and request.name is not None
                and request.method.value == "PATCH"):
            key = (request.resource, request.namespace, request.name)
            if key not in self.objects or self.objects[key].deleted:
                self.objects[key] = request.data
                return aiohttp.web.json_response(request.data, status=201)
        return await super()._handle(request)


def objects(n: int) -> list[dict[str, Any]]:
    own = labels.owned_labels("bench", "component")
    return [{"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": f"cm-{i}", "namespace": "default", "labels": dict(own)},
             "data": {"config.json": "{\"configList\": []}", "i": str(i)}} for i in range(n)]


async def _run(n: int, repeat: int) -> list[tuple[str, float, int, int]]:
    rows: list[tuple[str, float, int, int]] = []
    firsts, seconds, w1, w2, r1, r2 = [], [], 0, 0, 0, 0
    for _ in range(repeat):
        async with _Emulator() as server, kmock.Server(server):
            with tempfile.TemporaryDirectory() as d:
                kc = Path(d) / "kc"
                url = str(server.url).rstrip("/")
                kc.write_text(yaml.safe_dump({
                    "apiVersion": "v1", "kind": "Config", "current-context": "k",
                    "clusters": [{"name": "k", "cluster": {"server": url}}],
                    "users": [{"name": "k", "user": {"token": "t"}}],
                    "contexts": [{"name": "k", "context": {"cluster": "k", "user": "k"}}]}))
                client = make_client(kc)
                objs = objects(n)
                t0 = time.perf_counter()
                await apply_objects(client, objs)
                firsts.append(time.perf_counter() - t0)
                w1 = sum(1 for r in server if r.method.value in WRITES)
                r1 = len(list(server))
                t0 = time.perf_counter()
                await apply_objects(client, objs)
                seconds.append(time.perf_counter() - t0)
                w2 = sum(1 for r in server if r.method.value in WRITES) - w1
                r2 = len(list(server)) - r1
                await client.close()
    rows.append((f"first apply, {n} ConfigMaps", statistics.median(firsts), r1, w1))
    rows.append((f"second apply, {n} ConfigMaps", statistics.median(seconds), r2, w2))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--objects", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    rows = asyncio.run(_run(args.objects, args.repeat))
    ib = (OUTPUTS / "ib_write_bw-roce-bidir-all-sizes-indented.txt").read_text()
    nc = (OUTPUTS / "all_reduce_perf-2node-16xh100-mpirun.txt").read_text()
    for label, fn, text in (("parse ib_write_bw (23 rows) x1000", parse_ib_write_bw, ib),
                            ("parse all_reduce_perf (31 rows) x1000", parse_all_reduce_perf, nc)):
        t0 = time.perf_counter()
        for _ in range(1000):
            fn(text)
        rows.append((label, time.perf_counter() - t0, 0, 0))
    print(f"{'what':42} {'seconds':>9} {'requests':>9} {'writes':>7}")
    for what, secs, reqs, writes in rows:
        print(f"{what:42} {secs:9.3f} {reqs:9d} {writes:7d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
