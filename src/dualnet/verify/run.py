"""`dualnet verify` on a live cluster: launch (or take) the test pods, capture what the guide's
step 7 looks at, and judge it with the pure checks. Cleans up what it launched."""

from __future__ import annotations

import asyncio
from typing import Any

from lightkube import AsyncClient
from pydantic import BaseModel, Field

from dualnet import labels
from dualnet.cluster.apply import apply_objects
from dualnet.cluster.errors import ClusterError
from dualnet.cluster.pods import (
    ExecResult,
    create_pod,
    delete_pod,
    exec_in,
    get_pod,
    pod_ip_and_node,
    wait_running,
)
from dualnet.errors import UsageError
from dualnet.parse.errors import ParseError
from dualnet.parse.ip import parse_ip_addr
from dualnet.verify.checks import (
    SECONDARY_IF,
    check_dev_infiniband,
    check_ibv_devinfo,
    check_interfaces,
    check_network_status,
    check_ping,
    net1_ips,
    training_interface,
)
from dualnet.verify.models import CheckResult, Status, VerifyReport
from dualnet.verify.testpods import (
    DEFAULT_IMAGE,
    build_test_pod,
    instances,
    rendered_helpers,
    rendered_test_pods,
    run_id,
)


class PodCapture(BaseModel):
    """What was read from one pod; the input of `evaluate_pod`."""

    target: str
    node: str | None = None
    network_status: str | None = None
    training_if: str = Field(default=SECONDARY_IF, description="net1; eth0 for an OVS offload "
                             "pod, whose default network is the training VF")
    ip_addr: ExecResult | None = None
    dev_infiniband: ExecResult | None = None
    ibv_devinfo: ExecResult | None = None


_NOT_IN_IMAGE = ("executable file not found", "not found in $PATH")


def missing_tool(check: str, target: str, res: ExecResult) -> CheckResult | None:
    """`could not measure` when the command is not in the image (exit 126/127), else None."""
    text = res.stderr + res.stdout
    if res.exit_code not in (126, 127) and not any(s in text for s in _NOT_IN_IMAGE):
        return None
    tool = res.command[0] if res.command else check
    return CheckResult(check=check, target=target, status=Status.UNMEASURED,
                       summary=f"{tool} is not in the image (exit {res.exit_code}): use an image "
                       "with iproute2, iputils-ping and ibverbs-utils (--image)",
                       evidence=text.strip().splitlines()[:3])


def evaluate_pod(cap: PodCapture, expected_device: str | None = None,
                 expected_uverbs: int | None = None) -> list[CheckResult]:
    """The per-pod checks over captured outputs (pure)."""
    out = [check_network_status(cap.target, cap.network_status, cap.training_if)]
    if cap.ip_addr is not None and (m := missing_tool("interfaces", cap.target,
                                                      cap.ip_addr)) is not None:
        out.append(m)
    elif cap.ip_addr is not None:
        res = cap.ip_addr
        try:
            if res.exit_code != 0 and not res.stdout.strip():
                raise ParseError("ip addr", f"exit status {res.exit_code}")
            ifaces = parse_ip_addr(res.stdout)
        except ParseError as exc:
            out.append(CheckResult(check="interfaces", target=cap.target, status=Status.FAIL,
                                   summary=f"`ip addr` failed: {exc.message}",
                                   evidence=(res.stderr or "").splitlines()[:3]))
        else:
            out.append(check_interfaces(cap.target, ifaces,
                                        net1_ips(cap.network_status, cap.training_if),
                                        cap.training_if))
    if cap.dev_infiniband is not None:
        text = cap.dev_infiniband.stdout + cap.dev_infiniband.stderr
        out.append(check_dev_infiniband(cap.target, text, expected_uverbs))
    if cap.ibv_devinfo is not None:
        res = cap.ibv_devinfo
        out.append(missing_tool("ibv_devinfo", cap.target, res) or check_ibv_devinfo(
            cap.target, res.stdout or res.stderr, expected_device))
    return out


def evaluate_ping(src: PodCapture, dst: PodCapture, dst_ip: str, res: ExecResult) -> CheckResult:
    if (m := missing_tool("ping-net1", f"{src.target} -> {dst.target}", res)) is not None:
        return m
    r = check_ping(src.target, dst.target, dst_ip, res.stdout + res.stderr, res.exit_code)
    if src.node is not None and src.node == dst.node and r.status is Status.PASS:
        # one node: reachability over net1 holds, but no cross-node path was exercised
        r.status = Status.SKIP
        r.summary += f"; both pods on node {src.node}, so the cross-node path is not proven"
    return r


