"""`dualnet bench`: RDMA traffic between pods on two nodes (ib_write_bw, optionally from GPU
memory) and NCCL all_reduce_perf across N nodes, each compared with the ports' line rate and
ended in one of the three outcomes (bench_models). `run_bench` is the whole flow; the CLI maps
its options to a `BenchRequest`."""

from __future__ import annotations

import asyncio
import copy
import datetime
import time
from typing import Any, Literal

from lightkube import AsyncClient
from pydantic import BaseModel, Field

from dualnet import labels
from dualnet.cluster.apply import apply_objects
from dualnet.cluster.dra_reads import get_resource_claim, list_jobs
from dualnet.cluster.errors import ClusterError
from dualnet.cluster.pods import (
    ExecResult,
    create_pod,
    delete_objects,
    delete_pod,
    exec_in,
    get_pod,
    list_pods,
    pod_log,
    wait_running,
)
from dualnet.cluster.resources import MPIJOB_API_VERSION, MPIJOB_KIND, ResourceResolver
from dualnet.errors import UsageError
from dualnet.host.discover import sysfs_rate_gbps
from dualnet.host.models import HostReport, PortState
from dualnet.modes import Mode
from dualnet.parse.errors import ParseError
from dualnet.parse.ibv_devinfo import parse_ibv_devinfo
from dualnet.plan.nccl import NODE_WIDE_GID_MODES, SOCKET_IFNAME, ib_hca_value, nccl_settings
from dualnet.verify.bench_models import (
    DEFAULT_FLOOR,
    DEFAULT_NCCL_FLOOR,
    BenchReport,
    NcclBench,
    RdmaBench,
)
from dualnet.verify.bench_objects import (
    NcclJobSpec,
    helper_objects,
    indexed_job,
    mpijob,
    ssh_keypair,
)
from dualnet.verify.checks import SECONDARY_IF, net1_ips, training_interface
from dualnet.verify.nccl_log import NCCL_DEBUG_ENV, nccl_checks
from dualnet.verify.nccl_tests import parse_all_reduce_perf
from dualnet.verify.perftest import parse_ib_write_bw
from dualnet.verify.testpods import DEFAULT_IMAGE, RUN_LABEL, build_test_pod, run_id

Engine = Literal["mpijob", "indexed-job"]
# what a container runtime says when the command is not in the image
_NOT_FOUND = ("executable file not found", "not found in $PATH", "No such file or directory")


# --- line rate -----------------------------------------------------------------------------


def line_rate_gbps(report: HostReport, hcas: list[str]) -> float | None:
    """Sum of the line rates of the ACTIVE ports named in `hcas` (None if none is known).

    `mlx5_0:1` is that port only; a bare `mlx5_0` is every ACTIVE port of the device. A port
    named twice (`mlx5_0` and `mlx5_0:1`) counts once."""
    ports: dict[tuple[str, int], float] = {}
    for name in hcas:
        dev_name, _, port_s = name.lstrip("=^").partition(":")
        dev = report.rdma_device(dev_name)
        if dev is None:
            continue
        wanted = int(port_s) if port_s.isdigit() else None
        for port in dev.ports:
            if wanted is not None and port.number != wanted:
                continue
            if port.state is PortState.ACTIVE and port.rate_gbps is not None:
                ports[(dev.name, port.number)] = port.rate_gbps
    return sum(ports.values()) if ports else None


def pick_device(ibv_devinfo_text: str) -> tuple[str, int] | None:
    """The first device with an ACTIVE port in a pod's `ibv_devinfo`, and that port."""
    try:
        devices = parse_ibv_devinfo(ibv_devinfo_text)
    except ParseError:
        return None
    for d in devices:
        for p in d.ports:
            if p.state is PortState.ACTIVE:
                return d.name, p.number
    return None


def tool_problem(tool: str, res: ExecResult) -> str | None:
    """'could not measure' text when `res` says the tool is not in the image, else None."""
    text = res.stderr + res.stdout
    if res.exit_code in (126, 127) or any(s in text for s in _NOT_FOUND):
        return f"{tool} is not in the image (exit {res.exit_code}): use an image with perftest"
    return None


# --- ib_write_bw between two pods ------------------------------------------------------------


