"""Per-pod evaluation over captured outputs, test pod builders, and the live flow's edges
(emulator: pod lookup, launching and cleaning up)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import kmock
import pytest

from dualnet import labels
from dualnet.cluster.pods import ExecResult, pod_phase_problem
from dualnet.errors import UsageError
from dualnet.verify.models import Status
from dualnet.verify.run import PodCapture, evaluate_ping, evaluate_pod, run_verify
from dualnet.verify.testpods import RUN_LABEL, build_test_pod, instances, rendered_test_pods
from tests.helpers import Harness

OUT = Path(__file__).parent / "outputs"
CORPUS = Path(__file__).resolve().parent.parent / "corpus"
POD_RES = kmock.resource("", "v1", "pods")


def ran(cmd: list[str], stdout: str, code: int = 0, stderr: str = "") -> ExecResult:
    return ExecResult(command=cmd, stdout=stdout, stderr=stderr, exit_code=code)


def body(path: Path) -> str:
    return "\n".join(path.read_text().splitlines()[1:]) + "\n"


def guide_capture() -> PodCapture:
    ns_file = CORPUS / "network-status/gh200-macvlan.txt"
    dev_file = CORPUS / "ibv_devinfo/gh200-cx7-in-pod.txt"
    return PodCapture(
        target="default/rdma-test", node="gh200",
        network_status=ns_file.read_text(),
        ip_addr=ran(["ip", "addr"], body(OUT / "ip_addr-gh200-pod-guide.txt")),
        dev_infiniband=ran(["ls", "/dev/infiniband"],
                           body(OUT / "ls-dev-infiniband-gh200-pod.txt")),
        ibv_devinfo=ran(["ibv_devinfo"], dev_file.read_text()),
    )


def test_guide_pod_passes_every_check() -> None:
    results = evaluate_pod(guide_capture(), expected_device="mlx5_0", expected_uverbs=2)
    assert [(r.check, r.status) for r in results] == [
        ("network-status", Status.PASS), ("interfaces", Status.PASS),
        ("dev-infiniband", Status.PASS), ("ibv_devinfo", Status.PASS)]


def test_missing_ip_tool_could_not_measure_interfaces() -> None:
    # the tool is missing in the image: nothing about the pod is known, so not a failure
    cap = guide_capture()
    cap.ip_addr = ran(["ip", "addr"], "", 127,
                      'OCI runtime exec failed: exec: "ip": executable file not found in $PATH')
    r = evaluate_pod(cap)[1]
    assert r.status is Status.UNMEASURED and r.summary.startswith("ip is not in the image")
    assert "executable file not found" in r.evidence[0]
    cap.ip_addr = ran(["ip", "addr"], "", 1, "Cannot open netlink socket: Permission denied")
    r = evaluate_pod(cap)[1]
    assert r.status is Status.FAIL and r.summary.startswith("`ip addr` failed")


def test_missing_ping_and_ibv_devinfo_could_not_measure() -> None:
    a, b = guide_capture(), guide_capture()
    b.target = "default/rdma-test-2"
    res = ran(["ping"], "", 127, 'exec: "ping": executable file not found in $PATH')
    assert evaluate_ping(a, b, "10.9.9.3", res).status is Status.UNMEASURED
    a.ibv_devinfo = ran(["ibv_devinfo"], "", 127, 'exec: "ibv_devinfo": executable file not '
                        "found in $PATH")
    assert evaluate_pod(a)[-1].status is Status.UNMEASURED


def test_ping_between_pods_on_one_node_is_not_counted_as_cross_node() -> None:
    a, b = guide_capture(), guide_capture()
    b.target = "default/rdma-test-2"
    res = ran(["ping"], body(OUT / "ping-reply-iputils.txt"))
    r = evaluate_ping(a, b, "10.9.9.3", res)
    assert r.status is Status.SKIP and "both pods on node gh200" in r.summary
    b.node = "gh200-b"
    assert evaluate_ping(a, b, "10.9.9.3", res).status is Status.PASS


def test_build_test_pod_follows_the_guide() -> None:
    pod = build_test_pod("dualnet-verify-a-0", "default", network="rdma", nad="rdma-net",
                         resource="rdma/rdma_shared_device", run="abc")
    meta, c = pod["metadata"], pod["spec"]["containers"][0]
    assert meta["annotations"] == {labels.NETWORKS_ANNOTATION: "rdma-net"}
    assert meta["labels"][labels.MANAGED_BY] == "dualnet"
    assert meta["labels"][labels.ROLE] == "test-pod" and meta["labels"][RUN_LABEL] == "abc"
    assert c["securityContext"] == {"capabilities": {"add": ["IPC_LOCK"]}}
    assert c["resources"] == {"limits": {"rdma/rdma_shared_device": 1}}
    with pytest.raises(UsageError):
        build_test_pod("Bad_Name", "default", network="n", nad="n", resource="r", run="x")


def test_rendered_test_pod_is_copied_per_instance() -> None:
    rendered: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "rdma-test", "labels": {labels.ROLE: "test-pod"}},
                "spec": {"containers": [{"name": "t", "image": "i"}]}}
    other = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}}
    found = rendered_test_pods([other, rendered])
    assert found == [rendered]
    pods = instances(rendered, 2, "r1")
    assert [p["metadata"]["name"] for p in pods] == ["rdma-test-r1-0", "rdma-test-r1-1"]
    assert rendered["metadata"]["name"] == "rdma-test"  # the template is untouched
    assert all(p["metadata"]["labels"][RUN_LABEL] == "r1" for p in pods)


def test_pod_phase_problem_reasons() -> None:
    pending: dict[str, Any] = {"status": {"phase": "Pending", "conditions": [{
        "type": "PodScheduled", "status": "False",
        "message": "0/1 nodes are available: 1 Insufficient rdma/rdma_shared_device."}]}}
    assert pod_phase_problem(pending) == ("cannot be scheduled: 0/1 nodes are available: 1 "
                                          "Insufficient rdma/rdma_shared_device.")
    pulling: dict[str, Any] = {"status": {"phase": "Pending", "containerStatuses": [{
        "name": "test", "state": {"waiting": {"reason": "ImagePullBackOff",
                                              "message": "Back-off pulling image"}}}]}}
    assert pod_phase_problem(pulling) == "container test: ImagePullBackOff Back-off pulling image"


async def test_unknown_pod_is_a_usage_error(harness: Harness) -> None:
    with pytest.raises(UsageError, match="pod default/nope not found"):
        await run_verify(harness.client, namespace="default", pods=["nope"])


async def test_launched_pods_are_removed_when_they_never_run(harness: Harness) -> None:
    assert harness.server is not None
    report = await run_verify(harness.client, namespace="default", nad="rdma-net",
                              resource="rdma/rdma_shared_device", timeout_s=0.1)
    # pods that never ran: nothing was measured, which is neither a pass nor a failure
    assert [c.status for c in report.checks] == [Status.UNMEASURED] * 2
    assert all("never became Ready" in c.summary and "not running after" in c.summary
               for c in report.checks)
    assert not report.passed
    created = [r for r in harness.emulator if r.method.value == "POST"]
    deleted = [r for r in harness.emulator if r.method.value == "DELETE"]
    assert len(created) == 2 and len(deleted) == 2
    assert sorted(r.name for r in deleted) == sorted(
        r.data["metadata"]["name"] for r in created)
    live = [k for k in harness.server.objects if k[0] == POD_RES
            and not harness.server.objects[k].deleted]
    assert live == []


async def test_launched_pods_are_removed_when_interrupted_while_waiting(
        harness: Harness) -> None:
    # Ctrl-C under asyncio.run cancels the task while the pods hang in ContainerCreating
    task = asyncio.create_task(run_verify(
        harness.client, namespace="default", nad="rdma-net",
        resource="rdma/rdma_shared_device", timeout_s=60))
    for _ in range(200):
        if len([r for r in harness.emulator if r.method.value == "POST"]) == 2:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # now inside the wait for Running
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    created = [r for r in harness.emulator if r.method.value == "POST"]
    deleted = [r for r in harness.emulator if r.method.value == "DELETE"]
    assert len(created) == 2
    assert sorted(r.name for r in deleted) == sorted(
        r.data["metadata"]["name"] for r in created)


async def test_rendered_test_pod_launches_in_its_own_namespace(harness: Harness) -> None:
    rendered = {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "rdma-net-test", "namespace": "rdma-ns",
                             "labels": labels.owned_labels("rdma", "test-pod"),
                             "annotations": {labels.NETWORKS_ANNOTATION: "rdma-net"}},
                "spec": {"containers": [{"name": "test", "image": "img"}]}}
    report = await run_verify(harness.client, objects=[rendered], count=2, timeout_s=0.1)
    assert {c.status for c in report.checks} == {Status.UNMEASURED}
    created = [r for r in harness.emulator if r.method.value == "POST"]
    assert [r.namespace for r in created] == ["rdma-ns", "rdma-ns"]
    assert all(r.data["metadata"]["name"].startswith("rdma-net-test-") for r in created)
    assert len([r for r in harness.emulator if r.method.value == "DELETE"]) == 2


def test_copies_of_a_static_ip_test_pod_get_distinct_addresses() -> None:
    # static IPAM without fixed addresses: render names the pod's address in the annotation;
    # verify's copies must not all claim it (a ping to a duplicate address can pass falsely)
    import json

    from dualnet.labels import NETWORKS_ANNOTATION
    from dualnet.render import render
    from dualnet.verify.testpods import instances
    from tests.render.cases import plan_for

    template = next(o for o in render(plan_for("shared-roce-ipvlan-static"))
                    if o["kind"] == "Pod" and o["metadata"]["name"].endswith("-test"))
    pods = instances(template, 3, "r1")
    ips = [json.loads(p["metadata"]["annotations"][NETWORKS_ANNOTATION])[0]["ips"] for p in pods]
    assert ips == [["192.168.60.10/24"], ["192.168.60.11/24"], ["192.168.60.12/24"]]


async def test_rendered_helper_configmap_is_applied_before_the_pods(
        harness: Harness) -> None:
    from dualnet.render import render
    from tests.render.cases import plan_for

    harness.emulator.resources["v1/configmaps"] = {}
    objects = render(plan_for("gh200-shared-roce"))
    report = await run_verify(harness.client, objects=objects, count=1, timeout_s=0.1)
    assert {c.status for c in report.checks} == {Status.UNMEASURED}
    writes = [r for r in harness.emulator if r.method.value in ("PATCH", "POST")]
    kinds = [(r.resource.plural if r.resource else "?") for r in writes]
    assert kinds[:2] == ["configmaps", "pods"]
    pod = writes[1].data
    assert pod["spec"]["initContainers"][0]["name"] == "dualnet-preflight"
