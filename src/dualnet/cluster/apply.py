"""Server-side apply of rendered objects: idempotent, ownership-aware, with prune and dry run.

For each object: read the live one; if it exists without managed-by=dualnet it is the user's and
is left alone ("skipped: not owned"); if every desired field already has its value and dualnet's
server-side apply entry in metadata.managedFields owns no field that is no longer rendered,
nothing is sent (a second apply makes no write request); otherwise one apply PATCH with dualnet's
field manager, which also removes the fields dualnet stopped setting. `prune` then deletes
dualnet-owned objects of the same network that were not rendered.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Any

from lightkube import AsyncClient
from lightkube.types import PatchType
from pydantic import BaseModel, Field

from dualnet import labels
from dualnet.cluster import joint
from dualnet.cluster.client import request, request_list
from dualnet.cluster.errors import NotFound
from dualnet.cluster.objects import (
    Obj,
    ObjectKey,
    as_dict,
    comparable,
    is_owned,
    is_subset,
    kind_rank,
    load_objects,
    obj_labels,
    sort_for_apply,
    unrendered_owned_fields,
    with_ownership,
)
from dualnet.cluster.resources import (
    KNOWN_CRDS,
    ResourceResolver,
    ResourceType,
    builtin,
    generic,
    is_namespaced,
)
from dualnet.errors import UsageError

__all__ = ["Action", "ApplyResult", "ObjectOutcome", "apply_objects", "load_objects",
           "release_joint"]

# Kinds `prune` looks at besides the ones rendered now. Namespaces are never pruned: deleting one
# deletes everything in it, including what is not dualnet's.
PRUNE_KINDS: list[tuple[str, str]] = [
    ("v1", "ConfigMap"),
    ("v1", "ServiceAccount"),
    ("v1", "Service"),
    ("v1", "Pod"),
    ("apps/v1", "DaemonSet"),
    ("apps/v1", "Deployment"),
    ("batch/v1", "Job"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("k8s.cni.cncf.io/v1", "NetworkAttachmentDefinition"),
    ("kubeflow.org/v2beta1", "MPIJob"),
]


class Action(StrEnum):
    CREATED = "created"
    CONFIGURED = "configured"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    PRUNED = "pruned"


class ObjectOutcome(BaseModel):
    kind: str
    api_version: str
    namespace: str | None = None
    name: str
    action: Action
    reason: str | None = Field(
        default=None,
        description="why, for skipped objects; the fields removed, for configured ones")
    dry_run: bool = False

    @property
    def ref(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{where}{self.name}"


class ApplyResult(BaseModel):
    dry_run: bool = False
    network: str | None = None
    outcomes: list[ObjectOutcome] = Field(default_factory=list)
    writes: int = Field(default=0, description="write requests sent (PATCH/DELETE)")

    def count(self, action: Action) -> int:
        return sum(1 for o in self.outcomes if o.action is action)

    @property
    def skipped(self) -> list[ObjectOutcome]:
        return [o for o in self.outcomes if o.action is Action.SKIPPED]


CRD_WAIT_ATTEMPTS = 10
READ_CONCURRENCY = 8
NOT_OWNED = f"not owned: exists without {labels.MANAGED_BY}={labels.MANAGED_BY_VALUE}"


def _network_of(objects: list[Obj], network: str | None) -> str | None:
    if network:
        return network
    found = {obj_labels(o).get(labels.NETWORK) for o in objects} - {None}
    if len(found) > 1:
        raise UsageError(
            f"the objects belong to several networks ({', '.join(sorted(str(f) for f in found))})",
            hint="apply one network's render output at a time, or pass --network",
        )
    return next(iter(found), None)


async def _get(client: AsyncClient, res: ResourceType, key: ObjectKey) -> Obj | None:
    try:
        return as_dict(await request(client, f"read {key}",
                                     client.get(res, key.name, namespace=key.namespace)))
    except NotFound:
        return None


async def _apply_one(
    client: AsyncClient, res: ResourceType, key: ObjectKey, body: Obj, dry_run: bool,
    *, crd_pending: bool = False,
) -> None:
    # A CRD applied earlier in this run takes a moment before the API serves its kind.
    attempts = CRD_WAIT_ATTEMPTS if crd_pending else 1
    for attempt in range(attempts):
        try:
            await request(client, f"apply {key}", client.patch(
                res, key.name, body, namespace=key.namespace, patch_type=PatchType.APPLY,
                field_manager=labels.FIELD_MANAGER,
                # dualnet is the source of truth for the objects it owns (checked before this)
                force=True, dry_run=dry_run))
            return
        except NotFound as exc:
            if attempt + 1 < attempts:
                await asyncio.sleep(1.0)
                continue
            exc.hint = (f"the cluster does not serve {key.kind} ({key.api_version}): install "
                        "its CRD first (NetworkAttachmentDefinition: Multus)")
            raise


async def _delete(client: AsyncClient, res: ResourceType, key: ObjectKey, dry_run: bool) -> None:
    with contextlib.suppress(NotFound):
        await request(client, f"prune {key}",
                      client.delete(res, key.name, namespace=key.namespace, dry_run=dry_run))


def _prune_resource(api_version: str, kind: str) -> ResourceType | None:
    res = builtin(api_version, kind)
    if res is None and (api_version, kind) in KNOWN_CRDS:
        res = generic(api_version, kind, KNOWN_CRDS[(api_version, kind)])
    return res


async def _prune(
    client: AsyncClient,
    network: str,
    keep: set[ObjectKey],
    kinds: set[tuple[str, str]],
    dry_run: bool,
    result: ApplyResult,
) -> None:
    selector: dict[str, Any] = {labels.MANAGED_BY: labels.MANAGED_BY_VALUE,
                                labels.NETWORK: network}
    ordered = sorted(kinds, key=lambda k: -kind_rank(k[1]))
    async for res, key, obj in _labelled_live(client, ordered, selector):
        own = obj_labels(obj)
        # the selector already asked for this; checked again so nothing else is ever deleted
        if not is_owned(obj) or own.get(labels.NETWORK) != network or key in keep:
            continue
        await _delete(client, res, key, dry_run)
        result.writes += 1
        result.outcomes.append(
            ObjectOutcome(kind=key.kind, api_version=key.api_version, namespace=key.namespace,
                          name=key.name, action=Action.PRUNED, dry_run=dry_run)
        )


async def _labelled_live(
    client: AsyncClient, kinds: list[tuple[str, str]], selector: dict[str, Any]
) -> AsyncIterator[tuple[ResourceType, ObjectKey, dict[str, Any]]]:
    """Every live object of `kinds` (in that order) that carries `selector`, with its key;
    a kind whose CRD is not installed has none."""
    for api_version, kind in kinds:
        res = _prune_resource(api_version, kind)
        if res is None:
            continue
        namespaced = is_namespaced(res)
        try:
            live = await request_list(client, f"list {kind} for prune", client.list(
                res, namespace="*" if namespaced else None, labels=selector))
        except NotFound:
            continue  # the CRD is not installed: nothing of that kind can exist
        for item in live:
            obj = as_dict(item)
            meta = obj.get("metadata") or {}
            yield res, ObjectKey(api_version, kind,
                                 meta.get("namespace") if namespaced else None,
                                 str(meta.get("name"))), obj


async def apply_objects(
    client: AsyncClient,
    objects: list[dict[str, Any]],
    *,
    prune: bool = False,
    dry_run: bool = False,
    network: str | None = None,
) -> ApplyResult:
    """Server-side apply `objects` (from `dualnet render`) with dualnet's field manager."""
    net = _network_of(objects, network)
    if prune and not net:
        raise UsageError(
            "--prune needs to know the network: the objects carry no "
            f"{labels.NETWORK} label and no --network was given"
        )
    result = ApplyResult(dry_run=dry_run, network=net)
    resolver = ResourceResolver(client)
    keep: set[ObjectKey] = set()
    kinds: set[tuple[str, str]] = set(PRUNE_KINDS)
    default_ns = client.namespace or "default"
    crd_applied = False
    for obj in objects:
        if obj.get("kind") == "CustomResourceDefinition":
            resolver.learn(obj)

    planned: list[tuple[ResourceType, ObjectKey, Obj]] = []
    for raw in sort_for_apply(objects):
        desired = with_ownership(raw, net)
        api_version, kind = str(desired["apiVersion"]), str(desired["kind"])
        res = await resolver.resolve(api_version, kind)
        meta = dict(desired["metadata"])
        if is_namespaced(res):
            meta["namespace"] = meta.get("namespace") or default_ns
        else:
            meta.pop("namespace", None)
        desired["metadata"] = meta
        key = ObjectKey(api_version, kind, meta.get("namespace"), str(meta["name"]))
        keep.add(key)
        kinds.add((api_version, kind))
        planned.append((res, key, desired))

    # Reads go out together (bounded); writes stay one by one in dependency order.
    gate = asyncio.Semaphore(READ_CONCURRENCY)

    async def _read(res: ResourceType, key: ObjectKey) -> Obj | None:
        async with gate:
            return await _get(client, res, key)

    lives = await asyncio.gather(*(_read(res, key) for res, key, _ in planned))

    for (res, key, desired), live in zip(planned, lives, strict=True):
        if joint.is_joint(desired) and (live is None or is_owned(live)):
            # one config for every network: keep the others' entries (joint.py)
            desired = joint.merge(live, desired, obj_labels(desired)[labels.NETWORK])
        outcome = ObjectOutcome(
            kind=key.kind, api_version=key.api_version, namespace=key.namespace, name=key.name,
            action=Action.UNCHANGED, dry_run=dry_run,
        )
        stale = [] if live is None else unrendered_owned_fields(live, desired)
        if live is not None and not is_owned(live):
            outcome.action, outcome.reason = Action.SKIPPED, NOT_OWNED
        elif live is not None and not stale and is_subset(comparable(desired), live):
            outcome.action = Action.UNCHANGED
        else:
            await _apply_one(client, res, key, desired, dry_run,
                             crd_pending=crd_applied and not builtin(key.api_version, key.kind))
            result.writes += 1
            outcome.action = Action.CREATED if live is None else Action.CONFIGURED
            if stale:
                # the apply drops what dualnet stopped setting: say which
                outcome.reason = "removes " + ", ".join(stale)
            crd_applied = crd_applied or (key.kind == "CustomResourceDefinition" and not dry_run)
        result.outcomes.append(outcome)

    if prune and net:
        await _prune(client, net, keep, kinds, dry_run, result)
        await _release_joint(client, net, keep, kinds, dry_run, result)
    return result