def perftest_command(device: str, *, gpu: bool, duration_s: int, qps: int,
                     server_ip: str | None, port: int = 1) -> list[str]:
    """One side of the test: rdma_cm (-R) connects over net1's address, so the right RoCE GID
    is chosen for the pod's own interface without knowing its index."""
    cmd = ["ib_write_bw", "-d", device, "-i", str(port), "-R", "--report_gbits", "-F", "-D",
           str(duration_s), "-q", str(qps)]
    if gpu:
        cmd.append("--use_cuda=0")
    if server_ip:
        cmd.append(server_ip)
    return cmd


async def _pod_facts(client: AsyncClient, name: str, namespace: str) -> tuple[str | None, str]:
    """The pod's node and net1 address: Multus's network-status, or, for a DRA pod, the
    networkData its driver wrote into the ResourceClaim's status (dranet has no Multus)."""
    pod = await get_pod(client, name, namespace)
    if pod is None:
        raise UsageError(f"pod {namespace}/{name} not found", hint="check --pods and --namespace")
    ann = (pod.get("metadata") or {}).get("annotations") or {}
    iface = training_interface(ann)  # eth0 for an OVS offload pod, else net1
    ips = net1_ips(ann.get(labels.NETWORK_STATUS_ANNOTATION), iface) or await _claim_ips(
        client, pod, namespace)
    if not ips:
        raise UsageError(f"pod {namespace}/{name} has no {iface} address in its network-status "
                         "or its ResourceClaims' networkData",
                         hint="run `dualnet verify` (`--dra` for claims) first")
    return (pod.get("spec") or {}).get("nodeName"), ips[0]


async def _claim_ips(client: AsyncClient, pod: dict[str, Any], namespace: str) -> list[str]:
    """net1's addresses (prefix dropped) from the pod's allocated ResourceClaims."""
    out: list[str] = []
    for entry in (pod.get("status") or {}).get("resourceClaimStatuses") or []:
        name = entry.get("resourceClaimName")
        claim = await get_resource_claim(client, name, namespace) if name else None
        for dev in ((claim or {}).get("status") or {}).get("devices") or []:
            data = dev.get("networkData") or {}
            if data.get("interfaceName") in (None, SECONDARY_IF):
                out.extend(str(ip).split("/")[0] for ip in data.get("ips") or [])
    return out


async def run_ib_write_bw(
    client: AsyncClient,
    namespace: str,
    server: str,
    client_pod: str,
    device: str,
    *,
    port: int = 1,
    gpu: bool = False,
    duration_s: int = 10,
    qps: int = 4,
    line_rate: float | None = None,
    floor: float = DEFAULT_FLOOR,
) -> RdmaBench:
    server_node, server_ip = await _pod_facts(client, server, namespace)
    client_node, _ = await _pod_facts(client, client_pod, namespace)
    srv_cmd = perftest_command(device, gpu=gpu, duration_s=duration_s, qps=qps, server_ip=None,
                               port=port)
    cli_cmd = perftest_command(device, gpu=gpu, duration_s=duration_s, qps=qps,
                               server_ip=server_ip, port=port)
    timeout = duration_s + 60.0
    bench = RdmaBench(server=f"{namespace}/{server}", client=f"{namespace}/{client_pod}",
                      server_node=server_node, client_node=client_node, device=device,
                      port=port, gpu=gpu, command=cli_cmd, floor_fraction=floor)

    async def _client_side() -> ExecResult:
        await asyncio.sleep(2.0)  # the server must be listening first
        return await exec_in(client, client_pod, namespace, cli_cmd, timeout_s=timeout)

    srv, cli = await asyncio.gather(
        exec_in(client, server, namespace, srv_cmd, timeout_s=timeout), _client_side())
    if (missing := tool_problem("ib_write_bw", cli)) is not None:
        bench.problem = missing
        return bench
    if cli.exit_code != 0 and "#bytes" not in cli.stdout:
        bench.problem = (f"ib_write_bw client in {client_pod} failed (exit {cli.exit_code}): "
                         f"{(cli.stderr or cli.stdout).strip()[-300:]}; server said: "
                         f"{(srv.stderr or srv.stdout).strip()[-200:]}")
        return bench
    try:
        bench.result = parse_ib_write_bw(cli.stdout)
    except ParseError as exc:
        bench.problem = f"ib_write_bw output did not parse: {exc.message}"
        return bench
    if line_rate is None:
        rate = await exec_in(client, client_pod, namespace,
                             ["cat", f"/sys/class/infiniband/{device}/ports/{port}/rate"])
        line_rate = sysfs_rate_gbps(rate.stdout) if rate.exit_code == 0 else None
    bench.line_rate_gbps = line_rate
    return bench


# --- NCCL across nodes -------------------------------------------------------------------------


