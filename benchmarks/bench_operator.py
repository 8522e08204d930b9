"""The operator at fleet scale: N simulated nodes publish NodeReports, the real kopf operator
(dualnet's registry, standalone) reconciles one TrainingNetwork against the kmock API emulator
over real HTTP; we measure how long until the status has converged, and count every API write.

Phases:
  1. N agents publish (real agent code path: build report, server-side apply)
  2. cold start: operator starts, TrainingNetwork created -> status converged, N labels set
  3. heartbeat round: every agent re-publishes with only the heartbeat changed -> no status or
     label write may follow
  4. 5% of the nodes lose their ACTIVE port -> converged again (status, labels, node conditions,
     one Event per node); the time is measured from the last of those reports
  5. the emulator floor: the same number of node PATCHes sent straight from one client, no
     operator, so the emulator's own share of the times above shows
The reports are real: discover() over synthetic sysfs trees (GH200, and the same node with its
port down) and the real doctor. Peak memory is the process's (operator, emulator and simulated
agents together): an upper bound of the operator's. Times include kmock's own cost, which grows
with the number of requests it has recorded (it matches each request against its history), so
they are upper bounds.

Run: python -m benchmarks.bench_operator [--nodes N [N ...]]  (default: 1000 10000)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kmock
from testsupport.apiserver import OperatorApiServer, declare_resources, write_kubeconfig

from dualnet.cluster import fleet
from dualnet.cluster.client import make_client
from dualnet.host.discover import discover
from dualnet.host.models import HostReport, PhysState, PortState
from dualnet.host.samples import gh200
from dualnet.host.synthetic import build_tree
from dualnet.operator import logic
from dualnet.operator.agent import default_diagnose
from dualnet.operator.handlers import Runtime, run_operator
from dualnet.operator.reconciler import FleetView, OperatorSettings, Reconciler, utcnow

SPEC = {"mode": "shared-roce", "nics": {"netdevs": ["enp1s0f0np0"]},
        "ipam": {"type": "whereabouts", "subnet": "192.168.50.0/24"}}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def _kind_of(path: str) -> str:
    if "/nodereports" in path:
        return "nodereport"
    if "/nodes/" in path and path.endswith("/status"):
        return "node-condition"
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
    build_tree(gh200(), tmp / "good")
    reports["good"] = discover(tmp / "good")
    reports["bad"] = reports["good"].model_copy(deep=True)
    for dev in reports["bad"].rdma_devices:
        for port in dev.ports:
            port.state, port.phys_state = PortState.DOWN, PhysState.DISABLED
    rows = _Rows()
    tn_res = kmock.resource("dualnet.io/v1alpha1/trainingnetworks")
    node_res = kmock.resource("v1/nodes")
    async with OperatorApiServer() as server, kmock.Server(server):
        declare_resources(server)
        server.resources["v1/events"] = kmock.ResourceInfo(kind="Event", namespaced=True)
        for i in range(n):
            server.objects[node_res, None, f"node-{i:05d}"] = {
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": f"node-{i:05d}", "uid": f"uid-node-{i:04d}"}}
        cfg = write_kubeconfig(tmp / "kubeconfig", str(server.url).rstrip("/"))
        os.environ["KUBECONFIG"] = str(cfg)
        api = make_client(cfg)

        async def publish(i: int, kind: str) -> None:
            host = reports[kind]
            status = logic.build_node_report(f"node-{i:05d}", host,
                                             default_diagnose(host, "shared-roce"),
                                             mode="shared-roce", now=utcnow())
            await fleet.publish_node_report(
                api, f"node-{i:05d}", status.model_dump(mode="json", by_alias=True,
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
        rss_before = _peak_mib()
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
            got = sum(1 for i in range(n) if server.objects[node_res, None, f"node-{i:05d}"]
                      .raw["metadata"].get("labels", {}).get("dualnet.io/rdma-ready") == value)
            return got == count

        def conditioned(value: str, count: int) -> bool:
            got = 0
            for i in range(n):
                conds = server.objects[node_res, None, f"node-{i:05d}"].raw.get(
                    "status", {}).get("conditions") or []
                got += any(c.get("type") == "DualnetRDMAReady" and c.get("status") == value
                           for c in conds)
            return got == count

        try:
            status_at = await _until(lambda: status().get("readyNodes") == n, 1800, log)
            await _until(lambda: labelled("true", n) and conditioned("True", n), 1800, log)
            took = time.perf_counter() - t0
            rows.append(("cold start: status converged", status_at, "(see next row)"))
            w = log.take()
            rows.append(("cold start: status + labels + node conditions converged", took,
                         ", ".join(f"{v} {k}" for k, v in sorted(w.items())) +
                         f"; {took / n * 1000:.2f} ms per node"))

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
            last_report = time.perf_counter()
            await _until(lambda: status().get("notReadyNodes") == bad
                         and labelled("false", bad) and conditioned("False", bad), 300, log)
            took = time.perf_counter() - last_report
            w = log.take()
            per = ", ".join(f"{v / bad:.2f} {k}" for k, v in sorted(w.items())
                            if k != "nodereport")
            rows.append((f"{bad} nodes lose their port -> converged (after the last report)",
                         took, ", ".join(f"{v} {k}" for k, v in sorted(w.items())) +
                         f"; per changed node: {per}"))
            rows.append(("peak memory of the process (MiB)", _peak_mib(), "operator + "
                         f"emulator + agents; {_peak_mib() - rss_before:.0f} MiB more than "
                         "before the operator started"))

            # 5. emulator floor: n node patches from one client, 8 in flight, no operator
            gate = asyncio.Semaphore(8)

            async def _patch(i: int) -> None:
                async with gate:
                    await fleet.patch_node(api, f"node-{i:05d}",
                                           {"metadata": {"labels": {"bench": "x"}}})
                if i % 100 == 0:
                    log.drain()

            t0 = time.perf_counter()
            await asyncio.gather(*(_patch(i) for i in range(n)))
            floor = time.perf_counter() - t0
            log.take()
            rows.append((f"emulator floor: {n} node patches, no operator", floor,
                         f"{floor / n * 1000:.2f} ms per patch"))
        finally:
            stop.set_result(None)
            await asyncio.wait_for(task, 60)
            await api.close()
    return rows


class _Rows(list[tuple[str, float, str]]):
    """Rows, each also printed when measured (a long run shows its progress)."""

    def append(self, row: tuple[str, float, str]) -> None:
        super().append(row)
        print(f"  {row[0]}: {row[1]:.2f} s  {row[2]}", flush=True)


def _peak_mib() -> float:
    """Peak RSS of this process (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _operator_only(n: int, tmp: Path) -> list[tuple[str, float, str]]:
    """The operator's own work for n nodes, without an API server: ingest n report events into
    the FleetView (what the watch delivers), one pass of the pure decisions (TrainingNetwork
    status, every node's verdict and update), and the FleetView's memory (tracemalloc: the
    Python objects it holds)."""
    build_tree(gh200(), tmp / "good")
    host = discover(tmp / "good")
    body = logic.build_node_report("x", host, default_diagnose(host, "shared-roce"),
                                   mode="shared-roce", now=utcnow()).model_dump(
        mode="json", by_alias=True, exclude_none=True)
    rows: list[tuple[str, float, str]] = []
    view = FleetView()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    t0 = time.perf_counter()
    for i in range(n):
        name = f"node-{i:05d}"
        view.ingest_report({"metadata": {"name": name}, "status": {**body, "nodeName": name}})
        view.ingest_node({"metadata": {"name": name, "uid": name}})
    took = time.perf_counter() - t0
    held = (tracemalloc.get_traced_memory()[0] - before) / 2**20
    tracemalloc.stop()
    rows.append((f"ingest {n} report + node events", took,
                 f"{took / n * 1e6:.1f} us per node; FleetView holds {held:.1f} MiB "
                 f"({held * 1024 / n:.1f} KiB per node)"))
    now = utcnow()
    t0 = time.perf_counter()
    logic.compute_network_status(generation=1, nodes=view.reports.keys(), reports=view.reports,
                                 now=now, stale_after_s=360, mode="shared-roce", previous=None,
                                 applied=[], fingerprints=[])
    for node, report in view.reports.items():
        verdict = logic.node_verdict(report, now=now, stale_after_s=360)
        logic.node_update(node, verdict, view.node_state(node), taint=True, now=now)
    took = time.perf_counter() - t0
    rows.append((f"one pass of the decisions over {n} nodes", took,
                 f"{took / n * 1e6:.1f} us per node"))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--operator-only", action="store_true",
                        help="only the operator's own per-node work and memory (no emulator)")
    args = parser.parse_args(argv)
    if args.operator_only:
        for n in args.nodes:
            with tempfile.TemporaryDirectory() as tmp:
                for name, secs, what in _operator_only(n, Path(tmp)):
                    print(f"{n:>6} nodes  {name:<45} {secs:>7.3f} s  {what}", flush=True)
        return
    for n in args.nodes:
        with tempfile.TemporaryDirectory() as tmp:
            rows = asyncio.run(_run(n, Path(tmp)))
        width = max(len(r[0]) for r in rows)
        print(f"\n{n} nodes (load average at the end: {os.getloadavg()[0]:.1f})")
        print(f"{'phase':<{width}}  {'seconds':>8}  API writes")
        for name, secs, writes in rows:
            print(f"{name:<{width}}  {secs:>8.2f}  {writes}", flush=True)


if __name__ == "__main__":
    main()
