"""exec_in, pod_log, run_ib_write_bw, run_bench and run_nccl against the API server's exec and
log endpoints (testsupport/apiserver.py), answering with real tool outputs."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from testsupport.apiserver import PODS, PodApiEmulator, Reply

from dualnet.cluster.errors import ClusterError
from dualnet.cluster.pods import exec_in, pod_log
from dualnet.verify.bench import BenchRequest, run_bench, run_ib_write_bw, run_nccl
from dualnet.verify.bench_objects import NcclJobSpec
from dualnet.verify.models import Status
from dualnet.verify.testpods import RUN_LABEL
from tests.helpers import Harness
from tests.verify.pod_io import (
    ALL_REDUCE,
    IBV_DEVINFO,
    NCCL_INFO,
    TESTS,
    body,
    pod,
    two_pods,
)


@pytest.fixture()
def kmock_options() -> dict[str, Any]:
    return {"cls": PodApiEmulator}


async def test_exec_in_returns_output_and_exit_code(harness: Harness) -> None:
    emu = await two_pods(harness)
    res = await exec_in(harness.client, "cli", "default", ["ibv_devinfo"])
    assert (res.exit_code, res.stdout) == (0, IBV_DEVINFO)
    missing = await exec_in(harness.client, "cli", "default", ["ping", "-c", "1", "x"])
    assert missing.exit_code == 127 and "executable file not found" in missing.stderr
    assert emu.execs[-1] == ("cli", ["ping", "-c", "1", "x"])


async def test_pod_log_reads_the_log(harness: Harness) -> None:
    harness.emulator.logs["launcher"] = ALL_REDUCE
    assert await pod_log(harness.client, "launcher", "default") == ALL_REDUCE
    with pytest.raises(ClusterError, match="read logs of nope failed: 404"):
        await pod_log(harness.client, "nope", "default")


async def test_ib_write_bw_between_two_pods(harness: Harness) -> None:
    emu = await two_pods(harness)
    r = await run_ib_write_bw(harness.client, "default", "srv", "cli", "mlx5_0", duration_s=5)
    assert (r.server_node, r.client_node) == ("node-a", "node-b")
    assert r.measured_gbps == pytest.approx(392.34)
    assert r.line_rate_gbps == 400.0  # the pod's own sysfs rate
    assert r.status is Status.PASS and r.floor_gbps == pytest.approx(320.0)
    client_cmd = next(argv for name, argv in emu.execs if name == "cli"
                      and argv[0] == "ib_write_bw")
    assert client_cmd[-1] == "192.168.50.2" and client_cmd[3:5] == ["-i", "1"]


async def test_ib_write_bw_missing_in_the_image_could_not_measure(
        harness: Harness) -> None:
    emu = await two_pods(harness)
    del emu.exec_table["cli", "ib_write_bw"]
    r = await run_ib_write_bw(harness.client, "default", "srv", "cli", "mlx5_0", duration_s=1)
    assert r.status is Status.UNMEASURED and r.measured_gbps is None
    assert "ib_write_bw is not in the image" in r.verdict


async def test_bench_picks_the_active_device_and_port_in_the_pod(
        harness: Harness) -> None:
    await two_pods(harness)
    report = await run_bench(harness.client, BenchRequest(pods=["srv", "cli"], duration_s=1))
    (r,) = report.rdma
    assert (r.device, r.port, r.status) == ("mlx5_0", 1, Status.PASS)
    assert report.statuses() == [Status.PASS]


def spec() -> NcclJobSpec:
    return NcclJobSpec(name="dualnet-nccl-ab12", namespace="default", network="rdma",
                       nad="rdma-net", resource="rdma/rdma_shared_device", image="img", nodes=2,
                       gpus_per_node=8, run="ab12",
                       env={"NCCL_IB_HCA": "=mlx5_0:1", "NCCL_SOCKET_IFNAME": "eth0"})


async def seed_launcher(h: Harness, phase: str, log: str) -> None:
    launcher = copy.deepcopy(pod("dualnet-nccl-ab12-0-x", "node-a", "192.168.50.2"))
    launcher["metadata"]["labels"] = {RUN_LABEL: "ab12"}
    launcher["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] = "0"
    launcher["status"] = {"phase": phase}
    await h.seed(launcher)
    h.emulator.logs["dualnet-nccl-ab12-0-x"] = log


async def test_run_nccl_reads_the_result_and_nccls_own_log(
        harness: Harness, kmock: Any) -> None:
    kmock.resources["v1/secrets"] = {}
    await seed_launcher(harness, "Succeeded", ALL_REDUCE + NCCL_INFO)
    n = await run_nccl(harness.client, spec(), engine="indexed-job", line_rate_per_node=3200.0,
                       gpudirect=True)
    assert n.result is not None and n.percent_of_line_rate == pytest.approx(84.705, abs=0.001)
    assert n.status is Status.PASS
    assert n.env["NCCL_DEBUG"] == "INFO" and "ENV" in n.env["NCCL_DEBUG_SUBSYS"]
    # the log excerpt has connection lines but no `NET/IB : Using` list: that one is unmeasured
    assert [(c.check, c.status) for c in n.checks] == [
        ("nccl-transport", Status.PASS), ("nccl-hcas", Status.UNMEASURED),
        ("nccl-gdrdma", Status.PASS)]
    deleted = {r.name for r in harness.emulator if r.method.value == "DELETE"}
    assert "dualnet-nccl-ab12" in deleted  # the Job (and its Service/Secret) are removed


async def test_run_nccl_without_results_could_not_measure(
        harness: Harness, kmock: Any) -> None:
    kmock.resources["v1/secrets"] = {}
    await seed_launcher(harness, "Failed", "bash: all_reduce_perf: command not found\n")
    n = await run_nccl(harness.client, spec(), engine="indexed-job", line_rate_per_node=3200.0)
    assert n.status is Status.UNMEASURED and n.result is None
    assert "command not found" in n.verdict
    assert n.checks[0].status is Status.UNMEASURED
    assert any(k[0] == PODS for k in harness.emulator.objects)


async def test_verify_nccl_reads_a_training_pods_log_and_names_the_cause(
        harness: Harness) -> None:
    from dualnet.verify.nccl_verify import run_nccl_verify

    await harness.seed(pod("train-0", "node-a", "192.168.50.2"))
    emu: PodApiEmulator = harness.emulator
    logs = TESTS / "corpus/nccl_debug"
    emu.logs["train-0"] = body(logs / "socket-open-device-failed-docker-roce.txt")
    # the pod has no uverbs device: the cause dualnet names comes from the pod, not the log
    emu.exec_table["train-0", ("ls", "/dev/infiniband")] = Reply(stdout="rdma_cm\n")
    report = await run_nccl_verify(harness.client, "default", ["train-0"])
    (transport,) = report.checks
    assert transport.status is Status.FAIL
    assert "NET/Socket: /dev/infiniband has no uverbs device in the pod" in transport.summary
    assert not report.passed

    emu.logs["train-0"] = body(TESTS / "corpus/nccl_debug/ib-roce-gdr-disabled-2hca.txt")
    report = await run_nccl_verify(harness.client, "default", ["train-0"],
                                   expected_hcas=["mlx5_0", "mlx5_1"], gpudirect=True)
    assert [(c.check, c.status) for c in report.checks] == [
        ("nccl-transport", Status.PASS), ("nccl-hcas", Status.PASS),
        ("nccl-gdrdma", Status.FAIL)]



async def test_ib_write_bw_between_two_ovs_offload_pods_uses_eth0(harness: Harness) -> None:
    # an offload pod's training VF is its default network (eth0), named by
    # v1.multus-cni.io/default-network; it has no net1 (bench refused such pods before)
    import json

    from dualnet import labels

    emu = await two_pods(harness)
    for name, node, ip in (("srv", "node-a", "10.244.1.12"), ("cli", "node-b", "10.244.2.7")):
        obj = pod(name, node, ip)
        ann = obj["metadata"]["annotations"]
        ann[labels.NETWORK_STATUS_ANNOTATION] = json.dumps(
            [{"name": "default/offload-net", "interface": "eth0", "ips": [ip],
              "mac": "0a:58:0a:f4:01:0c", "default": True, "dns": {}}])
        ann[labels.DEFAULT_NETWORK_ANNOTATION] = "default/offload-net"
        await harness.seed(obj)
    r = await run_ib_write_bw(harness.client, "default", "srv", "cli", "mlx5_0", duration_s=5)
    assert r.status is Status.PASS
    client_cmd = next(argv for name, argv in emu.execs if name == "cli"
                      and argv[0] == "ib_write_bw")
    assert client_cmd[-1] == "10.244.1.12"  # the server's eth0, not a net1 it does not have
