"""API calls of the fleet (operator and node agent): NodeReports, TrainingNetwork status, node
readiness labels, and removal of a network's objects. Every call is one request; the decision to
make it (compare before patch) is the caller's.

The custom resources are addressed as generic lightkube resources; their group and version are
fixed here so this layer does not import the operator (data flows one way).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from lightkube import AsyncClient
from lightkube.generic_resource import create_global_resource
from lightkube.resources.core_v1 import Event, Node
from lightkube.types import PatchType

from dualnet import labels
from dualnet.cluster import joint
from dualnet.cluster.apply import Action, ApplyResult, apply_objects, release_joint
from dualnet.cluster.client import request, request_list
from dualnet.cluster.errors import ClusterError, Forbidden, NotFound
from dualnet.cluster.objects import ObjectKey, as_dict, is_owned, kind_rank, obj_labels
from dualnet.cluster.resources import ResourceResolver, is_namespaced

GROUP = "dualnet.io"
VERSION = "v1alpha1"
TrainingNetworkResource: Any = create_global_resource(
    GROUP, VERSION, "TrainingNetwork", "trainingnetworks")
NodeReportResource: Any = create_global_resource(GROUP, VERSION, "NodeReport", "nodereports")

AGENT_FIELD_MANAGER = "dualnet-agent"
OPERATOR_FIELD_MANAGER = "dualnet-operator"
READY_REASON_ANNOTATION = labels.RDMA_READY_REASON


def merge_patch(old: Any, new: Any) -> Any:
    """The RFC 7386 merge patch that turns `old` into `new`."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: dict[str, Any] = {k: None for k in old if k not in new}
        for k, v in new.items():
            if k not in old or old[k] != v:
                out[k] = merge_patch(old.get(k), v)
        return out
    return new


async def node_uid(client: AsyncClient, node: str) -> str | None:
    """The uid of Node `node`, or None when it does not exist or this identity may not read it
    (the NodeReport is then published without its owner reference)."""
    try:
        found = as_dict(await request(client, f"read Node {node}", client.get(Node, node)))
    except (NotFound, Forbidden):
        return None
    uid = (found.get("metadata") or {}).get("uid")
    return str(uid) if uid else None


def node_owner_reference(node: str, uid: str) -> dict[str, Any]:
    """The NodeReport's owner: Kubernetes' garbage collector deletes the report with its Node.
    No blockOwnerDeletion: setting it needs update on nodes/finalizers, which the agent lacks."""
    return {"apiVersion": "v1", "kind": "Node", "name": node, "uid": uid}


async def publish_node_report(client: AsyncClient, node: str, status: Mapping[str, Any],
                              *, owner_uid: str | None = None) -> None:
    """Write this node's NodeReport (name = node name) with server-side apply. A server that does
    not create on apply (some emulators) gets a create instead: the result is the same object.
    With `owner_uid` (the Node's uid) the report is owned by its Node, so deleting the Node
    deletes the report."""
    meta: dict[str, Any] = {"name": node,
                            "labels": {labels.MANAGED_BY: labels.MANAGED_BY_VALUE}}
    if owner_uid:
        meta["ownerReferences"] = [node_owner_reference(node, owner_uid)]
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "NodeReport",
        "metadata": meta,
        "status": dict(status),
    }

    try:
        await request(client, f"publish NodeReport {node}", client.patch(
            NodeReportResource, node, body, patch_type=PatchType.APPLY,
            field_manager=AGENT_FIELD_MANAGER, force=True))
    except NotFound:
        await request(client, f"create NodeReport {node}", client.create(
            NodeReportResource.from_dict(body), field_manager=AGENT_FIELD_MANAGER))


async def get_node_report(client: AsyncClient, node: str) -> dict[str, Any] | None:
    """NodeReport `node` as stored, or None when there is none (or this identity may not read
    it)."""
    try:
        return as_dict(await request(client, f"read NodeReport {node}",
                                     client.get(NodeReportResource, node)))
    except (NotFound, Forbidden):
        return None


async def list_node_reports(client: AsyncClient) -> list[dict[str, Any]]:
    found = await request_list(client, "list NodeReports", client.list(NodeReportResource))
    return [as_dict(r) for r in found]


async def list_training_networks(client: AsyncClient) -> list[dict[str, Any]]:
    try:
        found = await request_list(client, "list TrainingNetworks",
                                   client.list(TrainingNetworkResource))
    except NotFound:
        return []  # the CRD is not installed: no network to diagnose for
    return [as_dict(r) for r in found]


async def patch_network_status(
    client: AsyncClient, name: str, status: Mapping[str, Any],
    previous: Mapping[str, Any] | None = None,
) -> None:
    """Replace the TrainingNetwork's status: a JSON merge patch on the status subresource that
    turns `previous` into `status` (merge patches merge maps, so every key that went away, at
    any depth, is sent as null; lists are replaced whole)."""
    patch = merge_patch(dict(previous or {}), dict(status))
    if isinstance(patch, dict):
        patch.pop("kopf", None)  # kopf's own bookkeeping, if a kopf version keeps it here

    with contextlib.suppress(NotFound):  # deleted meanwhile: nothing left to report on
        await request(client, f"update the status of TrainingNetwork {name}", client.patch(
            TrainingNetworkResource.Status, name, {"status": patch}, patch_type=PatchType.MERGE,
            field_manager=OPERATOR_FIELD_MANAGER))


