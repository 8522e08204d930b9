"""A field taken out of the rendered object is taken out live: apply reads dualnet's entry in
metadata.managedFields and applies when dualnet owns a field it no longer renders (a plain
value comparison never sees a removal). A second apply still writes nothing. Marked e2e: with
DUALNET_E2E_KUBECONFIG set the API tests run against that cluster."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from dualnet import labels
from dualnet.cluster.apply import Action, apply_objects
from dualnet.cluster.objects import unrendered_owned_fields
from tests.cluster.helpers import rendered
from tests.helpers import Harness


def _patches(harness: Harness) -> list[Any]:
    assert harness.server is not None
    return [r for r in harness.server if r.method is not None and r.method.value == "PATCH"]


@pytest.mark.e2e
async def test_removed_configmap_key_is_applied_then_nothing(harness: Harness) -> None:
    objs = rendered(harness.namespace, harness.network)
    with_extra = copy.deepcopy(objs)
    with_extra[0]["data"]["extra"] = "1"
    await apply_objects(harness.client, with_extra)
    before = harness.write_count()

    result = await apply_objects(harness.client, copy.deepcopy(objs))
    by_kind = {o.kind: o for o in result.outcomes}
    assert by_kind["ConfigMap"].action is Action.CONFIGURED
    assert by_kind["ConfigMap"].reason == "removes data.extra"
    assert by_kind["DaemonSet"].action is Action.UNCHANGED
    assert result.writes == 1
    if harness.server is not None:
        assert harness.write_count() == (before or 0) + 1
        assert "extra" not in _patches(harness)[-1].data["data"]
    else:
        live = await harness.get(objs[0])
        assert live is not None and "extra" not in live["data"]

    again = await apply_objects(harness.client, copy.deepcopy(objs))
    assert again.writes == 0
    assert {o.action for o in again.outcomes} == {Action.UNCHANGED}


@pytest.mark.e2e
async def test_removed_container_is_applied(harness: Harness) -> None:
    objs = rendered(harness.namespace, harness.network)
    two = copy.deepcopy(objs)
    containers = two[1]["spec"]["template"]["spec"]["containers"]
    containers.append({**containers[0], "name": "sidecar"})
    await apply_objects(harness.client, two)
    result = await apply_objects(harness.client, copy.deepcopy(objs))
    ds = next(o for o in result.outcomes if o.kind == "DaemonSet")
    assert ds.action is Action.CONFIGURED
    assert ds.reason is not None and '{"name":"sidecar"}' in ds.reason
    assert result.writes == 1
    assert (await apply_objects(harness.client, copy.deepcopy(objs))).writes == 0


# --- the pure comparison, on managedFields as kube-apiserver writes them -----------------------

LIVE_FIELDS: dict[str, Any] = {
    "f:metadata": {"f:labels": {"f:app": {}}},
    "f:spec": {"f:template": {"f:spec": {"f:containers": {
        'k:{"name":"c"}': {".": {}, "f:name": {}, "f:image": {},
                           "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {
                               ".": {}, "f:containerPort": {}}}}}}},
        "f:finalizersLike": {'v:"a"': {}}},
}


def _live(manager: str = labels.FIELD_MANAGER, operation: str = "Apply",
          subresource: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"manager": manager, "operation": operation, "apiVersion": "apps/v1",
                             "fieldsType": "FieldsV1", "fieldsV1": LIVE_FIELDS}
    if subresource:
        entry["subresource"] = subresource
    return {"metadata": {"name": "x", "managedFields": [entry]}}


def _desired() -> dict[str, Any]:
    # the port's protocol is left out: the server defaulted it into the list key
    return {"metadata": {"name": "x", "labels": {"app": "a"}},
            "spec": {"template": {"spec": {"containers": [
                {"name": "c", "image": "i", "ports": [{"containerPort": 80}]}]}},
                     "finalizersLike": ["a"]}}


def test_nothing_unrendered_when_desired_covers_every_owned_field() -> None:
    assert unrendered_owned_fields(_live(), _desired()) == []


def test_each_kind_of_removal_is_named() -> None:
    no_label = _desired()
    del no_label["metadata"]["labels"]
    assert unrendered_owned_fields(_live(), no_label) == ["metadata.labels"]
    no_port = _desired()
    no_port["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": 81}]
    assert unrendered_owned_fields(_live(), no_port) == [
        'spec.template.spec.containers[{"name":"c"}].ports[{"containerPort":80,"protocol":"TCP"}]']
    no_set_item = _desired()
    no_set_item["spec"]["finalizersLike"] = ["b"]
    assert unrendered_owned_fields(_live(), no_set_item) == ['spec.finalizersLike["a"]']


def test_only_dualnets_apply_entry_on_the_main_resource_counts() -> None:
    bare: dict[str, Any] = {"metadata": {"name": "x"}}
    assert unrendered_owned_fields(_live(manager="kubectl"), bare) == []
    assert unrendered_owned_fields(_live(operation="Update"), bare) == []
    assert unrendered_owned_fields(_live(subresource="status"), bare) == []
    assert unrendered_owned_fields({"metadata": {"name": "x"}}, bare) == []
    assert unrendered_owned_fields(_live(), bare) == ["metadata.labels", "spec"]
