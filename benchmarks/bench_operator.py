"""The operator at fleet scale: N simulated nodes publish NodeReports, the real kopf operator
(dualnet's registry, standalone) reconciles one TrainingNetwork against the kmock API emulator
over real HTTP; we measure how long until the status has converged, and count every API write.

Phases:
  1. N agents publish (real agent code path: build report, server-side apply)
  2. cold start: operator starts, TrainingNetwork created -> status converged, N labels set
  3. heartbeat round: every agent re-publishes with only the heartbeat changed -> no status or
     label write may follow
  4. 5% of the nodes turn bad (mlx5_ib unloaded) -> converged again
The reports are real: discover() over synthetic sysfs trees (GH200 and a node without mlx5_ib)
and the real doctor. Times include kmock's own cost, which grows with the number of requests it
has recorded (it matches each request against its history), so they are upper bounds.

Run: python -m benchmarks.bench_operator [--nodes N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kmock
from tests.cluster.conftest import write_kubeconfig
from tests.operator.conftest import OperatorApiServer, declare_resources

from dualnet.cluster import fleet
from dualnet.cluster.client import make_client
from dualnet.host.discover import discover
from dualnet.host.models import HostReport
from dualnet.host.samples import gh200, no_mlx5_ib
from dualnet.host.synthetic import build_tree
from dualnet.operator import logic
from dualnet.operator.agent import default_diagnose
from dualnet.operator.handlers import Runtime, run_operator
from dualnet.operator.reconciler import OperatorSettings, Reconciler, utcnow

SPEC = {"mode": "shared-roce", "nics": {"netdevs": ["enp1s0f0np0"]},
        "ipam": {"type": "whereabouts", "subnet": "192.168.50.0/24"}}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def _kind_of(path: str) -> str:
    if "/nodereports" in path:
        return "nodereport"
    if path.endswith("/status"):
        return "tn-status"
    if "/trainingnetworks" in path:
        return "tn (kopf)"
    if "/nodes/" in path:
        return "node-label"
    if "/events" in path:
        return "event"
    return "applied object"


class WriteLog:
    """Counts write requests by kind, then drops them from kmock's request history: kmock matches
    each new request against its whole history (>80% of a profiled run), which would make the
    emulator, not the operator, the thing measured. Drained every poll."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.total: Counter[str] = Counter()

    def drain(self) -> None:
        history = self.server._requests  # kmock's private history: the only way to trim it
        for r in history:
            if r.method is not None and r.method.value in WRITES:
                self.total[_kind_of(r.url.path)] += 1
        history.clear()

    def take(self) -> Counter[str]:
        self.drain()
        out, self.total = self.total, Counter()
        return out


async def _until(check: Callable[[], bool], timeout: float, log: WriteLog) -> float:
    start = time.perf_counter()
    while True:
        log.drain()
        if check():
            break
        if time.perf_counter() - start > timeout:
            raise TimeoutError("did not converge")
        await asyncio.sleep(0.2)  # checking reads every node: keep it off the operator's back
    return time.perf_counter() - start


