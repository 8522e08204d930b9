"""API calls of the fleet (operator and node agent): NodeReports, TrainingNetwork status, node
readiness labels, and removal of a network's objects. Every call is one request; the decision to
make it (compare before patch) is the caller's.

The custom resources are addressed as generic lightkube resources; their group and version are
fixed here so this layer does not import the operator (data flows one way).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from lightkube import AsyncClient
from lightkube.core.exceptions import ApiError
from lightkube.generic_resource import create_global_resource
from lightkube.resources.core_v1 import Node
from lightkube.types import PatchType

from dualnet import labels
from dualnet.cluster import joint
from dualnet.cluster.apply import Action, ApplyResult, apply_objects, release_joint
from dualnet.cluster.client import api_error_message, call_api
from dualnet.cluster.errors import ClusterError
from dualnet.cluster.objects import ObjectKey, as_dict, is_owned, kind_rank, obj_labels
from dualnet.cluster.resources import ResourceResolver, is_namespaced

GROUP = "dualnet.io"
VERSION = "v1alpha1"
TrainingNetworkResource: Any = create_global_resource(
    GROUP, VERSION, "TrainingNetwork", "trainingnetworks")
NodeReportResource: Any = create_global_resource(GROUP, VERSION, "NodeReport", "nodereports")

AGENT_FIELD_MANAGER = "dualnet-agent"
OPERATOR_FIELD_MANAGER = "dualnet-operator"
READY_REASON_ANNOTATION = "dualnet.io/rdma-ready-reason"


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
    async def _get() -> Any:
        return await client.get(Node, node)

    try:
        found = as_dict(await call_api(client, f"read Node {node}", _get))
    except ApiError as exc:
        if exc.status.code in (403, 404):
            return None
        raise ClusterError(f"reading Node {node} failed: {api_error_message(exc)}") from exc
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

    async def _apply() -> Any:
        return await client.patch(NodeReportResource, node, body, patch_type=PatchType.APPLY,
                                  field_manager=AGENT_FIELD_MANAGER, force=True)

    async def _create() -> Any:
        return await client.create(NodeReportResource.from_dict(body),
                                    field_manager=AGENT_FIELD_MANAGER)

    try:
        await call_api(client, f"publish NodeReport {node}", _apply)
    except ApiError as exc:
        if exc.status.code != 404:
            raise ClusterError(f"publishing NodeReport {node} failed: "
                               f"{api_error_message(exc)}") from exc
        try:
            await call_api(client, f"create NodeReport {node}", _create)
        except ApiError as exc2:
            raise ClusterError(f"creating NodeReport {node} failed: "
                               f"{api_error_message(exc2)}") from exc2


async def list_node_reports(client: AsyncClient) -> list[dict[str, Any]]:
    async def _list() -> list[Any]:
        return [r async for r in client.list(NodeReportResource)]

    try:
        return [as_dict(r) for r in await call_api(client, "list NodeReports", _list)]
    except ApiError as exc:
        raise ClusterError(f"listing NodeReports failed: {api_error_message(exc)}") from exc


async def list_training_networks(client: AsyncClient) -> list[dict[str, Any]]:
    async def _list() -> list[Any]:
        return [r async for r in client.list(TrainingNetworkResource)]

    try:
        return [as_dict(r) for r in await call_api(client, "list TrainingNetworks", _list)]
    except ApiError as exc:
        if exc.status.code == 404:
            return []  # the CRD is not installed: no network to diagnose for
        raise ClusterError(f"listing TrainingNetworks failed: {api_error_message(exc)}") from exc


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

    async def _patch() -> Any:
        return await client.patch(TrainingNetworkResource.Status, name, {"status": patch},
                                  patch_type=PatchType.MERGE,
                                  field_manager=OPERATOR_FIELD_MANAGER)

    try:
        await call_api(client, f"patch TrainingNetwork {name} status", _patch)
    except ApiError as exc:
        if exc.status.code == 404:
            return  # deleted meanwhile: nothing left to report on
        raise ClusterError(f"updating status of TrainingNetwork {name} failed: "
                           f"{api_error_message(exc)}") from exc


async def label_node_readiness(client: AsyncClient, node: str, value: str, reason: str) -> bool:
    """Set `dualnet.io/rdma-ready=<value>` and the reason annotation on one node. False when the
    node is gone."""
    patch = {"metadata": {"labels": {labels.RDMA_READY: value},
                          "annotations": {READY_REASON_ANNOTATION: reason}}}

    async def _patch() -> Any:
        return await client.patch(Node, node, patch, patch_type=PatchType.MERGE,
                                  field_manager=OPERATOR_FIELD_MANAGER)

    try:
        await call_api(client, f"label node {node}", _patch)
    except ApiError as exc:
        if exc.status.code == 404:
            return False
        raise ClusterError(f"labelling node {node} failed: {api_error_message(exc)}") from exc
    return True


async def list_node_labels(client: AsyncClient) -> dict[str, dict[str, str]]:
    """node name -> labels plus the readiness-reason annotation (under its annotation key)."""
    async def _list() -> list[Any]:
        return [n async for n in client.list(Node)]

    try:
        nodes = await call_api(client, "list nodes", _list)
    except ApiError as exc:
        raise ClusterError(f"listing nodes failed: {api_error_message(exc)}") from exc
    out: dict[str, dict[str, str]] = {}
    for n in nodes:
        meta = as_dict(n).get("metadata") or {}
        found = dict(meta.get("labels") or {})
        reason = (meta.get("annotations") or {}).get(READY_REASON_ANNOTATION)
        if reason is not None:
            found[READY_REASON_ANNOTATION] = reason
        out[str(meta.get("name"))] = found
    return out


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

        async def _get(res: Any = res, ns: str | None = ns, ref: OwnedRef = ref) -> Any:
            return await client.get(res, ref.name, namespace=ns)

        async def _delete(res: Any = res, ns: str | None = ns, ref: OwnedRef = ref) -> Any:
            return await client.delete(res, ref.name, namespace=ns)

        try:
            live = as_dict(await call_api(client, f"read {ref.kind} {ref.name}", _get))
            if is_owned(live) and joint.is_joint(live):
                # every network's one config: only this network's entries go (joint.py)
                if network in joint.owners(live):
                    key = ObjectKey(ref.api_version, ref.kind, ns, ref.name)
                    if await release_joint(client, res, key, live, network) is Action.PRUNED:
                        deleted += 1
                continue
            if not is_owned(live) or obj_labels(live).get(labels.NETWORK) != network:
                continue
            await call_api(client, f"delete {ref.kind} {ref.name}", _delete)
            deleted += 1
        except ApiError as exc:
            if exc.status.code == 404:
                continue
            raise ClusterError(f"deleting {ref.kind} {ref.name} failed: "
                               f"{api_error_message(exc)}") from exc
    return deleted
