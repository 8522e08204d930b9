"""CLI verbs of the operator layer: `dualnet operator run|agent|crds|nodes` and `dualnet agent`."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
from pathlib import Path
from typing import Any

import typer

from dualnet.cli.output import OUTPUT_HELP, OutputFormat, emit
from dualnet.errors import UsageError

operator_app = typer.Typer(
    name="operator",
    help="The cluster side: kopf operator, node agent, CRDs, per-node readiness.",
    no_args_is_help=True,
)

_KUBECONFIG = typer.Option(None, "--kubeconfig", help="kubeconfig file (default: in-cluster, "
                           "then $KUBECONFIG, then ~/.kube/config)")
_CONTEXT = typer.Option(None, "--context", help="kubeconfig context")


def _logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


_METRICS_PORT = typer.Option(None, "--metrics-port", help="serve Prometheus metrics on this port "
                             "(/metrics); default: off")


def _port(value: int) -> int:
    if not 0 < value < 65536:
        raise UsageError(f"--metrics-port {value}: not a TCP port (1-65535)")
    return value


def _thresholds(path: Path | None) -> Any:
    from pydantic import ValidationError

    from dualnet.inputs import load_mapping
    from dualnet.operator.health import Thresholds

    if path is None:
        return Thresholds()
    data = load_mapping(path, what="--health-thresholds", expect="a YAML mapping of thresholds")
    try:
        return Thresholds.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise UsageError(f"--health-thresholds {path}: {field}: {first['msg']}",
                         hint="allowed keys: " + ", ".join(Thresholds.model_fields)) from exc


def _positive(value: float, flag: str) -> float:
    if value <= 0:
        raise UsageError(f"{flag} {value}: must be a positive number of seconds")
    return value


@operator_app.command("run")
def run(
    kubeconfig: Path | None = _KUBECONFIG,
    context: str | None = _CONTEXT,
    standalone: bool = typer.Option(
        False, "--standalone", help="no peering (single replica, or tests); default: kopf "
        "peering 'dualnet' so only one replica acts"),
    stale_after: float = typer.Option(360.0, "--stale-after", help="seconds without an agent "
                                      "heartbeat before a node is AgentGone"),
    debounce: float = typer.Option(2.0, "--debounce", help="seconds to let a burst of reports "
                                   "settle before one status write"),
    resync: float = typer.Option(30.0, "--resync", help="status re-evaluation period (seconds)"),
    liveness: str | None = typer.Option(None, "--liveness", help="kopf liveness endpoint, e.g. "
                                        "http://0.0.0.0:8080/healthz"),
    taint_unready: bool = typer.Option(
        False, "--taint-unready", help="taint not-ready nodes dualnet.io/rdma-unready:"
        "NoSchedule for every TrainingNetwork (a network's annotation dualnet.io/taint-unready "
        "overrides it)"),
    metrics_port: int | None = _METRICS_PORT,
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="log debug messages too"),
) -> None:
    """Run the operator: reconcile TrainingNetworks, keep their status and node labels true."""
    from dualnet.operator.handlers import Runtime, run_operator
    from dualnet.operator.metrics import OperatorMetrics, serve
    from dualnet.operator.reconciler import OperatorSettings

    _logging(verbose)
    settings = OperatorSettings(stale_after_s=_positive(stale_after, "--stale-after"),
                                debounce_s=_positive(debounce, "--debounce"),
                                resync_s=_positive(resync, "--resync"),
                                taint_unready=taint_unready)
    identity = os.environ.get("POD_NAME") or socket.gethostname()
    metrics = None
    if metrics_port is not None:
        metrics = OperatorMetrics()
        serve(metrics.registry, _port(metrics_port))
    runtime = Runtime(settings=settings, kubeconfig=kubeconfig, context=context,
                      metrics=metrics)
    asyncio.run(run_operator(runtime, standalone=standalone, identity=identity,
                             liveness_endpoint=liveness))


_NODE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def _agent(node: str | None, root: Path, interval: float, heartbeat: float, mode: str | None,
           once: bool, kubeconfig: Path | None, context: str | None, verbose: bool,
           metrics_port: int | None = None, thresholds: Path | None = None,
           gpudirect: bool = False) -> None:
    from dualnet.cluster.client import make_client
    from dualnet.modes import Mode
    from dualnet.operator.agent import AgentConfig, run_agent

    _logging(verbose)
    name = node or os.environ.get("NODE_NAME")
    if not name:
        raise UsageError("--node: which node is this?",
                         hint="pass --node NAME or set NODE_NAME (the DaemonSet sets it from "
                         "spec.nodeName)")
    if len(name) > 253 or not _NODE_NAME.fullmatch(name):
        raise UsageError(f"--node {name!r}: not a Kubernetes node name",
                         hint="a DNS subdomain: lowercase letters, digits, '-' and '.', at most "
                         "253 characters (as `kubectl get nodes` shows it)")
    if mode is not None and mode not in {m.value for m in Mode}:
        raise UsageError(f"--mode {mode!r}: not a mode",
                         hint="one of " + ", ".join(m.value for m in Mode))
    if not root.is_dir():
        raise UsageError(f"--root {root}: not a directory",
                         hint="mount the host's /sys read-only at /host/sys and pass --root /host")
    config = AgentConfig(node=name, root=root, interval_s=_positive(interval, "--interval"),
                         heartbeat_s=_positive(heartbeat, "--heartbeat"), mode=mode,
                         thresholds=_thresholds(thresholds), gpudirect=gpudirect)
    from dualnet.operator.metrics import AgentMetrics, serve

    metrics = None
    if metrics_port is not None:
        metrics = AgentMetrics(name)
        serve(metrics.registry, _port(metrics_port))

    async def _main() -> str | None:
        client = make_client(kubeconfig, context)
        try:
            state = await run_agent(client, config, cycles=1 if once else None,
                                    metrics=metrics)
        finally:
            await client.close()
        return state.last_error

    failed = asyncio.run(_main())
    if once and failed:
        # the loop logs and retries; a single shot must say it did not publish
        from dualnet.cluster.errors import ClusterError

        raise ClusterError(f"NodeReport {name} not published: {failed}")


_NODE = typer.Option(None, "--node", help="this node's name (default: $NODE_NAME)")
_ROOT = typer.Option(Path("/host"), "--root", help="where the host's /sys (and /proc) are mounted")
_INTERVAL = typer.Option(30.0, "--interval", help="seconds between looks at the node")
_HEARTBEAT = typer.Option(120.0, "--heartbeat", help="publish at least this often (seconds)")
_MODE = typer.Option(None, "--mode", help="mode to diagnose for (default: the cluster's "
                     "TrainingNetwork's)")
_THRESHOLDS = typer.Option(None, "--health-thresholds", help="YAML file of health thresholds "
                           "per agent interval (keys: warn_/block_ link_downed, symbol_error, "
                           "carrier_changes); default: any rise warns, a link_downed rise "
                           "blocks")
_GPUDIRECT = typer.Option(False, "--gpudirect", help="GPUDirect RDMA is used on this node: "
                          "nvidia_peermem unloaded makes it not ready")
_ONCE = typer.Option(False, "--once", help="observe and publish once, then exit")


@operator_app.command("agent")
def agent(
    node: str | None = _NODE, root: Path = _ROOT, interval: float = _INTERVAL,
    heartbeat: float = _HEARTBEAT, mode: str | None = _MODE, once: bool = _ONCE,
    kubeconfig: Path | None = _KUBECONFIG, context: str | None = _CONTEXT,
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="log debug messages too"),
    metrics_port: int | None = _METRICS_PORT,
    health_thresholds: Path | None = _THRESHOLDS,
    gpudirect: bool = _GPUDIRECT,
) -> None:
    """Run the node agent: discover + doctor this node, publish its NodeReport on change."""
    _agent(node, root, interval, heartbeat, mode, once, kubeconfig, context, verbose,
           metrics_port, health_thresholds, gpudirect)


@operator_app.command("crds")
def crds(
    write: Path | None = typer.Option(None, "--write", help="write one YAML file per CRD into "
                                      "this directory (deploy/crds) instead of printing"),
) -> None:
    """Print (or write) the dualnet CRDs, generated from the spec and status models."""
    from dualnet.operator.crd import all_crds, to_yaml

    generated = all_crds()
    if write is None:
        typer.echo("---\n".join(to_yaml(c) for c in generated.values()), nl=False)
        return
    if not write.is_dir():
        raise UsageError(f"--write {write}: not a directory")
    for fname, crd in generated.items():
        (write / fname).write_text(to_yaml(crd))
        typer.echo(f"wrote {write / fname}")


@operator_app.command("nodes")
def nodes(
    kubeconfig: Path | None = _KUBECONFIG,
    context: str | None = _CONTEXT,
    output: OutputFormat = typer.Option(OutputFormat.TABLE, "--output", "-o",
                                        help=OUTPUT_HELP),
) -> None:
    """Per-node readiness from the NodeReports: ready, reason, heartbeat, top finding."""
    from rich.table import Table

    from dualnet.cluster import list_node_reports, make_client

    async def _main() -> list[dict[str, Any]]:
        client = make_client(kubeconfig, context)
        try:
            return await list_node_reports(client)
        finally:
            await client.close()

    reports = asyncio.run(_main())
    rows = [
        {"node": (r.get("metadata") or {}).get("name"),
         "ready": (r.get("status") or {}).get("ready"),
         "reason": (r.get("status") or {}).get("reason"),
         "message": (r.get("status") or {}).get("message"),
         "heartbeat": (r.get("status") or {}).get("heartbeatTime")}
        for r in sorted(reports, key=lambda r: str((r.get("metadata") or {}).get("name")))
    ]

    def _table() -> Table:
        t = Table("node", "ready", "reason", "heartbeat", "message")
        for row in rows:
            t.add_row(str(row["node"]), "yes" if row["ready"] else "[red]no[/]",
                      str(row["reason"]), str(row["heartbeat"]), str(row["message"] or ""))
        return t

    emit(rows, output, _table)


def register(app: typer.Typer) -> None:
    """Add this layer's verbs to the dualnet app."""
    app.add_typer(operator_app)

    # The DaemonSet's entrypoint: the same command as `dualnet operator agent`.
    app.command(
        "agent",
        help="The node agent (same as `dualnet operator agent`; the DaemonSet's entrypoint).",
    )(agent)