async def nccl_engine(client: AsyncClient) -> Engine:
    """The MPI Operator's MPIJob when its CRD is installed, else an Indexed Job."""
    installed = await ResourceResolver(client).crd_installed(MPIJOB_API_VERSION, MPIJOB_KIND)
    return "mpijob" if installed else "indexed-job"


def nccl_objects(spec: NcclJobSpec, engine: Engine) -> list[Any]:
    if engine == "mpijob":
        return [*helper_objects(spec), mpijob(spec)]
    public, private = ssh_keypair()
    return [*helper_objects(spec), *indexed_job(spec, public, private)]


async def _launcher_pod(client: AsyncClient, spec: NcclJobSpec,
                        engine: str) -> dict[str, Any] | None:
    for d in await list_pods(client, spec.namespace, {RUN_LABEL: spec.run}):
        meta = d.get("metadata") or {}
        if meta.get("labels", {}).get(RUN_LABEL) != spec.run:
            continue
        ann = meta.get("annotations") or {}
        is_launcher = (
            meta.get("labels", {}).get("training.kubeflow.org/job-role") == "launcher"
            if engine == "mpijob"
            else ann.get("batch.kubernetes.io/job-completion-index") == "0"
        )
        if is_launcher:
            return d
    return None


async def _finished_launcher(client: AsyncClient, spec: NcclJobSpec, engine: Engine,
                             timeout_s: float) -> tuple[dict[str, Any] | None, str | None]:
    deadline = time.monotonic() + timeout_s
    phase: str | None = None
    while True:
        pod = await _launcher_pod(client, spec, engine)
        phase = ((pod or {}).get("status") or {}).get("phase")
        if pod is not None and phase in ("Succeeded", "Failed"):
            return pod, phase
        if time.monotonic() > deadline:
            return None, phase
        await asyncio.sleep(5)


async def run_nccl(
    client: AsyncClient,
    spec: NcclJobSpec,
    *,
    engine: Engine | None = None,
    timeout_s: float = 900.0,
    line_rate_per_node: float | None = None,
    floor: float = DEFAULT_NCCL_FLOOR,
    expected_hcas: list[str] | None = None,
    gpudirect: bool = False,
    keep: bool = False,
) -> NcclBench:
    eng = engine or await nccl_engine(client)
    spec = spec.model_copy(update={"env": {**spec.env, **NCCL_DEBUG_ENV}})
    objects = nccl_objects(spec, eng)
    bench = NcclBench(engine=eng, nodes=spec.nodes, gpus_per_node=spec.gpus_per_node,
                      env=spec.env, line_rate_gbps_per_node=line_rate_per_node,
                      floor_fraction=floor)
    await apply_objects(client, objects, network=spec.network)
    try:
        pod, phase = await _finished_launcher(client, spec, eng, timeout_s)
        if pod is None:
            bench.problem = (f"nccl-tests launcher not finished after {timeout_s:g}s "
                             f"(phase {phase})")
            return bench
        name = pod["metadata"]["name"]
        text = await pod_log(client, name, spec.namespace)
    finally:
        if not keep:
            await delete_objects(client, objects)
    # mpirun forwards every rank's output: NCCL's INFO lines are in the launcher's log
    bench.checks = nccl_checks(f"{spec.namespace}/{name}", text, expected_hcas=expected_hcas,
                               gpudirect=gpudirect)
    try:
        bench.result = parse_all_reduce_perf(text)
    except ParseError as exc:
        tail = " | ".join(text.strip().splitlines()[-5:])
        bench.problem = f"nccl-tests gave no result ({phase}): {exc.reason}; last lines: {tail}"
    return bench


# --- the whole `bench` flow ----------------------------------------------------------------------


class BenchRequest(BaseModel):
    """What `dualnet bench` was asked to do (the CLI's options, checked)."""

    namespace: str = "default"
    pods: list[str] | None = Field(default=None, description="server,client; None: launch two")
    gpu: bool = False
    nodes: int = Field(default=0, description="NCCL across N nodes; 0: none")
    mode: Mode | None = Field(default=None, description="the network's mode; None: unknown, "
                              "treated as shared (each rank sets its own RoCE GID)")
    gpus_per_node: int = 1
    device: str | None = None
    nad: str | None = None
    resource: str | None = None
    network: str | None = None
    dra: bool = False  # launch the pods from `render --target dra`'s bench Jobs of `network`
    image: str | None = None
    facts: HostReport | None = None
    duration_s: int = 10
    timeout_s: float = 900.0
    floor: float = Field(default=DEFAULT_FLOOR, gt=0, le=1)
    nccl_floor: float = Field(default=DEFAULT_NCCL_FLOOR, gt=0, le=1)


