"""`verify` of a DRA pod against the cluster: read the pod's ResourceClaims, its events and
`ip addr` inside it, then judge them with `dra_claims.check_claim`."""

from __future__ import annotations

from lightkube import AsyncClient

from dualnet.cluster.dra_reads import get_resource_claim, pod_events
from dualnet.cluster.pods import exec_in, get_pod
from dualnet.errors import UsageError
from dualnet.verify.dra_claims import CLAIM_CHECK, check_claim
from dualnet.verify.models import CheckResult, Status, VerifyReport


async def verify_dra_pod(client: AsyncClient, name: str, namespace: str, *,
                         exclusive_rdma: bool = False) -> list[CheckResult]:
    """One row per allocated device of every ResourceClaim of the pod (see check_claim)."""
    target = f"{namespace}/{name}"
    pod = await get_pod(client, name, namespace)
    if pod is None:
        raise UsageError(f"pod {target} not found", hint="check --pods and --namespace")
    statuses = (pod.get("status") or {}).get("resourceClaimStatuses") or []
    events = await pod_events(client, name, namespace)
    if not statuses:
        return [CheckResult(check=CLAIM_CHECK, target=target, status=Status.FAIL,
                            summary="pod status lists no ResourceClaim: it has no DRA device "
                            "(spec.resourceClaims) or the claim was never generated")]
    res = await exec_in(client, name, namespace, ["ip", "addr"])
    ip_addr = res.stdout if res.exit_code == 0 else None
    out: list[CheckResult] = []
    for entry in statuses:
        claim_name = entry.get("resourceClaimName")
        if not claim_name:
            out.append(CheckResult(check=CLAIM_CHECK, target=f"{target} {entry.get('name')}",
                                   status=Status.FAIL,
                                   summary="no ResourceClaim was generated for this entry"))
            continue
        claim = await get_resource_claim(client, claim_name, namespace)
        if claim is None:
            out.append(CheckResult(check=CLAIM_CHECK, target=f"{target} {claim_name}",
                                   status=Status.FAIL,
                                   summary=f"ResourceClaim {namespace}/{claim_name} not found"))
            continue
        out.extend(check_claim(target, claim, ip_addr, events, exclusive_rdma=exclusive_rdma))
    return out


async def run_dra_verify(client: AsyncClient, namespace: str, pods: list[str], *,
                         exclusive_rdma: bool = False) -> VerifyReport:
    """`dualnet verify --dra --pods a,b`: the claim rows of every pod, in the verify table."""
    report = VerifyReport(namespace=namespace, pods=pods)
    for name in pods:
        pod = await get_pod(client, name, namespace)
        report.nodes[f"{namespace}/{name}"] = ((pod or {}).get("spec") or {}).get("nodeName")
        report.checks.extend(
            await verify_dra_pod(client, name, namespace, exclusive_rdma=exclusive_rdma))
    return report