async def _run(n: int, tmp: Path) -> list[tuple[str, float, str]]:
    reports: dict[str, HostReport] = {}
    for name, desc in (("good", gh200), ("bad", no_mlx5_ib)):
        build_tree(desc(), tmp / name)
        reports[name] = discover(tmp / name)
    rows: list[tuple[str, float, str]] = []
    tn_res = kmock.resource("dualnet.io/v1alpha1/trainingnetworks")
    node_res = kmock.resource("v1/nodes")
    async with OperatorApiServer() as server, kmock.Server(server):
        declare_resources(server)
        server.resources["v1/events"] = kmock.ResourceInfo(kind="Event", namespaced=True)
        for i in range(n):
            server.objects[node_res, None, f"node-{i:04d}"] = {
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": f"node-{i:04d}", "uid": f"uid-node-{i:04d}"}}
        cfg = write_kubeconfig(tmp / "kubeconfig", str(server.url).rstrip("/"))
        os.environ["KUBECONFIG"] = str(cfg)
        api = make_client(cfg)

        async def publish(i: int, kind: str) -> None:
            host = reports[kind]
            status = logic.build_node_report(f"node-{i:04d}", host,
                                             default_diagnose(host, "shared-roce"),
                                             mode="shared-roce", now=utcnow())
            await fleet.publish_node_report(
                api, f"node-{i:04d}", status.model_dump(mode="json", by_alias=True,
                                                        exclude_none=True))

        log = WriteLog(server)

        # 1. agents publish
        t0 = time.perf_counter()
        for i in range(n):
            await publish(i, "good")
            if i % 100 == 0:
                log.drain()
        log.take()
        rows.append((f"{n} agents publish NodeReports", time.perf_counter() - t0,
                     f"{n} writes (one per node)"))

        # 2. operator cold start
        rec = Reconciler(api, settings=OperatorSettings(debounce_s=0.5, max_settle_s=10,
                                                        resync_s=30))
        stop: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        t0 = time.perf_counter()
        task = asyncio.create_task(run_operator(Runtime(reconciler=rec), standalone=True,
                                                stop_flag=stop))
        await api.create(fleet.TrainingNetworkResource.from_dict({
            "apiVersion": "dualnet.io/v1alpha1", "kind": "TrainingNetwork",
            "metadata": {"name": "rdma", "generation": 1}, "spec": SPEC}))

        def status() -> dict[str, Any]:
            obj = server.objects[tn_res, None, "rdma"]
            return dict(obj.raw.get("status") or {})

        def labelled(value: str, count: int) -> bool:
            got = sum(1 for i in range(n) if server.objects[node_res, None, f"node-{i:04d}"]
                      .raw["metadata"].get("labels", {}).get("dualnet.io/rdma-ready") == value)
            return got == count

        try:
            status_at = await _until(lambda: status().get("readyNodes") == n, 600, log)
            await _until(lambda: labelled("true", n), 600, log)
            took = time.perf_counter() - t0
            rows.append(("cold start: status converged", status_at, "(see next row)"))
            w = log.take()
            rows.append(("cold start: status + labels converged", took,
                         ", ".join(f"{v} {k}" for k, v in sorted(w.items()))))

            # 3. heartbeat round: nothing but heartbeatTime changes
            await asyncio.sleep(1.1)  # heartbeat times are whole seconds
            t0 = time.perf_counter()
            for i in range(n):
                await publish(i, "good")
                if i % 100 == 0:
                    log.drain()
            await asyncio.sleep(3 * rec.settings.debounce_s)
            took = time.perf_counter() - t0
            w = log.take()
            ops = {k: v for k, v in w.items() if k != "nodereport"}
            rows.append((f"heartbeat round ({n} reports)", took,
                         f"{w['nodereport']} report writes; operator writes: "
                         f"{sum(ops.values())}"))

            # 4. 5% turn bad
            bad = max(1, n // 20)
            t0 = time.perf_counter()
            for i in range(bad):
                await publish(i, "bad")
            await _until(lambda: status().get("notReadyNodes") == bad
                         and labelled("false", bad), 120, log)
            took = time.perf_counter() - t0
            w = log.take()
            rows.append((f"{bad} nodes turn bad -> converged", took,
                         ", ".join(f"{v} {k}" for k, v in sorted(w.items()))))
        finally:
            stop.set_result(None)
            await asyncio.wait_for(task, 60)
            await api.close()
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        rows = asyncio.run(_run(args.nodes, Path(tmp)))
    width = max(len(r[0]) for r in rows)
    print(f"{'phase':<{width}}  {'seconds':>8}  API writes")
    for name, secs, writes in rows:
        print(f"{name:<{width}}  {secs:>8.2f}  {writes}")


if __name__ == "__main__":
    main()