async def _launch_pair(client: AsyncClient, req: BenchRequest, run: str,
                       launched: list[str]) -> str | None:
    """Two test pods (two nodes if the scheduler can); the reason when they never ran."""
    if req.nad is None or req.resource is None:
        raise UsageError("give --pods server,client, or --nad and --resource to launch them")
    for i in range(2):
        pod = build_test_pod(f"dualnet-bench-{run}-{i}", req.namespace,
                             network=req.network or req.nad, nad=req.nad,
                             resource=req.resource, image=req.image or DEFAULT_IMAGE, run=run,
                             role="bench", gpus=1 if req.gpu else 0)
        await create_pod(client, pod)
        launched.append(pod["metadata"]["name"])
    try:
        for n in launched:
            await wait_running(client, n, req.namespace, timeout_s=req.timeout_s)
    except ClusterError as exc:  # never Running: timeout, image pull, unschedulable
        return f"test pods never became Ready: {exc.message}"
    return None


async def _launch_dra_pair(client: AsyncClient, req: BenchRequest, run: str,
                           launched: list[str]) -> str | None:
    """The server and client pods of `render --target dra`'s bench Jobs (their pod templates:
    node, claim, image), kept alive so ib_write_bw is run in them as for `--pods`."""
    if not req.network:
        raise UsageError("--dra: give --network, the dualnet network whose bench Jobs to run",
                         hint="the spec's metadata.name, as `render --target dra` labels them")
    jobs = await list_jobs(client, req.namespace, {labels.NETWORK: req.network,
                                                   labels.ROLE: "bench"})
    by_side = {(j.get("metadata") or {}).get("labels", {}).get(labels.BENCH_SIDE): j
               for j in jobs}
    missing = [side for side in ("server", "client") if side not in by_side]
    if missing:
        raise UsageError(f"--dra: no bench Job ({', '.join(missing)}) of network {req.network} "
                         f"in namespace {req.namespace}",
                         hint="dualnet render --target dra --out DIR && kubectl apply -k DIR "
                         "(the Jobs stay suspended)")
    for i, side in enumerate(("server", "client")):
        launched.append(f"dualnet-bench-{run}-{i}")
        await create_pod(client, bench_pod_from_job(by_side[side], launched[-1], run))
    try:
        for n in launched:
            await wait_running(client, n, req.namespace, timeout_s=req.timeout_s)
    except ClusterError as exc:  # never Running: claim not allocated, unschedulable, ...
        return (f"bench pods never became Ready: {exc.message} (`dualnet verify --dra --pods "
                f"{','.join(launched)}` shows the claims)")
    return None


