"""`bench --nodes` starts every NCCL rank through the in-pod helper `dualnet-pod nccl-exec` in
shared mode (each rank's RoCE GID is a fact of its own pod), and with the node-wide settings
where the pod owns the whole GID table. Against the API server emulator's apply, exec and log
endpoints with real tool outputs; the rank command itself is run by a real shell in real
namespaces on the real-kernel-shaped GID table."""

from __future__ import annotations

import copy
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from testsupport.apiserver import PodApiEmulator

from dualnet.host.discover import discover
from dualnet.host.models import HostReport
from dualnet.modes import Mode
from dualnet.plan.nccl import pod_nccl_env
from dualnet.plan.podhelper import MOUNT_DIR, SCRIPT, SCRIPT_NAME
from dualnet.verify import bench as bench_mod
from dualnet.verify.bench import BenchRequest, run_bench
from dualnet.verify.bench_objects import NcclJobSpec, indexed_job, mpijob
from dualnet.verify.models import Status
from dualnet.verify.testpods import RUN_LABEL
from tests.fixtures.gid_tables import POD1_IP, POD2_IP, SOFT_ROCE_SHARED, write_device
from tests.helpers import Harness, have_root_netns, require
from tests.verify.pod_io import ALL_REDUCE, NCCL_INFO, pod, two_pods

RUN = "cd34"
WRAP = ["/bin/sh", f"{MOUNT_DIR}/{SCRIPT_NAME}", "nccl-exec", "--", "all_reduce_perf"]


@pytest.fixture()
def kmock_options() -> dict[str, Any]:
    return {"cls": PodApiEmulator}


def shared_facts(tmp_path: Path) -> HostReport:
    write_device(tmp_path, SOFT_ROCE_SHARED)
    return discover(tmp_path)


