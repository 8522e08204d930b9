"""`render --target dra`'s bench pair and `dualnet bench --dra` on the API server emulator: the
rendered Jobs (validated like every DRA object), pods launched from their templates, the server's
address read from its ResourceClaim's networkData (dranet has no Multus network-status), and
ib_write_bw answered with a real capture (testsupport/apiserver.py)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import kmock
import pytest
from testsupport.apiserver import PODS, PodApiEmulator, Reply

from dualnet import labels
from dualnet.errors import UsageError
from dualnet.plan import Plan, build_plan
from dualnet.render import render, render_notes, supported_k8s_versions, validate_objects
from dualnet.render.dra import claim_addresses
from dualnet.spec import IpamType, load_spec
from dualnet.verify.bench import BenchRequest, run_bench
from dualnet.verify.models import Status
from tests.helpers import Harness
from tests.plan.hosts import gpu_node
from tests.render.cases import EXAMPLES
from tests.verify.pod_io import IB_WRITE_BW, IBV_DEVINFO, SYSFS_RATE

CLAIMS = kmock.resource("resource.k8s.io", "v1", "resourceclaims")
JOBS = kmock.resource("batch", "v1", "jobs")
SPEC = EXAMPLES / "host-device-whereabouts.yaml"


def _plan(hosts: int = 2) -> Plan:
    return build_plan(load_spec(SPEC), [gpu_node(i + 1) for i in range(hosts)])


def _kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def _bench(objects: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    jobs = {j["metadata"]["labels"][labels.BENCH_SIDE]: j for j in _kind(objects, "Job")}
    return jobs["server"], jobs["client"]


def _env(job: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"]
            for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}


def _address(objects: list[dict[str, Any]], template: str) -> str:
    (t,) = [o for o in _kind(objects, "ResourceClaimTemplate")
            if o["metadata"]["name"] == template]
    params = t["spec"]["spec"]["devices"]["config"][0]["opaque"]["parameters"]
    return str(params["interface"]["addresses"][0])


def _template_of(job: dict[str, Any]) -> str:
    return str(job["spec"]["template"]["spec"]["resourceClaims"][0]["resourceClaimTemplateName"])


# --- render -------------------------------------------------------------------------------------


def test_render_writes_a_suspended_pair_on_two_nodes_and_validates() -> None:
    plan = _plan()
    objects = render(plan, target="dra")
    for version in ("1.34", supported_k8s_versions()[-1]):
        validate_objects(objects, k8s_version=version)
    server, client = _bench(objects)
    assert server["spec"]["suspend"] is True and client["spec"]["suspend"] is True
    pods = [j["spec"]["template"]["spec"] for j in (server, client)]
    assert [p["nodeSelector"]["kubernetes.io/hostname"] for p in pods] == [
        "gpu-node-1", "gpu-node-2"]
    for p in pods:
        assert p["containers"][0]["resources"] == {"claims": [{"name": "nic"}]}
    # the client's PEER_IP is the server claim's own address, distinct from the test pods'
    server_addr = _address(objects, _template_of(server))
    assert _env(client)["PEER_IP"] == server_addr.split("/")[0]
    assert _env(server)["PEER_IP"] == ""
    taken = set(claim_addresses(plan).values())
    assert server_addr not in taken and _address(objects, _template_of(client)) not in taken
    assert any(n.startswith("Bench: suspended Jobs") for n in render_notes(plan, target="dra"))


def test_one_node_with_one_nic_renders_no_pair_and_says_why() -> None:
    plan = _plan(hosts=1)
    objects = render(plan, target="dra")
    assert _kind(objects, "Job") == []
    assert any(n.startswith("No bench Jobs: one node with one planned NIC")
               for n in render_notes(plan, target="dra"))


def test_dhcp_pair_leaves_peer_ip_to_dualnet_bench() -> None:
    plan = _plan()
    ipam = plan.spec.spec.ipam.model_copy(update={"type": IpamType.DHCP})
    plan = plan.model_copy(update={"spec": plan.spec.model_copy(update={
        "spec": plan.spec.spec.model_copy(update={"ipam": ipam})})})
    objects = render(plan, target="dra")
    validate_objects(objects, k8s_version="1.34")
    _, client = _bench(objects)
    assert _env(client)["PEER_IP"] == ""
    (t,) = [o for o in _kind(objects, "ResourceClaimTemplate")
            if o["metadata"]["name"] == _template_of(client)]
    assert t["spec"]["spec"]["devices"]["config"][0]["opaque"]["parameters"]["interface"][
        "dhcp"] is True


# --- bench --dra against the emulator -----------------------------------------------------------


@pytest.fixture()
def kmock_options() -> dict[str, Any]:
    return {"cls": PodApiEmulator}


@contextlib.asynccontextmanager
async def _kubelet(h: Harness, objects: list[dict[str, Any]], *,
                   allocate: bool = True) -> AsyncIterator[PodApiEmulator]:
    """Plays scheduler, dranet and kubelet for the pods dualnet creates: each gets its node,
    a ResourceClaim from its template with dranet's networkData (the template's address),
    Running and ready; and answers ibv_devinfo / ib_write_bw in it with real captures."""
    emu: PodApiEmulator = h.emulator
    done: set[str] = set()

    async def loop() -> None:
        while True:
            for key in list(emu.objects.keys()):
                res, ns, name = key
                if res != PODS or name in done or not name.startswith("dualnet-bench-"):
                    continue
                done.add(name)
                pod = copy.deepcopy(dict(emu.objects[key].raw))
                spec = pod["spec"]
                spec["nodeName"] = spec["nodeSelector"]["kubernetes.io/hostname"]
                if not allocate:  # no device matched: the pod stays Pending
                    pod["status"] = {"phase": "Pending", "conditions": [{
                        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                        "message": "0/2 nodes are available: 2 cannot allocate all claims."}]}
                    emu.objects[key] = pod
                    continue
                claim = f"{name}-nic-x7k2p"
                addr = _address(objects, spec["resourceClaims"][0]["resourceClaimTemplateName"])
                emu.objects[CLAIMS, ns, claim] = {
                    "apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim",
                    "metadata": {"name": claim, "namespace": ns},
                    "status": {"devices": [{
                        "driver": "dra.net", "pool": spec["nodeName"], "device": "ens1f0np0",
                        "networkData": {"interfaceName": "net1", "ips": [addr]}}]}}
                pod["status"] = {"phase": "Running",
                                 "containerStatuses": [{
                                     "name": "bench", "ready": True, "restartCount": 0,
                                     "image": spec["containers"][0]["image"],
                                     "imageID": "", "containerID": "containerd://1"}],
                                 "resourceClaimStatuses": [{"name": "nic",
                                                            "resourceClaimName": claim}]}
                emu.objects[key] = pod
                emu.exec_table[name, "ibv_devinfo"] = Reply(stdout=IBV_DEVINFO)
                emu.exec_table[name, "ib_write_bw"] = Reply(stdout=IB_WRITE_BW)
                emu.exec_table[name, ("cat", "/sys/class/infiniband/mlx5_0/ports/1/rate")] = (
                    Reply(stdout=SYSFS_RATE))
            await asyncio.sleep(0.01)

    server: Any = h.server  # kinds kmock serves once declared
    server.resources["resource.k8s.io/v1/resourceclaims"] = {}
    server.resources["batch/v1/jobs"] = {}
    for job in _kind(objects, "Job"):
        await h.seed(job)
    task = asyncio.create_task(loop())
    try:
        yield emu
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_bench_dra_runs_the_rendered_pair(harness: Harness) -> None:
    plan = _plan()
    objects = render(plan, target="dra")
    async with _kubelet(harness, objects) as emu:
        report = await run_bench(harness.client, BenchRequest(
            namespace="default", dra=True, network=plan.name, duration_s=1, timeout_s=30))
    (r,) = report.rdma
    assert r.status is Status.PASS, r.verdict
    assert (r.server_node, r.client_node) == ("gpu-node-1", "gpu-node-2")
    server, _ = _bench(objects)
    server_ip = _address(objects, _template_of(server)).split("/")[0]
    client_cmd = next(argv for name, argv in emu.execs if name.endswith("-1")
                      and argv[0] == "ib_write_bw")
    assert client_cmd[-1] == server_ip  # from the claim's networkData, not a network-status
    created = [r.data for r in emu if r.method.value == "POST" and r.resource == PODS]
    assert [p["spec"]["resourceClaims"][0]["resourceClaimTemplateName"] for p in created] == [
        _template_of(j) for j in _bench(objects)]
    assert all(p["spec"]["containers"][0]["command"] == ["sleep", "infinity"] for p in created)
    deleted = sorted(str(r.name) for r in emu if r.method.value == "DELETE")
    assert deleted == sorted(p["metadata"]["name"] for p in created)


async def test_bench_dra_unallocated_claim_could_not_measure(
        harness: Harness) -> None:
    plan = _plan()
    objects = render(plan, target="dra")
    async with _kubelet(harness, objects, allocate=False):
        report = await run_bench(harness.client, BenchRequest(
            namespace="default", dra=True, network=plan.name, duration_s=1, timeout_s=30))
    (r,) = report.rdma
    assert r.status is Status.UNMEASURED and r.measured_gbps is None
    assert "cannot allocate all claims" in r.verdict and "verify --dra" in r.verdict


async def test_bench_dra_without_rendered_jobs_is_a_usage_error(
        harness: Harness) -> None:
    server: Any = harness.server
    server.resources["batch/v1/jobs"] = {}
    with pytest.raises(UsageError, match=r"no bench Job \(server, client\) of network x"):
        await run_bench(harness.client, BenchRequest(namespace="default", dra=True,
                                                     network="x"))


def test_cli_dra_needs_network(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from tests.helpers import run_cli

    code, _, err = run_cli(capsys, "bench", "--dra")
    assert code == 2 and "--dra: give --network" in err
    code, _, err = run_cli(capsys, "bench", "--dra", "--network", "n", "--pods", "a,b")
    assert code == 2 and "--dra and --pods" in err


def test_a_wrong_job_field_fails_validation() -> None:
    """The Jobs go through kubernetes-validate like every built-in DRA object."""
    from dualnet.render import ObjectValidationError

    objects = render(_plan(), target="dra")
    server, _ = _bench(objects)
    server["spec"]["template"]["spec"]["resourceClaims"][0]["resourceClaimTemplateNam"] = "x"
    with pytest.raises(ObjectValidationError, match="resourceClaimTemplateNam"):
        validate_objects(objects, k8s_version="1.34")


def test_sriov_pair_takes_vfs_through_the_nad_on_two_nodes() -> None:
    from dualnet.render.dra_sriov import claim_template_name
    from dualnet.verify.bench import bench_pod_from_job

    plan = build_plan(load_spec(EXAMPLES / "sriov-rdma-cni-whereabouts.yaml"),
                      [gpu_node(1), gpu_node(2)])
    objects = render(plan, target="dra")
    server, client = _bench(objects)
    for job in (server, client):
        pod = job["spec"]["template"]
        assert pod["metadata"]["annotations"] == {labels.NETWORKS_ANNOTATION: plan.name}
        assert _template_of(job) == claim_template_name(plan)
        (term,) = pod["spec"]["affinity"]["podAntiAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"]
        assert term["topologyKey"] == "kubernetes.io/hostname"
    launched = bench_pod_from_job(client, "dualnet-bench-ab12-1", "ab12")
    assert launched["metadata"]["annotations"] == {labels.NETWORKS_ANNOTATION: plan.name}
    assert launched["spec"]["containers"][0]["command"] == ["sleep", "infinity"]