def bench_pod_from_job(job: dict[str, Any], name: str, run: str) -> dict[str, Any]:
    """A pod with the Job's pod template (nodeSelector, resourceClaims, image, env) that
    sleeps, so `dualnet bench` runs and times ib_write_bw in it itself."""
    template = copy.deepcopy(((job.get("spec") or {}).get("template")) or {})
    spec = template.get("spec") or {}
    for c in spec.get("containers") or []:
        c["command"] = ["sleep", "infinity"]
        c.pop("args", None)
    meta = job.get("metadata") or {}
    tmeta = template.get("metadata") or {}
    pod_meta: dict[str, Any] = {"name": name, "namespace": meta.get("namespace"),
                                "labels": {**(tmeta.get("labels") or {}), RUN_LABEL: run}}
    if tmeta.get("annotations"):  # the SR-IOV pair's NAD (k8s.v1.cni.cncf.io/networks)
        pod_meta["annotations"] = dict(tmeta["annotations"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec}


async def _device_port(client: AsyncClient, req: BenchRequest,
                       pod: str) -> tuple[str, int] | str:
    """The device and port to test (--device, else the first ACTIVE one in the pod), or why
    none could be found."""
    info = await exec_in(client, pod, req.namespace, ["ibv_devinfo"])
    if (missing := tool_problem("ibv_devinfo", info)) is not None and req.device is None:
        return missing
    picked = pick_device(info.stdout)
    if req.device is not None:
        name, _, port_s = req.device.partition(":")
        if port_s.isdigit():
            return name, int(port_s)
        try:
            ports = [p.number for d in parse_ibv_devinfo(info.stdout) if d.name == name
                     for p in d.ports if p.state is PortState.ACTIVE]
        except ParseError:
            ports = []
        return name, ports[0] if ports else 1
    if picked is None:
        return f"no ACTIVE RDMA port visible in {pod} (run `dualnet verify`, or pass --device)"
    return picked


async def run_bench(client: AsyncClient, req: BenchRequest) -> BenchReport:
    run = run_id()
    launched: list[str] = []
    notes: list[str] = []
    rdma: list[RdmaBench] = []
    dev: str | None = req.device.partition(":")[0] if req.device else None
    try:
        pods = req.pods
        problem = None
        if pods is None:
            launch = _launch_dra_pair if req.dra else _launch_pair
            problem = await launch(client, req, run, launched)
            pods = launched
        if problem is None:
            found = await _device_port(client, req, pods[1])
            if isinstance(found, str):
                problem = found
            else:
                dev, port = found
                rate = line_rate_gbps(req.facts, [f"{dev}:{port}"]) if req.facts else None
                rdma.append(await run_ib_write_bw(
                    client, req.namespace, pods[0], pods[1], dev, port=port, gpu=req.gpu,
                    duration_s=req.duration_s, line_rate=rate, floor=req.floor))
                if rdma[0].server_node == rdma[0].client_node:
                    notes.append(f"both pods ran on node {rdma[0].server_node}: traffic did not "
                                 "cross the fabric")
        if problem is not None:
            rdma.append(RdmaBench(server=f"{req.namespace}/{pods[0] if pods else '?'}",
                                  client=f"{req.namespace}/{pods[1] if len(pods) > 1 else '?'}",
                                  device=dev or "?", gpu=req.gpu, problem=problem,
                                  floor_fraction=req.floor))
    finally:
        for n in launched:
            await delete_pod(client, n, req.namespace)
    nccl = await _bench_nccl(client, req, run, dev, notes) if req.nodes else None
    created = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return BenchReport(namespace=req.namespace, created=created, rdma=rdma, nccl=nccl,
                       notes=notes)


async def _bench_nccl(client: AsyncClient, req: BenchRequest, run: str, dev: str | None,
                      notes: list[str]) -> NcclBench:
    if req.nad is None or req.resource is None:
        raise UsageError(f"--nodes {req.nodes}: NCCL pods need --nad and --resource",
                         hint="e.g. --nad rdma-net --resource rdma/rdma_shared_device")
    hcas = [dev] if dev else []
    env = {"NCCL_SOCKET_IFNAME": SOCKET_IFNAME}
    if dev:
        env["NCCL_IB_HCA"] = ib_hca_value([dev])
    per_node = None
    # the GID index is a per-pod fact unless the pod owns the device's whole table
    per_pod = req.mode not in NODE_WIDE_GID_MODES
    if req.facts is not None:
        settings = nccl_settings(req.facts, mode=req.mode)
        env, hcas, per_pod = dict(settings.env), settings.hcas, settings.per_pod_gid
        notes.extend(settings.warnings)
        per_node = line_rate_gbps(req.facts, settings.hcas)
    else:
        notes.append("no --host-report: NCCL_IB_HCA taken from the device under test; line "
                     "rate per node unknown")
    notes.append(gid_selection_note(per_pod, env, req.mode))
    spec = NcclJobSpec(name=f"dualnet-nccl-{run}", namespace=req.namespace,
                       network=req.network or req.nad, nad=req.nad, resource=req.resource,
                       image=req.image or DEFAULT_IMAGE, nodes=req.nodes,
                       gpus_per_node=req.gpus_per_node, env=env, run=run,
                       per_pod_gid=per_pod)
    return await run_nccl(client, spec, timeout_s=req.timeout_s, line_rate_per_node=per_node,
                          floor=req.nccl_floor, expected_hcas=hcas, gpudirect=req.gpu)


def gid_selection_note(per_pod: bool, env: dict[str, str], mode: Mode | None) -> str:
    """How the NCCL ranks got their RoCE GID, as the report says it."""
    if per_pod:
        return ("NCCL ranks start through `dualnet-pod nccl-exec`: each sets NCCL_IB_GID_INDEX "
                "and NCCL_IB_ADDR_RANGE from its own net1 address (shared device: one GID per "
                f"pod; mode {mode or 'unknown, taken as shared'})")
    index = env.get("NCCL_IB_GID_INDEX")
    return (f"NCCL ranks use the node-wide settings ({mode}: the pod owns the device's whole "
            "GID table)" + (f", NCCL_IB_GID_INDEX={index}" if index else ""))