async def bench_nodes(h: Harness, kmock: Any, monkeypatch: pytest.MonkeyPatch,
                      log: str = ALL_REDUCE + NCCL_INFO,
                      **kw: Any) -> tuple[Any, list[dict[str, Any]]]:
    """run_bench with --nodes 2; the launcher (rank 0) finishes with `log` (real captures)."""
    monkeypatch.setattr(bench_mod, "run_id", lambda: RUN)
    kmock.resources["v1/secrets"] = {}
    kmock.resources["v1/configmaps"] = {}
    await two_pods(h)
    launcher = copy.deepcopy(pod(f"dualnet-nccl-{RUN}-0-x", "node-a", "192.168.50.2"))
    launcher["metadata"]["labels"] = {RUN_LABEL: RUN}
    launcher["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] = "0"
    launcher["status"] = {"phase": "Succeeded"}
    await h.seed(launcher)
    h.emulator.logs[f"dualnet-nccl-{RUN}-0-x"] = log
    report = await run_bench(h.client, BenchRequest(
        pods=["srv", "cli"], duration_s=1, nodes=2, nad="rdma-net",
        resource="rdma/rdma_shared_device", **kw))
    applied = [r.data for r in h.emulator if r.method.value == "PATCH" and r.data]
    return report, applied


def kinds(applied: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["kind"]: o for o in applied}


async def test_shared_mode_ranks_start_through_the_helper(
        harness: Harness, kmock: Any, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    report, applied = await bench_nodes(harness, kmock, monkeypatch,
                                        facts=shared_facts(tmp_path), mode=Mode.SHARED_ROCE)
    objs = kinds(applied)
    cm = objs["ConfigMap"]
    assert cm["metadata"]["name"] == f"dualnet-nccl-{RUN}-dualnet-pod"
    assert cm["data"][SCRIPT_NAME] == SCRIPT
    pod_spec = objs["Job"]["spec"]["template"]["spec"]
    assert {"name": "dualnet-pod", "configMap": {"name": cm["metadata"]["name"],
                                                 "defaultMode": 0o555}} in pod_spec["volumes"]
    (rank,) = pod_spec["containers"]
    assert {"name": "dualnet-pod", "mountPath": MOUNT_DIR, "readOnly": True} in \
        rank["volumeMounts"]
    script = rank["command"][-1]
    # mpirun runs the helper on every rank; no node-wide index is forwarded to any of them
    assert " ".join(WRAP) in script
    assert "NCCL_IB_GID_INDEX" not in {e["name"] for e in rank["env"]}
    assert "-x NCCL_IB_GID_INDEX" not in script
    assert any("dualnet-pod nccl-exec" in n for n in report.notes)
    assert report.nccl is not None and report.nccl.status is Status.PASS
    deleted = {r.name for r in harness.emulator if r.method.value == "DELETE"}
    assert cm["metadata"]["name"] in deleted  # removed with the Job


async def test_unknown_mode_without_facts_is_treated_as_shared(
        harness: Harness, kmock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _, applied = await bench_nodes(harness, kmock, monkeypatch)
    objs = kinds(applied)
    assert "ConfigMap" in objs
    assert " ".join(WRAP) in objs["Job"]["spec"]["template"]["spec"]["containers"][0][
        "command"][-1]


async def test_host_device_ranks_use_the_node_wide_index(
        harness: Harness, kmock: Any, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    report, applied = await bench_nodes(harness, kmock, monkeypatch,
                                        facts=shared_facts(tmp_path), mode=Mode.HOST_DEVICE)
    objs = kinds(applied)
    assert "ConfigMap" not in objs
    (rank,) = objs["Job"]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in rank["env"]}
    assert env["NCCL_IB_GID_INDEX"] == "1"  # the lowest RoCE v2 IPv4 GID of the node's table
    assert "nccl-exec" not in rank["command"][-1]
    assert "-x NCCL_IB_GID_INDEX" in rank["command"][-1]
    assert any("node-wide settings (host-device" in n for n in report.notes)


def test_mpijob_workers_mount_the_helper_and_the_launcher_wraps_the_ranks() -> None:
    spec = NcclJobSpec(name="dualnet-nccl-ef56", namespace="default", network="rdma",
                       nad="rdma-net", resource="rdma/rdma_shared_device", image="img", nodes=2,
                       run="ef56", per_pod_gid=True)
    job = mpijob(spec)
    replicas = job["spec"]["mpiReplicaSpecs"]
    launcher = replicas["Launcher"]["template"]["spec"]["containers"][0]
    assert launcher["command"][-len(WRAP) - 8:-8] == WRAP
    worker = replicas["Worker"]["template"]["spec"]
    assert worker["volumes"][0]["configMap"]["name"] == "dualnet-nccl-ef56-dualnet-pod"
    assert worker["containers"][0]["volumeMounts"][0]["mountPath"] == MOUNT_DIR


# --- the rank command, run as mpirun runs it on each rank -------------------------------------


@pytest.fixture()
def two_netns() -> Iterator[list[str]]:
    require(have_root_netns(), "root and iproute2 for network namespaces")
    names = [f"dnrank-{secrets.token_hex(3)}" for _ in range(2)]
    try:
        for ns, ip in zip(names, (POD1_IP, POD2_IP), strict=True):
            subprocess.run(["ip", "netns", "add", ns], check=True)
            for args in (["link", "add", "net1", "type", "veth", "peer", "name", "net1peer"],
                         ["link", "set", "net1peer", "up"],
                         ["addr", "add", f"{ip}/24", "dev", "net1"],
                         ["link", "set", "net1", "up"]):
                subprocess.run(["ip", "-n", ns, *args], check=True)
        yield names
    finally:
        for ns in names:
            subprocess.run(["ip", "netns", "del", ns], check=False)


def rank_argv(spec: NcclJobSpec) -> list[str]:
    """What mpirun starts on each rank: the words of the Indexed Job's mpirun line after its
    own options (`-x KEY` forwards, the last one before the program)."""
    script: str = indexed_job(spec, "pub", "priv")[2]["spec"]["template"]["spec"][
        "containers"][0]["command"][-1]
    line = next(x for x in script.splitlines() if x.startswith("mpirun "))
    words = line.split(" || ")[0].split()
    return words[words.index("/bin/sh"):]


def test_each_rank_exports_its_own_gid(two_netns: list[str], tmp_path: Path) -> None:
    write_device(tmp_path, SOFT_ROCE_SHARED)
    dev = discover(tmp_path).rdma_device("rxe0")
    assert dev is not None
    spec = NcclJobSpec(name="dualnet-nccl-ab12", namespace="default", network="rdma",
                       nad="rdma-net", resource="rdma/rdma_shared_device", image="img", nodes=2,
                       run="ab12", per_pod_gid=True)
    argv = rank_argv(spec)
    assert argv[:5] == WRAP
    helper = tmp_path / SCRIPT_NAME
    helper.write_text(SCRIPT)
    # the rank's program replaced by `env`, the ConfigMap's mount by the script's path
    argv = [str(helper) if a == f"{MOUNT_DIR}/{SCRIPT_NAME}" else a for a in argv[:4]] + ["env"]
    seen = {}
    for ns, ip in zip(two_netns, (POD1_IP, POD2_IP), strict=True):
        res = subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True,
                             timeout=30, env={"PATH": os.environ["PATH"],
                                              "DUALNET_SYSFS": str(tmp_path / "sys")})
        assert res.returncode == 0, res.stderr
        env = dict(x.split("=", 1) for x in res.stdout.splitlines() if "=" in x)
        expected = pod_nccl_env(dev.ports[0].gids, ip)
        assert {k: env.get(k) for k in expected} == expected
        seen[ip] = env["NCCL_IB_GID_INDEX"]
    assert seen == {POD1_IP: "1", POD2_IP: "3"}  # one device, a different GID per rank


async def test_bench_reports_a_socket_transport_with_its_cause(
        harness: Harness, kmock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from dualnet.verify.outcome import EXIT_FAILED, exit_status
    from dualnet.verify.report import bench_rows
    from tests.verify.pod_io import TESTS, body

    report, _ = await bench_nodes(harness, kmock, monkeypatch, log=ALL_REDUCE + body(
        TESTS / "corpus/nccl_debug/socket-ib-disabled-by-env.txt"))
    assert report.nccl is not None
    transport = report.nccl.checks[0]
    assert (transport.check, transport.status) == ("nccl-transport", Status.FAIL)
    assert "NCCL_IB_DISABLE=1" in transport.summary
    row = next(r for r in bench_rows(report) if r[0] == "nccl-transport")
    assert "NET/Socket" in row[-1] and "NCCL_IB_DISABLE=1" in row[-1]
    assert exit_status(report.statuses()) == EXIT_FAILED


def test_bench_refuses_an_unknown_mode_naming_the_allowed_ones(
        capsys: pytest.CaptureFixture[str]) -> None:
    from tests.helpers import run_cli

    code, _, err = run_cli(capsys, "bench", "--pods", "a,b", "--nodes", "2", "--nad", "n",
                           "--resource", "r", "--mode", "macvlan")
    assert code == 2
    assert "--mode 'macvlan': not a mode" in err and "host-device" in err