async def _capture(client: AsyncClient, name: str, namespace: str) -> PodCapture:
    pod = await get_pod(client, name, namespace)
    if pod is None:
        raise UsageError(f"pod {namespace}/{name} not found", hint="check --pods and --namespace")
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    status = annotations.get(labels.NETWORK_STATUS_ANNOTATION) or annotations.get(
        "k8s.v1.cni.cncf.io/networks-status")
    _, node = pod_ip_and_node(pod)
    cap = PodCapture(target=f"{namespace}/{name}", node=node, network_status=status,
                     training_if=training_interface(annotations))
    cap.ip_addr = await exec_in(client, name, namespace, ["ip", "addr"])
    cap.dev_infiniband = await exec_in(client, name, namespace, ["ls", "/dev/infiniband"])
    cap.ibv_devinfo = await exec_in(client, name, namespace, ["ibv_devinfo"])
    return cap


async def run_verify(
    client: AsyncClient,
    *,
    namespace: str | None = None,
    pods: list[str] | None = None,
    objects: list[dict[str, Any]] | None = None,
    network: str | None = None,
    nad: str | None = None,
    resource: str | None = None,
    image: str | None = None,
    expected_device: str | None = None,
    count: int = 2,
    timeout_s: float = 300.0,
    keep: bool = False,
) -> VerifyReport:
    """Check existing `pods`, or launch `count` test pods (from `objects`, or per the guide)."""
    launched: list[str] = []
    templates = rendered_test_pods(objects or [])
    # explicit namespace, else the rendered test pod's (its NAD lives there), else "default"
    namespace = namespace or (
        (templates[0].get("metadata") or {}).get("namespace") if templates else None
    ) or "default"
    if not pods:
        run = run_id()
        if templates:
            to_launch = instances(templates[0], count, run)
            for p in to_launch:
                p["metadata"]["namespace"] = namespace
            # the preflight init container mounts the helper ConfigMap: it must exist first
            helpers = [dict(h, metadata={**h["metadata"], "namespace": namespace})
                       for h in rendered_helpers(objects or [])]
            if helpers:
                await apply_objects(client, helpers, network=network)
        else:
            if not (nad and resource):
                raise UsageError(
                    "nothing to verify: give --pods, or --from with `dualnet render` output, or "
                    "--nad and --resource to build the guide's test pod")
            to_launch = [
                build_test_pod(f"dualnet-verify-{run}-{i}", namespace, network=network or nad,
                               nad=nad, resource=resource, run=run,
                               image=image or DEFAULT_IMAGE)
                for i in range(count)
            ]
        try:
            for p in to_launch:
                await create_pod(client, p)
                launched.append(p["metadata"]["name"])
            try:
                await asyncio.gather(*(wait_running(client, n, namespace, timeout_s=timeout_s)
                                       for n in launched))
            except ClusterError as exc:  # never Running: nothing inside them could be read
                if not keep:
                    await _cleanup(client, launched, namespace)
                return VerifyReport(namespace=namespace, pods=launched, launched=True, checks=[
                    CheckResult(check="pods-ready", target=f"{namespace}/{n}",
                                status=Status.UNMEASURED,
                                summary=f"the test pods never became Ready: {exc.message}")
                    for n in launched])
        except BaseException:
            # also Ctrl-C / cancellation while pods hang in ContainerCreating: what was
            # launched goes (shielded, so the cancellation cannot cut the cleanup short)
            if not keep:
                await asyncio.shield(_cleanup(client, launched, namespace))
            raise
        pods = launched
    try:
        return await _verify_pods(client, pods, namespace, expected_device, bool(launched))
    finally:
        if launched and not keep:
            await _cleanup(client, launched, namespace)


async def _cleanup(client: AsyncClient, names: list[str], namespace: str) -> None:
    for n in names:
        await delete_pod(client, n, namespace)


async def _verify_pods(client: AsyncClient, pods: list[str], namespace: str,
                       expected_device: str | None, launched: bool) -> VerifyReport:
    caps = [await _capture(client, name, namespace) for name in pods]
    report = VerifyReport(namespace=namespace, pods=pods, launched=launched,
                          nodes={c.target: c.node for c in caps})
    for cap in caps:
        report.checks.extend(evaluate_pod(cap, expected_device))
    for src, dst in zip(caps, caps[1:] + caps[:1], strict=True):
        if src is dst:
            break
        ips = net1_ips(dst.network_status, dst.training_if)
        if not ips:
            report.checks.append(CheckResult(check="ping-net1", target=f"{src.target} -> "
                                             f"{dst.target}", status=Status.FAIL,
                                             summary=f"{dst.target} has no {dst.training_if} "
                                             "address to ping"))
            continue
        name = src.target.split("/", 1)[1]
        res = await exec_in(client, name, namespace,
                            ["ping", "-c", "3", "-W", "2", "-I", src.training_if, ips[0]])
        report.checks.append(evaluate_ping(src, dst, ips[0], res))
        if len(caps) == 2:
            break  # a -> b is enough for two pods; more pods are checked as a ring
    return report
