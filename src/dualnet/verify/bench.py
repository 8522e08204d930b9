"""`dualnet bench`: RDMA traffic between pods on two nodes (ib_write_bw, optionally from GPU
memory) and NCCL all_reduce_perf across N nodes, each compared with the ports' line rate."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any, Literal

from lightkube import AsyncClient
from pydantic import BaseModel, Field

from dualnet import labels
from dualnet.cluster.apply import apply_objects
from dualnet.cluster.errors import ClusterError, WaitTimeoutError
from dualnet.cluster.pods import (
    ExecResult,
    delete_objects,
    exec_in,
    get_pod,
    list_pods,
    pod_log,
)
from dualnet.cluster.resources import MPIJOB_API_VERSION, MPIJOB_KIND, ResourceResolver
from dualnet.host.models import HostReport, PortState
from dualnet.verify.bench_objects import (
    NcclJobSpec,
    indexed_job,
    mpijob,
    ssh_keypair,
)
from dualnet.verify.checks import net1_ips
from dualnet.verify.nccl_tests import NcclTestResult, parse_all_reduce_perf
from dualnet.verify.perftest import PerftestResult, parse_ib_write_bw
from dualnet.verify.testpods import RUN_LABEL

_RATE = re.compile(r"^\s*([\d.]+)\s*Gb/sec")


class RdmaBench(BaseModel):
    server: str
    client: str
    server_node: str | None = None
    client_node: str | None = None
    device: str
    gpu: bool = False
    command: list[str]
    result: PerftestResult
    line_rate_gbps: float | None = None

    @property
    def measured_gbps(self) -> float:
        return self.result.best_avg_gbps

    @property
    def reference_gbps(self) -> float | None:
        if self.line_rate_gbps is None:
            return None
        # a bidirectional run moves data both ways at once: twice the line rate is the ceiling
        return self.line_rate_gbps * (2 if self.result.bidirectional else 1)

    @property
    def percent_of_line_rate(self) -> float | None:
        ref = self.reference_gbps
        return None if not ref else 100.0 * self.measured_gbps / ref


class NcclBench(BaseModel):
    engine: Literal["mpijob", "indexed-job"]
    nodes: int
    gpus_per_node: int
    env: dict[str, str] = Field(default_factory=dict)
    result: NcclTestResult
    line_rate_gbps_per_node: float | None = Field(
        default=None, description="sum of the training ports of one node")

    @property
    def peak_busbw_gbps(self) -> float:
        return self.result.peak_busbw_gbs * 8

    @property
    def reference_gbps(self) -> float | None:
        # all_reduce bus bandwidth is per rank; each rank's share of its node's ports
        if self.line_rate_gbps_per_node is None:
            return None
        return self.line_rate_gbps_per_node / max(1, self.result.ranks_per_host)

    @property
    def percent_of_line_rate(self) -> float | None:
        ref = self.reference_gbps
        return None if not ref else 100.0 * self.peak_busbw_gbps / ref


class BenchReport(BaseModel):
    namespace: str
    created: str = Field(description="UTC time the run finished")
    rdma: list[RdmaBench] = Field(default_factory=list)
    nccl: NcclBench | None = None
    notes: list[str] = Field(default_factory=list)


# --- line rate -----------------------------------------------------------------------------


def parse_sysfs_rate(text: str) -> float | None:
    """'400 Gb/sec (4X NDR)' -> 400.0, as discovery reads ports/N/rate."""
    m = _RATE.match(text)
    return float(m.group(1)) if m else None


def line_rate_gbps(report: HostReport, devices: list[str]) -> float | None:
    """Sum of RdmaPort.rate_gbps over the ACTIVE ports of `devices` (None if unknown)."""
    total, known = 0.0, False
    for name in devices:
        dev = report.rdma_device(name.split(":", 1)[0])
        if dev is None:
            continue
        for port in dev.ports:
            if port.state is PortState.ACTIVE and port.rate_gbps is not None:
                total += port.rate_gbps
                known = True
    return total if known else None


# --- ib_write_bw between two pods ------------------------------------------------------------


def perftest_command(device: str, *, gpu: bool, duration_s: int, qps: int,
                     server_ip: str | None) -> list[str]:
    """One side of the test: rdma_cm (-R) connects over net1's address, so the right RoCE GID
    is chosen for the pod's own interface without knowing its index."""
    cmd = ["ib_write_bw", "-d", device, "-R", "--report_gbits", "-F", "-D", str(duration_s),
           "-q", str(qps)]
    if gpu:
        cmd.append("--use_cuda=0")
    if server_ip:
        cmd.append(server_ip)
    return cmd