async def release_joint(
    client: AsyncClient, res: ResourceType, key: ObjectKey, live: Obj, network: str,
    *, dry_run: bool = False,
) -> Action:
    """Take `network`'s entries out of a jointly owned object (joint.py): delete it when no
    other network is left (PRUNED), else apply the rest (CONFIGURED)."""
    rest = joint.release(live, network)
    if rest is None:
        await _delete(client, res, key, dry_run)
        return Action.PRUNED
    body = dict(comparable(rest))
    body["metadata"] = {k: v for k, v in body["metadata"].items()
                        if k in ("name", "namespace", "labels", "annotations")}
    await _apply_one(client, res, key, body, dry_run)
    return Action.CONFIGURED


async def _release_joint(
    client: AsyncClient,
    network: str,
    keep: set[ObjectKey],
    kinds: set[tuple[str, str]],
    dry_run: bool,
    result: ApplyResult,
) -> None:
    """Prune for jointly owned objects this network no longer renders: take its entries out,
    and delete the object only when no other network has any left."""
    selector: dict[str, Any] = {labels.MANAGED_BY: labels.MANAGED_BY_VALUE,
                                labels.NETWORK: joint.JOINT_NETWORK}
    candidates = {k for k in kinds if k[1] in joint.joint_kinds()} | {
        ("v1", "ConfigMap"), ("mellanox.com/v1alpha1", "NicClusterPolicy")}
    async for res, key, live in _labelled_live(client, sorted(candidates), selector):
        if key in keep or not is_owned(live) or not joint.is_joint(live) or (
            network not in joint.owners(live)
        ):
            continue
        action = await release_joint(client, res, key, live, network, dry_run=dry_run)
        reason = None if action is Action.PRUNED else f"removes network {network}'s entries"
        result.writes += 1
        result.outcomes.append(ObjectOutcome(
            kind=key.kind, api_version=key.api_version, namespace=key.namespace, name=key.name,
            action=action, reason=reason, dry_run=dry_run))
