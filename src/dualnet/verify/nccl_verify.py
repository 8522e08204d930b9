"""`dualnet verify --nccl POD,...`: read the NCCL log of running (or finished) training pods and
judge it (nccl_log), with the facts read from the same pods to name a Socket result's cause."""

from __future__ import annotations

import contextlib
import re

from lightkube import AsyncClient

from dualnet.cluster.pods import exec_in, get_pod, pod_log
from dualnet.errors import UsageError
from dualnet.parse.errors import ParseError
from dualnet.parse.ibv_devinfo import parse_ibv_devinfo
from dualnet.verify.models import CheckResult, VerifyReport
from dualnet.verify.nccl_log import PodFacts, nccl_checks

_IFNAME = re.compile(r"^\d+:\s+([^:@\s]+)", re.MULTILINE)


def ipc_lock_of(pod: dict[str, object]) -> bool | None:
    """Whether every container of the pod spec adds IPC_LOCK (None: no containers)."""
    spec = pod.get("spec")
    containers = spec.get("containers") if isinstance(spec, dict) else None
    if not isinstance(containers, list) or not containers:
        return None
    def adds(c: object) -> bool:
        sc = c.get("securityContext") if isinstance(c, dict) else None
        caps = sc.get("capabilities") if isinstance(sc, dict) else None
        add = caps.get("add") if isinstance(caps, dict) else None
        return isinstance(add, list) and any(str(a).upper() in ("IPC_LOCK", "CAP_IPC_LOCK")
                                             for a in add)
    return all(adds(c) for c in containers)


async def pod_facts(client: AsyncClient, name: str, namespace: str,
                    pod: dict[str, object]) -> PodFacts:
    """What the pod itself shows; a command that did not run leaves its fact unknown."""
    facts = PodFacts(ipc_lock=ipc_lock_of(pod))
    ls = await exec_in(client, name, namespace, ["ls", "/dev/infiniband"])
    if ls.exit_code == 0:
        facts.dev_infiniband = ls.stdout.split()
    elif "No such file" in ls.stderr + ls.stdout:
        facts.dev_infiniband = []
    info = await exec_in(client, name, namespace, ["ibv_devinfo", "-l"])
    if info.exit_code == 0:
        with contextlib.suppress(ParseError):
            facts.rdma_devices = [d.name for d in parse_ibv_devinfo(info.stdout)]
    links = await exec_in(client, name, namespace, ["ip", "-o", "link"])
    if links.exit_code == 0:
        facts.interfaces = _IFNAME.findall(links.stdout)
    return facts


async def run_nccl_verify(client: AsyncClient, namespace: str, pods: list[str], *,
                          expected_hcas: list[str] | None = None,
                          gpudirect: bool = False) -> VerifyReport:
    checks: list[CheckResult] = []
    nodes: dict[str, str | None] = {}
    for name in pods:
        pod = await get_pod(client, name, namespace)
        if pod is None:
            raise UsageError(f"pod {namespace}/{name} not found", hint="check --nccl and -n")
        nodes[f"{namespace}/{name}"] = (pod.get("spec") or {}).get("nodeName")
        text = await pod_log(client, name, namespace)
        running = ((pod.get("status") or {}).get("phase")) == "Running"
        facts = await pod_facts(client, name, namespace, pod) if running else PodFacts(
            ipc_lock=ipc_lock_of(pod))
        checks.extend(nccl_checks(f"{namespace}/{name}", text, expected_hcas=expected_hcas,
                                  gpudirect=gpudirect, facts=facts))
    return VerifyReport(namespace=namespace, pods=pods, nodes=nodes, checks=checks)