async def _pod_facts(client: AsyncClient, name: str, namespace: str) -> tuple[str | None, str]:
    pod = await get_pod(client, name, namespace)
    if pod is None:
        raise ClusterError(f"pod {namespace}/{name} not found")
    ann = (pod.get("metadata") or {}).get("annotations") or {}
    ips = net1_ips(ann.get(labels.NETWORK_STATUS_ANNOTATION))
    if not ips:
        raise ClusterError(f"pod {namespace}/{name} has no net1 address in its network-status",
                           hint="run `dualnet verify` first")
    return (pod.get("spec") or {}).get("nodeName"), ips[0]


async def run_ib_write_bw(
    client: AsyncClient,
    namespace: str,
    server: str,
    client_pod: str,
    device: str,
    *,
    gpu: bool = False,
    duration_s: int = 10,
    qps: int = 4,
    line_rate: float | None = None,
) -> RdmaBench:
    server_node, server_ip = await _pod_facts(client, server, namespace)
    client_node, _ = await _pod_facts(client, client_pod, namespace)
    srv_cmd = perftest_command(device, gpu=gpu, duration_s=duration_s, qps=qps, server_ip=None)
    cli_cmd = perftest_command(device, gpu=gpu, duration_s=duration_s, qps=qps,
                               server_ip=server_ip)
    timeout = duration_s + 60.0

    async def _client_side() -> ExecResult:
        await asyncio.sleep(2.0)  # the server must be listening first
        return await exec_in(client, client_pod, namespace, cli_cmd, timeout_s=timeout)

    srv, cli = await asyncio.gather(
        exec_in(client, server, namespace, srv_cmd, timeout_s=timeout), _client_side())
    if cli.exit_code != 0 and "#bytes" not in cli.stdout:
        raise ClusterError(
            f"ib_write_bw client in {client_pod} failed (exit {cli.exit_code}): "
            f"{(cli.stderr or cli.stdout).strip()[-500:]}",
            hint=f"server side said: {(srv.stderr or srv.stdout).strip()[-300:]}")
    result = parse_ib_write_bw(cli.stdout)
    if line_rate is None:
        rate = await exec_in(client, client_pod, namespace,
                             ["cat", f"/sys/class/infiniband/{device}/ports/1/rate"])
        line_rate = parse_sysfs_rate(rate.stdout) if rate.exit_code == 0 else None
    return RdmaBench(server=f"{namespace}/{server}", client=f"{namespace}/{client_pod}",
                     server_node=server_node, client_node=client_node, device=device, gpu=gpu,
                     command=cli_cmd, result=result, line_rate_gbps=line_rate)


# --- NCCL across nodes -------------------------------------------------------------------------


async def nccl_engine(client: AsyncClient) -> Literal["mpijob", "indexed-job"]:
    """The MPI Operator's MPIJob when its CRD is installed, else an Indexed Job."""
    installed = await ResourceResolver(client).crd_installed(MPIJOB_API_VERSION, MPIJOB_KIND)
    return "mpijob" if installed else "indexed-job"


def nccl_objects(spec: NcclJobSpec, engine: Literal["mpijob", "indexed-job"]) -> list[Any]:
    if engine == "mpijob":
        return [mpijob(spec)]
    public, private = ssh_keypair()
    return indexed_job(spec, public, private)


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


async def run_nccl(
    client: AsyncClient,
    spec: NcclJobSpec,
    *,
    engine: Literal["mpijob", "indexed-job"] | None = None,
    timeout_s: float = 900.0,
    line_rate_per_node: float | None = None,
    keep: bool = False,
) -> NcclBench:
    eng = engine or await nccl_engine(client)
    objects = nccl_objects(spec, eng)
    await apply_objects(client, objects, network=spec.network)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            pod = await _launcher_pod(client, spec, eng)
            phase = ((pod or {}).get("status") or {}).get("phase")
            if phase in ("Succeeded", "Failed"):
                break
            if time.monotonic() > deadline:
                raise WaitTimeoutError(f"nccl-tests launcher not finished after {timeout_s:g}s "
                                       f"(phase {phase})")
            await asyncio.sleep(5)
        assert pod is not None
        name = pod["metadata"]["name"]

        text = await pod_log(client, name, spec.namespace)
        if phase == "Failed" and "# Avg bus bandwidth" not in text:
            raise ClusterError(f"nccl-tests failed in {name}; last lines:\n"
                               + "\n".join(text.splitlines()[-15:]))
        result = parse_all_reduce_perf(text)
    finally:
        if not keep:
            await delete_objects(client, objects)
    return NcclBench(engine=eng, nodes=spec.nodes, gpus_per_node=spec.gpus_per_node,
                     env=spec.env, result=result, line_rate_gbps_per_node=line_rate_per_node)