async def patch_node(client: AsyncClient, node: str, patch: Mapping[str, Any]) -> bool:
    """One JSON merge patch of a Node's metadata/spec (readiness label, its reason, taints).
    False when the node is gone."""
    try:
        await request(client, f"update node {node}", client.patch(
            Node, node, dict(patch), patch_type=PatchType.MERGE,
            field_manager=OPERATOR_FIELD_MANAGER))
    except NotFound:
        return False
    return True


async def set_node_condition(client: AsyncClient, node: str,
                             condition: Mapping[str, Any]) -> bool:
    """Set one condition on the Node's status: a strategic merge patch, which merges
    status.conditions by `type`, so the kubelet's own conditions are left as they are. False when
    the node is gone."""
    try:
        await request(client, f"set condition {condition.get('type')} on node {node}",
                      client.patch(Node.Status, node, {"status": {"conditions": [
                          dict(condition)]}}, patch_type=PatchType.STRATEGIC,
                          field_manager=OPERATOR_FIELD_MANAGER))
    except NotFound:
        return False
    return True


async def set_node_report_conditions(client: AsyncClient, node: str,
                                     conditions: list[dict[str, Any]]) -> bool:
    """Replace a NodeReport's status.conditions (merge patch: the list is replaced whole, so the
    caller sends every condition). False when the report is gone."""
    try:
        await request(client, f"update conditions of NodeReport {node}", client.patch(
            NodeReportResource, node, {"status": {"conditions": conditions}},
            patch_type=PatchType.MERGE, field_manager=OPERATOR_FIELD_MANAGER))
    except NotFound:
        return False
    return True


EVENTS_NAMESPACE = "default"  # where Events about cluster-scoped objects live (as kubelet's)


async def create_event(client: AsyncClient, *, kind: str, api_version: str, name: str,
                       uid: str | None, type_: str, reason: str, message: str,
                       time: str, component: str = OPERATOR_FIELD_MANAGER) -> None:
    """Post one core/v1 Event about a cluster-scoped object (a Node, a TrainingNetwork)."""
    involved: dict[str, Any] = {"kind": kind, "apiVersion": api_version, "name": name}
    if uid:
        involved["uid"] = uid
    body = {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{name}.{uuid.uuid4().hex[:16]}",
                     "namespace": EVENTS_NAMESPACE},
        "involvedObject": involved, "type": type_, "reason": reason[:128],
        "message": message, "source": {"component": component},
        "reportingComponent": f"dualnet.io/{component}", "reportingInstance": component,
        "firstTimestamp": time, "lastTimestamp": time, "count": 1,
    }
    await request(client, f"post Event {reason} about {kind} {name}", client.create(
        Event.from_dict(body)))


async def list_nodes(client: AsyncClient) -> list[dict[str, Any]]:
    """Every Node as the API returns it (what the operator's node watch delivers)."""
    return [as_dict(n) for n in await request_list(client, "list nodes", client.list(Node))]


class OwnedRef(NamedTuple):
    api_version: str
    kind: str
    namespace: str | None
    name: str


async def apply_network_objects(client: AsyncClient, network: str,
                                objects: list[dict[str, Any]]) -> ApplyResult:
    """Server-side apply a network's rendered objects (no listing-based prune: the operator
    prunes from its inventory with `delete_owned`, which needs no cluster-wide list rights)."""
    return await apply_objects(client, objects, prune=False, network=network)


async def delete_owned(client: AsyncClient, network: str, refs: Iterable[OwnedRef]) -> int:
    """Delete each referenced object that still carries managed-by=dualnet and
    dualnet.io/network=<network> (read first, checked, then deleted: an object the user took over
    or another network's object is left alone). Returns the number deleted."""
    resolver = ResourceResolver(client)
    deleted = 0
    for ref in sorted(set(refs), key=lambda r: -kind_rank(r.kind)):
        try:
            res = await resolver.resolve(ref.api_version, ref.kind)
        except ClusterError:
            continue  # the kind is no longer served: nothing of it can exist
        ns = ref.namespace if is_namespaced(res) else None

        try:
            live = as_dict(await request(client, f"read {ref.kind} {ref.name}",
                                         client.get(res, ref.name, namespace=ns)))
            if is_owned(live) and joint.is_joint(live):
                # every network's one config: only this network's entries go (joint.py)
                if network in joint.owners(live):
                    key = ObjectKey(ref.api_version, ref.kind, ns, ref.name)
                    if await release_joint(client, res, key, live, network) is Action.PRUNED:
                        deleted += 1
                continue
            if not is_owned(live) or obj_labels(live).get(labels.NETWORK) != network:
                continue
            await request(client, f"delete {ref.kind} {ref.name}",
                          client.delete(res, ref.name, namespace=ns))
            deleted += 1
        except NotFound:
            continue
    return deleted
