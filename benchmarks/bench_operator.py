"""The operator at fleet scale: N simulated nodes publish NodeReports, the real kopf operator
(dualnet's registry, standalone, in its own process) reconciles one TrainingNetwork against an
API emulator over real HTTP; we measure how long until the status has converged, count every API
write, and read the operator process's peak RSS.

Phases:
  1. the operator starts and applies the TrainingNetwork; N Nodes exist, no reports yet
  2. rollout: N agents publish their first report (real agent code path: build the report,
     server-side apply; 16 in flight, agents are independent) -> status converged, N labels and
     N node conditions set; timed from the last report
  3. heartbeat round: every agent re-publishes with only the heartbeat changed -> no status or
     label write may follow
  4. 5% of the nodes lose their ACTIVE port -> converged again (status, labels, node conditions,
     one Event per node); timed from the last of those reports
  5. the emulator floor: N node PATCHes from one client (8 in flight), no operator
The reports are real: discover() over synthetic sysfs trees (GH200, and the same node with its
port down) and the real doctor.

The emulator is `benchmarks.apiserver.IndexedApiServer` (kmock's emulator without its costs that
grow with the run; `python -m benchmarks.bench_kmock` measures both) in this process, with the
agents and the convergence checks; the operator runs alone in a child process, so it shares
neither the event loop nor the memory figure (VmHWM of that process: everything it holds,
kopf, lightkube, pydantic and the interpreter included).

Run: python -m benchmarks.bench_operator [--nodes N [N ...]]  (default: 1000 10000)
     python -m benchmarks.bench_operator --operator-only [--nodes ...]  (no API server)
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import os
import signal
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kmock
from testsupport.apiserver import declare_resources, write_kubeconfig
from testsupport.fast_apiserver import IndexedApiServer

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
SETTINGS = OperatorSettings(debounce_s=0.5, max_settle_s=10, resync_s=30)
AGENTS_IN_FLIGHT = 16
POLL_S = 0.2


def _proc_kib(pid: int, field: str) -> int:
    """A /proc/<pid>/status field in KiB (VmHWM: peak resident set; VmRSS: resident now)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def operator_process(kubeconfig: Path) -> None:
    """The operator alone, as `dualnet operator` runs it, until SIGTERM."""
    async def go() -> None:
        api = make_client(kubeconfig)
        stop: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_term() -> None:
            if not stop.done():
                stop.set_result(None)
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, on_term)
        try:
            await run_operator(Runtime(reconciler=Reconciler(api, settings=SETTINGS)),
                               standalone=True, stop_flag=stop)
        finally:
            await api.close()
    os.environ["KUBECONFIG"] = str(kubeconfig)
    asyncio.run(go())


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process has used: /proc/<pid>/stat fields 14 and 15."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _until(check: Callable[[], bool], timeout: float) -> float:
    start = time.perf_counter()
    while not check():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("did not converge")
        await asyncio.sleep(POLL_S)
    return time.perf_counter() - start


def _host_reports(tmp: Path) -> dict[str, HostReport]:
    build_tree(gh200(), tmp / "good")
    good = discover(tmp / "good")
    bad = copy.deepcopy(good)
    for dev in bad.rdma_devices:
        for port in dev.ports:
            port.state, port.phys_state = PortState.DOWN, PhysState.DISABLED
    return {"good": good, "bad": bad}


def _per(w: dict[str, int], n: int) -> str:
    return ", ".join(f"{v / n:.2f} {k}" for k, v in sorted(w.items()) if k != "nodereport")


