"""`verify` of a DRA pod against the cluster: read the pod's ResourceClaims, its events and
`ip addr` inside it, then judge them with `dra_claims.check_claim`."""

from __future__ import annotations

from typing import Any

from lightkube import AsyncClient
from lightkube.core.exceptions import ApiError
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.core_v1 import Event

from dualnet.cluster.client import call_api
from dualnet.cluster.errors import ClusterError
from dualnet.cluster.pods import exec_in, get_pod
from dualnet.errors import UsageError
from dualnet.verify.dra_claims import CLAIM_CHECK, check_claim
from dualnet.verify.models import CheckResult, Status

ResourceClaim: Any = create_namespaced_resource(
    "resource.k8s.io", "v1", "ResourceClaim", "resourceclaims")


def _as_dict(obj: Any) -> dict[str, Any]:
    return dict(obj.to_dict()) if hasattr(obj, "to_dict") else dict(obj)


async def _events(client: AsyncClient, pod: str, namespace: str) -> list[dict[str, Any]] | None:
    async def _list() -> list[Any]:
        return [e async for e in client.list(Event, namespace=namespace)]

    try:
        events = await call_api(client, f"list events in {namespace}", _list)
    except ApiError:
        return None  # evidence only: the claim's verdict stands without it
    found = [_as_dict(e) for e in events]
    return [e for e in found if (e.get("involvedObject") or {}).get("name") == pod]


async def verify_dra_pod(client: AsyncClient, name: str, namespace: str, *,
                         exclusive_rdma: bool = False) -> list[CheckResult]:
    """One row per allocated device of every ResourceClaim of the pod (see check_claim)."""
    target = f"{namespace}/{name}"
    pod = await get_pod(client, name, namespace)
    if pod is None:
        raise UsageError(f"pod {target} not found", hint="check --pods and --namespace")
    statuses = (pod.get("status") or {}).get("resourceClaimStatuses") or []
    events = await _events(client, name, namespace)
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
        claim = await _claim(client, claim_name, namespace)
        if claim is None:
            out.append(CheckResult(check=CLAIM_CHECK, target=f"{target} {claim_name}",
                                   status=Status.FAIL,
                                   summary=f"ResourceClaim {namespace}/{claim_name} not found"))
            continue
        out.extend(check_claim(target, claim, ip_addr, events, exclusive_rdma=exclusive_rdma))
    return out


async def _claim(client: AsyncClient, name: str, namespace: str) -> dict[str, Any] | None:
    async def _get() -> Any:
        return await client.get(ResourceClaim, name, namespace=namespace)

    try:
        return _as_dict(await call_api(client, f"read ResourceClaim {namespace}/{name}", _get))
    except ApiError as exc:
        if exc.status.code == 404:
            return None
        raise ClusterError(f"reading ResourceClaim {namespace}/{name}: {exc.status.message}"
                           ) from exc
