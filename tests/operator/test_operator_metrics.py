"""Prometheus metrics scraped from the real HTTP endpoint (prometheus-client's server) and read
with prometheus-client's own text-format parser."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lightkube import AsyncClient
from prometheus_client.parser import text_string_to_metric_families

from dualnet.host.discover import discover
from dualnet.host.models import HostReport
from dualnet.host.samples import gh200
from dualnet.host.synthetic import build_tree
from dualnet.operator.agent import AgentConfig, default_diagnose, run_agent
from dualnet.operator.metrics import AgentMetrics, OperatorMetrics, serve
from dualnet.operator.reconciler import OperatorSettings, Reconciler
from tests.helpers import Clock, add_node
from tests.operator.helpers import SPEC, add_network, network, publish, watch_sync

Samples = dict[str, list[tuple[dict[str, str], float]]]


def scrape(registry: Any) -> Samples:
    server = serve(registry, 0, addr="127.0.0.1")
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert resp.status == 200
            text = resp.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    out: Samples = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.setdefault(s.name, []).append((dict(s.labels), s.value))
    return out


async def test_operator_serves_readiness_findings_and_reconcile_duration(
        server: Any, api: AsyncClient, clock: Clock, hosts: Callable[[str], HostReport]) -> None:
    add_node(server, "gpu-1")
    add_node(server, "gpu-2")
    await publish(api, "gpu-1", hosts("gh200"), clock)
    await publish(api, "gpu-2", hosts("gh200_port_down"), clock)
    add_network(server, "rdma", SPEC)
    metrics = OperatorMetrics()
    rec = Reconciler(api, settings=OperatorSettings(), clock=clock, metrics=metrics)
    await watch_sync(api, rec)
    await rec.reconcile_once("rdma", network(server, "rdma"))
    got = scrape(metrics.registry)
    ready = {(lab["node"], lab["network"], lab["reason"]): v
             for lab, v in got["dualnet_node_rdma_ready"]}
    assert ready == {("gpu-1", "rdma", "RdmaReady"): 1.0, ("gpu-2", "rdma", "NoneActive"): 0.0}
    findings = {(lab["node"], lab["rule"], lab["severity"]): v
                for lab, v in got["dualnet_doctor_findings"]}
    assert findings[("gpu-2", "port.none-active", "error")] == 1.0
    assert ("gpu-1", "port.none-active", "error") not in findings
    count = [v for lab, v in got["dualnet_reconcile_duration_seconds_count"]
             if lab["network"] == "rdma"]
    assert count == [1.0]


async def test_agent_serves_port_state_counters_and_publishes(
        server: Any, api: AsyncClient, clock: Clock, tmp_path: Path) -> None:
    root = tmp_path / "host"
    build_tree(gh200(), root)
    counters = root / "sys/class/infiniband/mlx5_0/ports/1/counters"
    counters.mkdir(parents=True, exist_ok=True)
    (counters / "symbol_error").write_text("12\n")
    (counters / "link_downed").write_text("1\n")
    metrics = AgentMetrics("gpu-1")
    config = AgentConfig(node="gpu-1", root=root, mode="shared-roce", interval_s=0.01)
    await run_agent(api, config, cycles=2, clock=clock, discover=discover,
                    diagnose=default_diagnose, metrics=metrics)
    got = scrape(metrics.registry)
    state = {(lab["hca"], lab["port"]): v for lab, v in got["dualnet_port_state"]}
    assert state == {("mlx5_0", "1"): 4.0, ("mlx5_1", "1"): 1.0}
    errors = {(lab["hca"], lab["counter"]): v for lab, v in got["dualnet_port_errors_total"]}
    assert errors == {("mlx5_0", "symbol_error"): 12.0, ("mlx5_0", "link_downed"): 1.0}
    assert got["dualnet_agent_publish_total"] == [({"node": "gpu-1", "why": "changed"}, 1.0)]
    assert any(lab["node"] == "gpu-1" for lab, _ in got["dualnet_doctor_findings"])
