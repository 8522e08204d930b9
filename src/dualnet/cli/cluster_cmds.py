"""CLI verbs of the cluster layer: `apply`, `verify`, `bench`, `nccl-env`."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Coroutine
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from dualnet.cli.output import (
    OUTPUT_HELP,
    OutputFormat,
    check_output_file,
    emit,
    stderr,
    write_output_file,
)
from dualnet.errors import UsageError

if TYPE_CHECKING:
    from rich.console import RenderableType

    from dualnet.verify.bench_models import BenchReport

T = TypeVar("T")

KUBECONFIG_HELP = "kubeconfig file (default: in-cluster, then $KUBECONFIG, then ~/.kube/config)"
CONTEXT_HELP = "kubeconfig context (default: its current-context)"


def register(app: typer.Typer) -> None:
    """Add this layer's verbs to the dualnet app."""
    app.command("apply")(apply_cmd)
    app.command("verify")(verify_cmd)
    app.command("bench")(bench_cmd)
    app.command("nccl-env")(nccl_env_cmd)


def _run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run one async flow; API failures become ClusterError (printed without a traceback)."""
    import httpx2
    from lightkube import ConfigError
    from lightkube.core.exceptions import ApiError

    from dualnet.cluster.client import api_error_message
    from dualnet.cluster.errors import ClusterError

    try:
        return asyncio.run(make())
    except ApiError as exc:
        raise ClusterError(f"the API server refused a request: {api_error_message(exc)}") from exc
    except httpx2.HTTPError as exc:
        raise ClusterError(f"talking to the API server failed: {type(exc).__name__}: {exc}",
                           hint="check --kubeconfig/--context and that the cluster is up") from exc
    except ConfigError as exc:
        raise UsageError(f"kubeconfig: {exc}",
                         hint="check the user/credentials of the context") from exc
    except OSError as exc:
        # e.g. a certificate file named in the kubeconfig that does not exist
        raise ClusterError(f"cannot connect to the API server: {exc}") from exc


async def _with_client(kubeconfig: Path | None, context: str | None,
                       body: Callable[[Any], Awaitable[T]]) -> T:
    from dualnet.cluster.client import make_client

    client = make_client(kubeconfig, context)
    try:
        return await body(client)
    finally:
        await client.close()


def _pods_arg(pods: str | None) -> list[str] | None:
    if pods is None:
        return None
    from dualnet.names import check_dns1123_label

    names = [p.strip() for p in pods.split(",") if p.strip()]
    if not names:
        raise UsageError("--pods: empty list", hint="give pod names separated by commas: a,b")
    return [check_dns1123_label(n, field="--pods") for n in names]


# --- apply -------------------------------------------------------------------------------------


class DryRun(StrEnum):
    NONE = "none"
    SERVER = "server"


def apply_cmd(
    path: Path = typer.Argument(..., help="`dualnet render` output: kustomize dir, YAML file, -"),
    kubeconfig: Path | None = typer.Option(None, "--kubeconfig", help=KUBECONFIG_HELP),
    context: str | None = typer.Option(None, "--context", help=CONTEXT_HELP),
    prune: bool = typer.Option(False, "--prune",
                               help="delete dualnet-owned objects of this network not rendered"),
    dry_run: DryRun = typer.Option(DryRun.NONE, "--dry-run",
                                   help="server: the API server checks every write and keeps "
                                   "nothing"),
    network: str | None = typer.Option(None, "--network",
                                       help="network name for objects without its label"),
    wait: bool = typer.Option(True, "--wait/--no-wait",
                              help="wait for DaemonSets, the RDMA resource and NADs"),
    timeout: float = typer.Option(300.0, "--timeout", help="seconds to wait"),
    min_nodes: int = typer.Option(1, "--min-nodes", help="nodes that must advertise the resource"),
    output: OutputFormat = typer.Option(OutputFormat.TABLE, "--output", "-o",
                                        help=OUTPUT_HELP),
) -> None:
    """Server-side apply rendered objects; wait until the network is usable, or say why not.

    Field manager dualnet; objects dualnet does not own are never touched."""
    from dualnet.cluster.apply import apply_objects
    from dualnet.cluster.objects import load_objects
    from dualnet.cluster.wait import targets_from_objects, wait_ready

    if timeout <= 0:
        raise UsageError(f"--timeout {timeout}: must be more than 0 seconds")
    if min_nodes < 1:
        raise UsageError(f"--min-nodes {min_nodes}: must be 1 or more")
    objects = load_objects(path)
    if not objects:
        raise UsageError(f"{path}: no objects to apply")
    server_dry = dry_run is DryRun.SERVER

    async def body(client: Any) -> Any:
        result = await apply_objects(client, objects, prune=prune, dry_run=server_dry,
                                     network=network)
        emit(result, output, lambda: _apply_table(result))
        if wait and not server_dry:
            target = targets_from_objects(objects, client.namespace or "default")
            target.min_nodes = min_nodes
            if not target.empty:
                from rich.console import Console

                console = Console(stderr=True) if output is OutputFormat.TABLE else None
                await wait_ready(client, target, timeout_s=timeout, console=console)
                if output is OutputFormat.TABLE:
                    stderr.print("[green]ready:[/] DaemonSets rolled out, resources advertised, "
                                 "NADs present")
        return result

    _run(lambda: _with_client(kubeconfig, context, body))


def _apply_table(result: Any) -> RenderableType:
    from rich.console import Group
    from rich.table import Table

    t = Table(title="dualnet apply" + (" (server dry run)" if result.dry_run else ""))
    for col in ("object", "action", "reason"):
        t.add_column(col)
    style = {"created": "green", "configured": "yellow", "unchanged": "dim",
             "skipped": "bold red", "pruned": "magenta"}
    for o in result.outcomes:
        t.add_row(o.ref, f"[{style[o.action.value]}]{o.action.value}[/]", o.reason or "")
    counts = ", ".join(f"{a}: {result.count(a)}" for a in type(result.outcomes[0].action)
                       if result.count(a)) if result.outcomes else "nothing"
    return Group(t, f"{counts}; {result.writes} write request(s)")


# --- verify ------------------------------------------------------------------------------------


def verify_cmd(
    pods: str | None = typer.Option(None, "--pods", help="existing pods to check: a,b"),
    namespace: str | None = typer.Option(None, "--namespace", "-n",
                                         help="default: the rendered test pod's, else default"),
    from_path: Path | None = typer.Option(None, "--from",
                                          help="`dualnet render` output with a test pod"),
    nad: str | None = typer.Option(None, "--nad", help="NAD for built test pods ([ns/]name)"),
    resource: str | None = typer.Option(None, "--resource",
                                        help="RDMA resource, e.g. rdma/rdma_shared_device"),
    image: str | None = typer.Option(None, "--image",
                                     help="test pod image (needs ip, ping, ibv_devinfo)"),
    device: str | None = typer.Option(None, "--device", help="RDMA device expected ACTIVE"),
    count: int = typer.Option(2, "--count", help="test pods to launch"),
    nccl: str | None = typer.Option(None, "--nccl", help="training pods a,b: read their NCCL "
                                    "log (NCCL_DEBUG=INFO) and prove the transport, HCAs, "
                                    "GDRDMA, or name why sockets were used"),
    gpudirect: bool = typer.Option(False, "--gpudirect", help="with --nccl: GPUDirect RDMA "
                                   "was asked, so GDRDMA must appear"),
    dra: bool = typer.Option(False, "--dra", help="with --pods: the pods got their NICs "
                             "through DRA (dranet): check each claim's device conditions and "
                             "networkData against `ip addr` in the pod"),
    rdma_exclusive: bool = typer.Option(False, "--rdma-exclusive", help="with --dra: RDMA "
                                        "netns exclusive, so RDMALinkReady must be True too"),
    kubeconfig: Path | None = typer.Option(None, "--kubeconfig", help=KUBECONFIG_HELP),
    context: str | None = typer.Option(None, "--context", help=CONTEXT_HELP),
    timeout: float = typer.Option(300.0, "--timeout", help="seconds to wait for pods"),
    keep: bool = typer.Option(False, "--keep", help="leave launched pods running"),
    report: Path | None = typer.Option(None, "--report", help="also write a Markdown report"),
    output: OutputFormat = typer.Option(OutputFormat.TABLE, "--output", "-o",
                                        help=OUTPUT_HELP),
) -> None:
    """The guide's step-7 checks on live pods, as a table of pass/fail with evidence."""
    from dualnet.cluster.objects import load_objects
    from dualnet.names import check_dns1123_label
    from dualnet.verify.outcome import exit_status
    from dualnet.verify.report import markdown_report, verify_table
    from dualnet.verify.run import run_verify

    if namespace is not None:
        check_dns1123_label(namespace, field="--namespace")
    names = _pods_arg(pods)
    if count < 1:
        raise UsageError(f"--count {count}: must be 1 or more")
    objects = load_objects(from_path) if from_path is not None else None
    if report is not None:
        check_output_file(report, "--report")
    nccl_pods = _pods_arg(nccl)
    if dra and not names:
        raise UsageError("--dra needs --pods", hint="name the DRA pods to check: --pods a,b")

    async def body(client: Any) -> Any:
        if dra and names:
            from dualnet.verify.dra_run import run_dra_verify

            return await run_dra_verify(client, namespace or "default", names,
                                        exclusive_rdma=rdma_exclusive)
        if nccl_pods is not None:
            from dualnet.verify.nccl_verify import run_nccl_verify

            return await run_nccl_verify(client, namespace or "default", nccl_pods,
                                         expected_hcas=[device] if device else None,
                                         gpudirect=gpudirect)
        return await run_verify(client, namespace=namespace, pods=names, objects=objects,
                                nad=nad, resource=resource, image=image,
                                expected_device=device, count=count, timeout_s=timeout,
                                keep=keep)

    result = _run(lambda: _with_client(kubeconfig, context, body))
    if report is not None:
        write_output_file(report, markdown_report(None, result), "--report")
    emit(result, output, lambda: verify_table(result))
    raise typer.Exit(exit_status(c.status for c in result.checks))


