"""Custom resources: a CRD and objects of its kind in one apply; unknown kinds explained."""

from __future__ import annotations

import pytest

from dualnet import labels
from dualnet.cluster.apply import Action, apply_objects
from dualnet.cluster.errors import ClusterError
from tests.helpers import Harness

OWN = labels.owned_labels("rdma", "component")


def crd() -> dict[str, object]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.org", "labels": dict(OWN)},
        "spec": {"group": "example.org", "scope": "Namespaced",
                 "names": {"kind": "Widget", "plural": "widgets", "singular": "widget",
                           "listKind": "WidgetList"},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {"type": "object"}}}]},
    }


async def test_crd_and_its_objects_in_one_apply(harness: Harness) -> None:
    widget = {"apiVersion": "example.org/v1", "kind": "Widget",
              "metadata": {"name": "w1", "labels": dict(OWN)}, "spec": {"size": 3}}
    result = await apply_objects(harness.client, [widget, crd()])
    assert [(o.kind, o.action) for o in result.outcomes] == [
        ("CustomResourceDefinition", Action.CREATED), ("Widget", Action.CREATED)]
    assert result.outcomes[1].namespace == "default"
    again = await apply_objects(harness.client, [widget, crd()])
    assert {o.action for o in again.outcomes} == {Action.UNCHANGED}


async def test_nad_is_applied_as_a_generic_resource(harness: Harness) -> None:
    nad = {"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
           "metadata": {"name": "rdma-net", "labels": dict(OWN),
                        "annotations": {labels.RESOURCE_NAME_ANNOTATION:
                                        "rdma/rdma_shared_device"}},
           "spec": {"config": '{"cniVersion":"0.3.1","type":"macvlan","master":"enp1s0f0np0"}'}}
    result = await apply_objects(harness.client, [nad])
    assert result.outcomes[0].action is Action.CREATED
    live = await harness.get(nad)
    assert live is not None and live["spec"]["config"].startswith('{"cniVersion"')


async def test_unknown_kind_without_crd_is_explained(harness: Harness) -> None:
    gadget = {"apiVersion": "example.org/v1", "kind": "Gadget",
              "metadata": {"name": "g", "labels": dict(OWN)}}
    with pytest.raises(ClusterError, match=r"Gadget \(example.org/v1\) is not a kind this "
                       "cluster serves"):
        await apply_objects(harness.client, [gadget])
    assert harness.write_count() == 0
