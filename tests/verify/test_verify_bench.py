"""Benchmark objects, line-rate comparison, reports, and the MPIJob/Indexed Job choice."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import kmock
from rich.console import Console

from dualnet import labels
from dualnet.host.models import HostReport, LinkLayer, PortState, RdmaDevice, RdmaPort
from dualnet.verify.bench import (
    BenchReport,
    NcclBench,
    RdmaBench,
    line_rate_gbps,
    nccl_engine,
    parse_sysfs_rate,
    perftest_command,
)
from dualnet.verify.bench_objects import NcclJobSpec, indexed_job, mpijob, ssh_keypair
from dualnet.verify.nccl_tests import parse_all_reduce_perf
from dualnet.verify.perftest import parse_ib_write_bw
from dualnet.verify.report import bench_rows, bench_table, markdown_report
from dualnet.verify.testpods import RUN_LABEL
from tests.cluster.conftest import Harness, harness, kmock_options  # noqa: F401
from tests.conftest import require

OUT = Path(__file__).parent / "outputs"


def spec(**kw: Any) -> NcclJobSpec:
    base: dict[str, Any] = dict(
        name="dualnet-nccl-ab12", namespace="default", network="rdma", nad="rdma-net",
        resource="rdma/rdma_shared_device", image="img", nodes=2, gpus_per_node=8, run="ab12",
        env={"NCCL_IB_HCA": "=mlx5_0:1", "NCCL_SOCKET_IFNAME": "eth0"})
    base.update(kw)
    return NcclJobSpec(**base)


def test_mpijob_spreads_workers_and_forwards_nccl_env() -> None:
    job = mpijob(spec())
    assert (job["apiVersion"], job["kind"]) == ("kubeflow.org/v2beta1", "MPIJob")
    assert job["metadata"]["labels"][labels.ROLE] == "bench"
    rs = job["spec"]["mpiReplicaSpecs"]
    cmd = rs["Launcher"]["template"]["spec"]["containers"][0]["command"]
    assert cmd[:5] == ["mpirun", "--allow-run-as-root", "-np", "16", "-bind-to"]
    assert cmd[cmd.index("NCCL_IB_HCA") - 1] == "-x"
    assert cmd[-9:] == ["all_reduce_perf", "-b", "8", "-e", "8G", "-f", "2", "-g", "1"]
    worker = rs["Worker"]["template"]
    assert rs["Worker"]["replicas"] == 2
    assert worker["metadata"]["annotations"] == {labels.NETWORKS_ANNOTATION: "rdma-net"}
    limits = worker["spec"]["containers"][0]["resources"]["limits"]
    assert limits == {"rdma/rdma_shared_device": 1, "nvidia.com/gpu": 8}
    anti = worker["spec"]["affinity"]["podAntiAffinity"]
    assert anti["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"] == (
        "kubernetes.io/hostname")


def test_indexed_job_with_headless_service() -> None:
    secret, svc, job = indexed_job(spec(nodes=3), "ssh-ed25519 AAA test", "PRIVATE")
    assert secret["kind"] == "Secret" and secret["stringData"]["id_ed25519"] == "PRIVATE"
    assert svc["spec"]["clusterIP"] == "None" and svc["spec"]["selector"] == {RUN_LABEL: "ab12"}
    js = job["spec"]
    assert (js["completionMode"], js["completions"], js["parallelism"]) == ("Indexed", 3, 3)
    assert js["template"]["spec"]["subdomain"] == svc["metadata"]["name"]
    script = js["template"]["spec"]["containers"][0]["command"][2]
    assert "dualnet-nccl-ab12-0.dualnet-nccl-ab12:8,dualnet-nccl-ab12-1.dualnet-nccl-ab12:8" in (
        script)
    assert "-np 24" in script and "JOB_COMPLETION_INDEX" in script


def test_ssh_keypair_is_real() -> None:
    require(shutil.which("ssh-keygen") is not None, "ssh-keygen")
    public, private = ssh_keypair()
    assert public.startswith("ssh-ed25519 ") and "PRIVATE KEY" in private


def test_line_rate_from_discovery_and_sysfs_text() -> None:
    report = HostReport(rdma_devices=[
        RdmaDevice(name="mlx5_0", ports=[RdmaPort(number=1, state=PortState.ACTIVE,
                                                  link_layer=LinkLayer.INFINIBAND,
                                                  rate="400 Gb/sec (4X NDR)", rate_gbps=400.0)]),
        RdmaDevice(name="mlx5_1", ports=[RdmaPort(number=1, state=PortState.DOWN,
                                                  rate_gbps=400.0)]),
    ])
    assert line_rate_gbps(report, ["mlx5_0:1", "mlx5_1"]) == 400.0
    assert line_rate_gbps(report, ["mlx5_9"]) is None
    assert parse_sysfs_rate("400 Gb/sec (4X NDR)\n") == 400.0
    assert parse_sysfs_rate("garbage") is None


def test_perftest_command_sides() -> None:
    assert perftest_command("mlx5_0", gpu=True, duration_s=10, qps=4, server_ip="192.168.50.3") \
        == ["ib_write_bw", "-d", "mlx5_0", "-R", "--report_gbits", "-F", "-D", "10", "-q", "4",
            "--use_cuda=0", "192.168.50.3"]
    assert perftest_command("mlx5_0", gpu=False, duration_s=5, qps=1, server_ip=None)[-1] == "1"


def sample_report() -> BenchReport:
    ib = parse_ib_write_bw((OUT / "ib_write_bw-cx7-ndr-ib-report-gbits.txt").read_text())
    gdr = parse_ib_write_bw((OUT / "ib_write_bw-use-cuda-a40-roce-16qp-duration.txt").read_text())
    nccl = parse_all_reduce_perf((OUT / "all_reduce_perf-2node-16xh100-mpirun.txt").read_text())
    return BenchReport(
        namespace="default", created="2026-11-23 19:00 UTC",
        rdma=[RdmaBench(server="default/a", client="default/b", server_node="n1",
                        client_node="n2", device="mlx5_0", command=["ib_write_bw"], result=ib,
                        line_rate_gbps=400.0),
              RdmaBench(server="default/a", client="default/b", server_node="n1",
                        client_node="n2", device="mlx5_1", gpu=True, command=["ib_write_bw"],
                        result=gdr, line_rate_gbps=200.0)],
        nccl=NcclBench(engine="mpijob", nodes=2, gpus_per_node=8, result=nccl,
                       env={"NCCL_IB_HCA": "=mlx5_0:1"}, line_rate_gbps_per_node=3200.0),
    )


def test_bench_rows_compare_with_line_rate() -> None:
    rows = bench_rows(sample_report())
    assert rows[0] == ["ib_write_bw", "mlx5_0 n2 -> n1", "392.3 Gb/s", "400.0 Gb/s", "98%"]
    assert rows[1] == ["ib_write_bw --use_cuda (GPUDirect)", "mlx5_1 n2 -> n1", "181.5 Gb/s",
                       "200.0 Gb/s", "91%"]
    # 338.82 GB/s busbw = 2710.6 Gb/s per rank against 3200/8 = 400 Gb/s per rank
    assert rows[2][2] == "2710.6 Gb/s (338.82 GB/s)" and rows[2][3] == "400.0 Gb/s"


def test_markdown_and_table_render() -> None:
    rep = sample_report()
    md = markdown_report(rep)
    assert md.startswith("# dualnet training-network report")
    assert "| ib_write_bw | mlx5_0 n2 -> n1 | 392.3 Gb/s | 400.0 Gb/s | 98% |" in md
    assert "NCCL_IB_HCA==mlx5_0:1" in md
    buf = io.StringIO()
    Console(file=buf, width=160).print(bench_table(rep))
    assert "392.3 Gb/s" in buf.getvalue()


async def test_engine_is_mpijob_only_when_its_crd_exists(harness: Harness) -> None:  # noqa: F811
    assert await nccl_engine(harness.client) == "indexed-job"
    crd_res = kmock.resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    harness.emulator.objects[crd_res, None, "mpijobs.kubeflow.org"] = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "mpijobs.kubeflow.org"},
        "spec": {"group": "kubeflow.org", "scope": "Namespaced",
                 "names": {"kind": "MPIJob", "plural": "mpijobs", "singular": "mpijob",
                           "listKind": "MPIJobList"},
                 "versions": [{"name": "v2beta1", "served": True, "storage": True}]}}
    assert await nccl_engine(harness.client) == "mpijob"