# --- bench -------------------------------------------------------------------------------------


def bench_cmd(
    pods: str | None = typer.Option(None, "--pods", help="server,client pods (two nodes)"),
    namespace: str = typer.Option("default", "--namespace", "-n",
                                  help="namespace of the benchmark pods"),
    gpu: bool = typer.Option(False, "--gpu", help="ib_write_bw --use_cuda (GPUDirect RDMA)"),
    nodes: int = typer.Option(0, "--nodes", help="run NCCL all_reduce_perf across N nodes"),
    gpus_per_node: int = typer.Option(1, "--gpus-per-node",
                                      help="GPUs each NCCL pod uses (with --nodes)"),
    mode: str | None = typer.Option(None, "--mode", help="the network's mode (shared-roce, "
                                    "host-device, sriov, ...): host-device and sriov use the "
                                    "node-wide GID index; others, and unknown, set it per rank"),
    device: str | None = typer.Option(None, "--device", help="RDMA device (default: first "
                                      "ACTIVE in the pod)"),
    nad: str | None = typer.Option(None, "--nad", help="NAD for launched pods ([ns/]name)"),
    resource: str | None = typer.Option(None, "--resource", help="RDMA resource name"),
    network: str | None = typer.Option(None, "--network", help="dualnet network name"),
    dra: bool = typer.Option(False, "--dra", help="launch the pair from the bench Jobs "
                             "`render --target dra` wrote for --network (ResourceClaims)"),
    image: str | None = typer.Option(None, "--image", help="image with perftest/nccl-tests"),
    host_report: Path | None = typer.Option(None, "--host-report",
                                            help="`dualnet discover -o json` of a node: line "
                                            "rate and NCCL settings"),
    duration: int = typer.Option(10, "--duration", help="ib_write_bw seconds"),
    floor: float = typer.Option(0.8, "--floor", help="ib_write_bw must reach this fraction of "
                                "the port's line rate"),
    nccl_floor: float = typer.Option(0.7, "--nccl-floor", help="all_reduce_perf bus bandwidth "
                                     "must reach this fraction of the node's line rate"),
    kubeconfig: Path | None = typer.Option(None, "--kubeconfig", help=KUBECONFIG_HELP),
    context: str | None = typer.Option(None, "--context", help=CONTEXT_HELP),
    timeout: float = typer.Option(900.0, "--timeout", help="seconds for pods/jobs"),
    report: Path | None = typer.Option(None, "--report", help="write a Markdown report here"),
    output: OutputFormat = typer.Option(OutputFormat.TABLE, "--output", "-o",
                                        help=OUTPUT_HELP),
) -> None:
    """ib_write_bw between pods on two nodes, NCCL all_reduce_perf across N; vs line rate."""
    from dualnet.host.models import HostReport
    from dualnet.names import check_dns1123_label, check_rdma_device
    from dualnet.verify.bench import BenchRequest, run_bench
    from dualnet.verify.bench_objects import validate_nodes
    from dualnet.verify.outcome import exit_status
    from dualnet.verify.report import bench_table, markdown_report

    check_dns1123_label(namespace, field="--namespace")
    names = _pods_arg(pods)
    if names is not None and len(names) != 2:
        raise UsageError(f"--pods: give exactly two pods (server,client), got {len(names)}")
    if device is not None:
        check_rdma_device(device, field="--device")
    if nodes:
        validate_nodes(nodes)
        if not (nad and resource):
            raise UsageError(f"--nodes {nodes}: NCCL pods need --nad and --resource",
                             hint="e.g. --nad rdma-net --resource rdma/rdma_shared_device")
    if duration < 1:
        raise UsageError(f"--duration {duration}: must be at least 1 second")
    facts: HostReport | None = None
    if host_report is not None:
        from dualnet.host.report_file import load_host_report

        facts = load_host_report(host_report, option="--host-report")
    if dra and names is not None:
        raise UsageError("--dra and --pods: give one of them",
                         hint="--pods benchmarks running pods (DRA ones too); --dra launches "
                         "the rendered bench Jobs' pods")
    if dra and not network:
        raise UsageError("--dra: give --network, the dualnet network whose bench Jobs to run",
                         hint="the spec's metadata.name, e.g. --dra --network hostdev-net")
    if names is None and not dra and not (nad and resource):
        raise UsageError("give --pods server,client, --dra --network NAME, or --nad and "
                         "--resource to launch them")
    if report is not None:
        check_output_file(report, "--report")
    for flag, value in (("--floor", floor), ("--nccl-floor", nccl_floor)):
        if not 0 < value <= 1:
            raise UsageError(f"{flag} {value}: must be a fraction of the line rate, 0 < f <= 1",
                             hint=f"e.g. {flag} 0.8")
    from dualnet.modes import Mode

    modes = [m.value for m in Mode]
    if mode is not None and mode not in modes:
        raise UsageError(f"--mode {mode!r}: not a mode", hint=f"one of: {', '.join(modes)}")
    req = BenchRequest(namespace=namespace, pods=names, gpu=gpu, nodes=nodes,
                       mode=Mode(mode) if mode is not None else None,
                       gpus_per_node=gpus_per_node, device=device, nad=nad, resource=resource,
                       network=network, dra=dra, image=image, facts=facts,
                       duration_s=duration, timeout_s=timeout, floor=floor,
                       nccl_floor=nccl_floor)

    async def body(client: Any) -> BenchReport:
        return await run_bench(client, req)

    result = _run(lambda: _with_client(kubeconfig, context, body))
    if report is not None:
        write_output_file(report, markdown_report(result), "--report")
    emit(result, output, lambda: bench_table(result))
    raise typer.Exit(exit_status(result.statuses()))


