"""Reads `verify --dra` and `bench --dra` need: a ResourceClaim (resource.k8s.io/v1), a pod's
events, and the bench Jobs `render --target dra` wrote."""

from __future__ import annotations

from typing import Any

from lightkube import AsyncClient
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Event

from dualnet.cluster.client import request, request_list
from dualnet.cluster.errors import ClusterError, NotFound, Unreachable

ResourceClaim: Any = create_namespaced_resource(
    "resource.k8s.io", "v1", "ResourceClaim", "resourceclaims")


def _as_dict(obj: Any) -> dict[str, Any]:
    return dict(obj.to_dict()) if hasattr(obj, "to_dict") else dict(obj)


async def get_resource_claim(client: AsyncClient, name: str, namespace: str
                             ) -> dict[str, Any] | None:
    """The claim as the API returns it; None when it does not exist."""
    try:
        claim = await request(client, f"read ResourceClaim {namespace}/{name}",
                              client.get(ResourceClaim, name, namespace=namespace))
    except NotFound:
        return None
    return _as_dict(claim)


async def pod_events(client: AsyncClient, pod: str, namespace: str
                     ) -> list[dict[str, Any]] | None:
    """The events about `pod`, oldest first as listed; None when they could not be read (they
    are evidence only, so a caller's verdict stands without them)."""
    try:
        events = await request_list(client, f"list events in {namespace}",
                                    client.list(Event, namespace=namespace))
    except Unreachable:
        raise
    except ClusterError:
        return None
    found = [_as_dict(e) for e in events]
    return [e for e in found if (e.get("involvedObject") or {}).get("name") == pod]


async def list_jobs(client: AsyncClient, namespace: str, labels: dict[str, str]
                    ) -> list[dict[str, Any]]:
    """The Jobs in `namespace` that carry every one of `labels`."""
    selector: dict[str, Any] = dict(labels)
    found = await request_list(client, f"list jobs in {namespace}",
                               client.list(Job, namespace=namespace, labels=selector))
    return [_as_dict(j) for j in found]
