"""apply against an API server: create, idempotency by counted write requests, ownership, prune,
dry run. Marked e2e: with DUALNET_E2E_KUBECONFIG set they run against that cluster instead."""

from __future__ import annotations

import copy

import pytest

from dualnet import labels
from dualnet.cluster.apply import NOT_OWNED, Action, apply_objects
from dualnet.errors import UsageError
from tests.cluster.helpers import rendered
from tests.helpers import Harness

pytestmark = pytest.mark.e2e

async def test_first_apply_creates_everything_with_ownership_labels(harness: Harness) -> None:
    objs = rendered(harness.namespace, harness.network)
    result = await apply_objects(harness.client, objs)
    assert [o.action for o in result.outcomes] == [Action.CREATED] * 3
    assert result.network == harness.network
    # applied in dependency order: ServiceAccount and ConfigMap before the DaemonSet
    assert [o.kind for o in result.outcomes] == ["ServiceAccount", "ConfigMap", "DaemonSet"]
    live = await harness.get(objs[1])
    assert live is not None
    assert live["metadata"]["labels"][labels.MANAGED_BY] == "dualnet"
    assert live["metadata"]["labels"][labels.NETWORK] == harness.network
    # rdma-devices is every network's one config: owned jointly (cluster/joint.py)
    cm = await harness.get(objs[0])
    assert cm is not None and cm["metadata"]["labels"][labels.NETWORK] == "dualnet_joint"
    if harness.server is not None:
        patches = [r for r in harness.server if r.method.value == "PATCH"]
        assert len(patches) == 3
        assert all(r.params.get("fieldManager") == labels.FIELD_MANAGER for r in patches)
        assert all(r.headers["Content-Type"].startswith("application/apply-patch")
                   for r in patches)


async def test_second_apply_sends_no_write_request(harness: Harness) -> None:
    objs = rendered(harness.namespace, harness.network)
    await apply_objects(harness.client, objs)
    before = harness.write_count()
    live_before = await harness.get(objs[1])
    result = await apply_objects(harness.client, copy.deepcopy(objs))
    assert {o.action for o in result.outcomes} == {Action.UNCHANGED}
    assert result.writes == 0
    if harness.server is not None:
        assert harness.write_count() == before  # counted at the server, not by the client
    live_after = await harness.get(objs[1])
    assert live_before is not None and live_after is not None
    assert (live_after["metadata"].get("resourceVersion")
            == live_before["metadata"].get("resourceVersion"))


async def test_changed_object_is_configured_and_only_it_is_written(harness: Harness) -> None:
    objs = rendered(harness.namespace, harness.network)
    await apply_objects(harness.client, objs)
    before = harness.write_count()
    changed = copy.deepcopy(objs)
    changed[0]["data"]["extra"] = "1"
    result = await apply_objects(harness.client, changed)
    actions = {o.name: o.action for o in result.outcomes}
    assert actions == {"rdma-devices": Action.CONFIGURED, "rdma-shared-dp-ds": Action.UNCHANGED,
                       "dualnet-test": Action.UNCHANGED}
    if before is not None:
        assert harness.write_count() == before + 1
    live = await harness.get(objs[0])
    assert live is not None and live["data"]["extra"] == "1"


async def test_object_without_managed_by_is_never_modified(harness: Harness) -> None:
    ns = harness.namespace
    users = {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "rdma-devices", "namespace": ns, "labels": {"team": "infra"}},
             "data": {"config.json": "{\"mine\": true}"}}
    await harness.seed(users)
    before = harness.write_count()
    result = await apply_objects(harness.client, rendered(ns, harness.network))
    skipped = result.skipped
    assert [(o.kind, o.name) for o in skipped] == [("ConfigMap", "rdma-devices")]
    assert skipped[0].reason == NOT_OWNED and "not owned" in NOT_OWNED
    live = await harness.get(users)
    assert live is not None
    assert live["data"] == {"config.json": "{\"mine\": true}"}
    assert labels.MANAGED_BY not in live["metadata"].get("labels", {})
    if before is not None:
        assert harness.write_count() == before + 2  # the ServiceAccount and the DaemonSet only


async def test_prune_deletes_only_owned_objects_of_this_network(harness: Harness) -> None:
    ns = harness.namespace
    objs = rendered(ns, harness.network)
    await apply_objects(harness.client, objs)
    other_net = {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "other-net-cm", "namespace": ns,
                              "labels": labels.owned_labels("another-net", "component")},
                 "data": {"a": "b"}}
    users = {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "users-cm", "namespace": ns,
                          "labels": {labels.NETWORK: harness.network}}, "data": {"a": "b"}}
    await harness.seed(other_net)
    await harness.seed(users)
    # render no longer produces the ConfigMap
    result = await apply_objects(harness.client, objs[1:], prune=True)
    pruned = [(o.kind, o.name) for o in result.outcomes if o.action is Action.PRUNED]
    assert pruned == [("ConfigMap", "rdma-devices")]
    assert await harness.get(objs[0]) is None
    assert await harness.get(other_net) is not None
    assert await harness.get(users) is not None
    assert await harness.get(objs[1]) is not None


async def test_dry_run_persists_nothing(harness: Harness) -> None:
    objs = rendered(harness.namespace, harness.network)
    result = await apply_objects(harness.client, objs, dry_run=True)
    assert result.dry_run
    assert [o.action for o in result.outcomes] == [Action.CREATED] * 3
    for obj in objs:
        assert await harness.get(obj) is None
    if harness.server is not None:
        sent = [r for r in harness.server if r.method.value == "PATCH"]
        assert sent and all(r.params.get("dryRun") == "All" for r in sent)


async def test_dry_run_prune_deletes_nothing(harness: Harness) -> None:
    objs = rendered(harness.namespace, harness.network)
    await apply_objects(harness.client, objs)
    result = await apply_objects(harness.client, objs[1:], prune=True, dry_run=True)
    assert [o.name for o in result.outcomes if o.action is Action.PRUNED] == ["rdma-devices"]
    assert await harness.get(objs[0]) is not None


async def test_prune_without_a_network_is_a_usage_error(harness: Harness) -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {}}
    with pytest.raises(UsageError, match="--prune needs to know the network"):
        await apply_objects(harness.client, [obj], prune=True)


async def test_objects_of_two_networks_at_once_are_refused(harness: Harness) -> None:
    objs = rendered(harness.namespace, harness.network)
    objs[0]["metadata"]["labels"][labels.NETWORK] = "another"
    with pytest.raises(UsageError, match="several networks"):
        await apply_objects(harness.client, objs)
    assert harness.write_count() in (0, None)


async def test_network_argument_labels_unlabelled_objects(harness: Harness) -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "plain", "namespace": harness.namespace}, "data": {"k": "v"}}
    result = await apply_objects(harness.client, [obj], network="n2")
    assert result.outcomes[0].action is Action.CREATED
    live = await harness.get(obj)
    assert live is not None
    assert live["metadata"]["labels"][labels.NETWORK] == "n2"
    assert live["metadata"]["labels"][labels.ROLE] == "component"