async def _run(n: int, tmp: Path) -> list[tuple[str, float, str]]:
    hosts = _host_reports(tmp)
    rows = _Rows()
    tn_res = kmock.resource("dualnet.io/v1alpha1/trainingnetworks")
    node_res = kmock.resource("v1/nodes")
    names = [f"node-{i:05d}" for i in range(n)]
    async with IndexedApiServer() as server, kmock.Server(server):
        declare_resources(server)
        for i, name in enumerate(names):
            server.objects[node_res, None, name] = {
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "uid": f"uid-node-{i:05d}"}}
        cfg = write_kubeconfig(tmp / "kubeconfig", str(server.url).rstrip("/"))
        api = make_client(cfg)
        gate = asyncio.Semaphore(AGENTS_IN_FLIGHT)

        async def publish_all(kind: str, which: list[str]) -> float:
            """Each agent's report (built once per round: one hardware, one clock), published
            by server-side apply; returns when the last one was answered."""
            host = hosts[kind]
            status = logic.build_node_report("x", host, default_diagnose(host, "shared-roce"),
                                             mode="shared-roce", now=utcnow()).model_dump(
                mode="json", by_alias=True, exclude_none=True)

            async def one(name: str) -> None:
                async with gate:
                    await fleet.publish_node_report(api, name, {**status, "nodeName": name})
            await asyncio.gather(*(one(name) for name in which))
            return time.perf_counter()

        def status() -> dict[str, Any]:
            return dict(server.objects[tn_res, None, "rdma"].raw.get("status") or {})

        def nodes_are(label: str, cond: str, count: int) -> bool:
            got = 0
            for (res, _, _), obj in server.objects.items():
                if res != node_res:
                    continue
                raw = obj.raw
                if (raw["metadata"].get("labels") or {}).get("dualnet.io/rdma-ready") != label:
                    continue
                got += any(c.get("type") == "DualnetRDMAReady" and c.get("status") == cond
                           for c in (raw.get("status") or {}).get("conditions") or [])
            return got == count

        def operator_mib() -> str:
            return (f"{_proc_kib(child.pid, 'VmHWM') / 1024:.0f} MiB peak, "
                    f"{_proc_kib(child.pid, 'VmRSS') / 1024:.0f} MiB now")

        marks = {"cpu": 0.0, "wall": time.perf_counter(), "self": time.process_time()}

        def cpu() -> str:
            """CPU used since the last call by the operator and by this process (emulator and
            agents), against the wall time: which one the phase was waiting on."""
            now = {"cpu": _cpu_s(child.pid), "wall": time.perf_counter(),
                   "self": time.process_time()}
            out = (f"CPU: operator {now['cpu'] - marks['cpu']:.1f} s, emulator+agents "
                   f"{now['self'] - marks['self']:.1f} s in {now['wall'] - marks['wall']:.1f} s")
            marks.update(now)
            return out

        oplog = (tmp / "operator.log").open("w")
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks.bench_operator", "--operator-process", str(cfg),
            stdout=oplog, stderr=oplog, cwd=str(Path(__file__).resolve().parent.parent))
        try:
            # 1. the operator up, the network applied, no reports yet
            t0 = time.perf_counter()
            await api.create(fleet.TrainingNetworkResource.from_dict({
                "apiVersion": "dualnet.io/v1alpha1", "kind": "TrainingNetwork",
                "metadata": {"name": "rdma", "generation": 1}, "spec": SPEC}))
            await _until(lambda: "applied" in status(), 300)
            rows.append(("operator started, TrainingNetwork applied (0 reports)",
                         time.perf_counter() - t0, operator_mib() + "; " + cpu()))
            server.writes.clear()

            # 2. rollout: every agent's first report
            t0 = time.perf_counter()
            last = await publish_all("good", names)
            rows.append((f"{n} agents publish their first NodeReport", last - t0,
                         f"{AGENTS_IN_FLIGHT} in flight; "
                         f"{(last - t0) / n * 1000:.2f} ms per report"))
            status_at = await _until(lambda: status().get("readyNodes") == n, 1800)
            rows.append(("  -> status converged (readyNodes = N), after the last report",
                         time.perf_counter() - last, f"{status_at:.2f} s of polling"))
            await _until(lambda: nodes_are("true", "True", n), 1800)
            took = time.perf_counter() - last
            w = dict(server.writes)
            rows.append(("  -> + every label and node condition, after the last report", took,
                         ", ".join(f"{v} {k}" for k, v in sorted(w.items())) +
                         f"; per node: {_per(w, n)}; {(time.perf_counter() - t0) / n * 1000:.2f}"
                         " ms per node from the first report; " + cpu()))
            rows.append(("operator process memory after the rollout (MiB)",
                         _proc_kib(child.pid, "VmHWM") / 1024, operator_mib()))
            server.writes.clear()

            # 3. heartbeat round: nothing but heartbeatTime changes
            await asyncio.sleep(1.1)  # heartbeat times are whole seconds
            t0 = time.perf_counter()
            last = await publish_all("good", names)
            await asyncio.sleep(3 * SETTINGS.debounce_s + 1)
            w = dict(server.writes)
            ops = {k: v for k, v in w.items() if k != "nodereport"}
            rows.append((f"heartbeat round ({n} reports)", last - t0,
                         f"{w.get('nodereport', 0)} report writes; operator writes: "
                         f"{sum(ops.values())} {ops or ''}; " + cpu()))
            server.writes.clear()

            # 4. 5% turn bad
            bad = max(1, n // 20)
            last = await publish_all("bad", names[:bad])
            await _until(lambda: status().get("notReadyNodes") == bad
                         and nodes_are("false", "False", bad), 300)
            took = time.perf_counter() - last
            w = dict(server.writes)
            rows.append((f"{bad} nodes lose their port -> converged, after the last report",
                         took, ", ".join(f"{v} {k}" for k, v in sorted(w.items())) +
                         f"; per changed node: {_per(w, bad)}; " + cpu()))
            rows.append(("operator process peak memory, whole run (MiB)",
                         _proc_kib(child.pid, "VmHWM") / 1024, operator_mib()))
        finally:
            if child.returncode is None:
                child.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(child.wait(), 60)
                except TimeoutError:
                    child.kill()
                    await child.wait()
            oplog.close()
        if child.returncode not in (0, -signal.SIGTERM):
            print((tmp / "operator.log").read_text()[-4000:], file=sys.stderr)

        # 5. emulator floor: n node patches from one client, 8 in flight, no operator
        floor_gate = asyncio.Semaphore(8)

        async def _patch(name: str) -> None:
            async with floor_gate:
                await fleet.patch_node(api, name, {"metadata": {"labels": {"bench": "x"}}})

        t0 = time.perf_counter()
        await asyncio.gather(*(_patch(name) for name in names))
        floor = time.perf_counter() - t0
        rows.append((f"emulator floor: {n} node patches, no operator", floor,
                     f"{floor / n * 1000:.2f} ms per patch"))
        await api.close()
    return rows


class _Rows(list[tuple[str, float, str]]):
    """Rows, each also printed when measured (a long run shows its progress)."""

    def append(self, row: tuple[str, float, str]) -> None:
        super().append(row)
        print(f"  {row[0]}: {row[1]:.2f} s  {row[2]}", flush=True)


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
    parser.add_argument("--operator-process", type=Path, metavar="KUBECONFIG",
                        help=argparse.SUPPRESS)  # the child the end-to-end run starts
    args = parser.parse_args(argv)
    if args.operator_process is not None:
        operator_process(args.operator_process)
        return
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