# --- nccl-env ----------------------------------------------------------------------------------


class EnvOutput(StrEnum):
    TABLE = "table"
    JSON = "json"
    ENV = "env"


def nccl_env_cmd(
    root: Path = typer.Option(Path("/"), "--root", help="filesystem root of the node (sysfs)"),
    training_netdev: list[str] | None = typer.Option(
        None, "--training-netdev", help="interface of the training network (repeatable)"),
    socket_ifname: str = typer.Option("eth0", "--socket-ifname",
                                      help="interface for NCCL's socket/bootstrap traffic"),
    mode: str | None = typer.Option(None, "--mode",
                                    help="network mode: host-device or sriov give a node-wide "
                                    "RoCE GID index; shared-roce (the default) leaves it to "
                                    "each pod"),
    output: EnvOutput = typer.Option(EnvOutput.TABLE, "--output", "-o",
                                     help="table, json or env (KEY=value lines)"),
    spec: Path | None = typer.Option(None, "--spec", help="TrainingNetwork spec: its selected "
                                     "interfaces are the training network, as plan has them"),
) -> None:
    """The NCCL_* settings a training pod on this node needs, from discovery."""
    from dualnet.cli.discover_cmds import check_root
    from dualnet.host.discover import discover
    from dualnet.modes import Mode
    from dualnet.plan.nccl import format_env, nccl_settings

    try:
        net_mode = Mode(mode) if mode is not None else None
    except ValueError as exc:
        raise UsageError(f"--mode {mode}: not a network mode",
                         hint="one of " + ", ".join(m.value for m in Mode)) from exc
    report = discover(check_root(root))
    netdevs = list(training_netdev or [])
    if spec is not None:
        # the same selection plan and render make for this node: one derivation, one answer
        from dualnet.plan import build_plan
        from dualnet.spec import load_spec

        network = load_spec(spec)
        if not netdevs:
            plan = build_plan(network, [report])
            netdevs = [n.netdev for h in plan.hosts for n in h.nics]
        if net_mode is None:
            net_mode = network.spec.mode
    settings = nccl_settings(report, netdevs or None, socket_ifname, net_mode)
    for w in settings.warnings:
        stderr.print(f"[yellow]warning:[/] {w}", highlight=False)
    if output is EnvOutput.ENV:
        sys.stdout.write(format_env(settings.env))
    elif output is EnvOutput.JSON:
        sys.stdout.write(json.dumps(settings.env, indent=2) + "\n")
    else:
        from rich.console import Console, Group
        from rich.table import Table

        t = Table(title="NCCL settings")
        t.add_column("variable")
        t.add_column("value")
        for k, v in settings.env.items():
            t.add_row(k, v)
        Console().print(Group(t, *(f"- {n}" for n in settings.notes)))
