"""Prometheus metrics of the operator and the agent (prometheus-client), served over HTTP.

Per-node series are produced at scrape time from what the process already holds (the operator's
FleetView, the agent's last observation) by custom collectors: no per-reconcile bookkeeping, and
a node or reason that went away leaves no stale series behind.

Operator: dualnet_node_rdma_ready{node,network,reason}, dualnet_doctor_findings{node,rule,
severity}, dualnet_reconcile_duration_seconds. Agent: dualnet_port_state{node,hca,port},
dualnet_port_errors_total{node,hca,port,counter}, dualnet_doctor_findings, and
dualnet_agent_publish_total{node,why}.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client import Counter as PromCounter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dualnet.operator import logic
from dualnet.operator.health import HealthSample
from dualnet.operator.models import NodeReportStatus

# The IB port state as its number (ibstat/sysfs "4: ACTIVE"), so alerts can compare.
PORT_STATE_NUMBER = {"NOP": 0, "DOWN": 1, "INIT": 2, "ARMED": 3, "ACTIVE": 4,
                     "ACTIVE_DEFER": 5}


def _findings_family(reports: Iterable[tuple[str, NodeReportStatus]]) -> Metric:
    fam = GaugeMetricFamily("dualnet_doctor_findings",
                            "doctor (and health) findings on the node, by rule and severity",
                            labels=["node", "rule", "severity"])
    for node, report in reports:
        for (rule, sev), n in sorted(Counter((f.id, f.severity)
                                             for f in report.findings).items()):
            fam.add_metric([node, rule, sev], n)
    return fam


class FleetCollector(Collector):
    """The operator's per-node series, from the FleetView at scrape time."""

    def __init__(self, reports: Callable[[], Mapping[str, NodeReportStatus]],
                 networks: Callable[[], Mapping[str, str | None]],
                 clock: Callable[[], datetime], stale_after_s: float) -> None:
        self.reports, self.networks = reports, networks
        self.clock, self.stale_after_s = clock, stale_after_s

    def collect(self) -> Iterator[Metric]:
        reports = dict(self.reports())
        now = self.clock()
        ready = GaugeMetricFamily("dualnet_node_rdma_ready",
                                  "1 when the node can carry the network's RDMA traffic",
                                  labels=["node", "network", "reason"])
        for network, mode in sorted(self.networks().items()):
            for node in sorted(reports):
                ok, reason, _ = logic.effective_readiness(
                    reports[node], now=now, stale_after_s=self.stale_after_s, mode=mode)
                ready.add_metric([node, network, reason], 1.0 if ok else 0.0)
        yield ready
        yield _findings_family(sorted(reports.items()))


class OperatorMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.reconcile_duration = Histogram(
            "dualnet_reconcile_duration_seconds", "one reconcile pass of one TrainingNetwork",
            ["network"], registry=self.registry,
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))

    def watch_fleet(self, collector: FleetCollector) -> None:
        self.registry.register(collector)


class AgentCollector(Collector):
    """The agent's node, from its last look."""

    def __init__(self, node: str, last: Callable[[], tuple[NodeReportStatus | None,
                                                              HealthSample | None]]) -> None:
        self.node, self.last = node, last

    def collect(self) -> Iterator[Metric]:
        status, sample = self.last()
        state = GaugeMetricFamily("dualnet_port_state",
                                  "IB port state (1 DOWN, 2 INIT, 3 ARMED, 4 ACTIVE)",
                                  labels=["node", "hca", "port"])
        errors = CounterMetricFamily("dualnet_port_errors",
                                     "port error counters as the HCA counts them (sysfs "
                                     "ports/N/counters and hw_counters)",
                                     labels=["node", "hca", "port", "counter"])
        for (hca, port), p in sorted((sample.ports if sample else {}).items()):
            state.add_metric([self.node, hca, str(port)],
                             float(PORT_STATE_NUMBER.get(p.state, -1)))
            for name, value in sorted(p.counters.items()):
                errors.add_metric([self.node, hca, str(port), name], float(value))
        yield state
        yield errors
        yield _findings_family([(self.node, status)] if status is not None else [])


class AgentMetrics:
    def __init__(self, node: str, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.node = node
        self.publishes = PromCounter("dualnet_agent_publish", "NodeReport publications",
                                     ["node", "why"], registry=self.registry)

    def watch(self, last: Callable[[], tuple[NodeReportStatus | None,
                                              HealthSample | None]]) -> None:
        self.registry.register(AgentCollector(self.node, last))


def serve(registry: CollectorRegistry, port: int, addr: str = "0.0.0.0") -> Any:
    """Serve /metrics in a background thread; returns the HTTP server (its server_port is the
    bound port, useful with port 0)."""
    server, _thread = start_http_server(port, addr=addr, registry=registry)
    return server
