"""Two training networks on one cluster (issue 19, item 9): `rdma-devices`, `sriovdp-config`
and `nic-cluster-policy` are one object for every network, and each plugin reads one config;
applying a network keeps the other networks' entries, in either order, and pruning a network
takes out only its own. Against kmock's API emulator, with the objects `dualnet render` writes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from dualnet import labels
from dualnet.cluster.apply import Action, apply_objects
from dualnet.cluster.joint import JOINT_NETWORK, OWNERS_ANNOTATION, merge, owners
from dualnet.errors import UsageError
from dualnet.plan import build_plan
from dualnet.render import render
from dualnet.spec import parse_spec
from tests.helpers import Harness
from tests.plan.hosts import gpu_node

Obj = dict[str, Any]


def rendered(name: str, target: str = "plain", **spec: Any) -> list[Obj]:
    data = {"apiVersion": "dualnet.io/v1alpha1", "kind": "TrainingNetwork",
            "metadata": {"name": name}, "spec": spec}
    plan = build_plan(parse_spec(data), [gpu_node(1)])
    return render(plan, target=target)  # type: ignore[arg-type]


def shared_roce(name: str, resource: str) -> Obj:
    return {"nics": {"netdevs": ["ens1f0np0"]}, "rdmaHcaMax": 10, "resourceName": resource,
            "ipam": {"type": "host-local", "subnet": "192.168.50.0/24"}}


SRIOV_ETH: Obj = {"mode": "sriov", "nics": {"netdevs": ["ens1f0np0"]}, "numVfs": 4,
             "resourceName": "sriov_eth", "ipam": {"type": "host-local",
                                                   "subnet": "192.168.60.0/24"}}
SRIOV_IB: Obj = {"mode": "ib-sriov", "nics": {"netdevs": ["ibp59s0"]}, "numVfs": 4,
            "resourceName": "sriov_ib", "ipam": {"type": "host-local",
                                                 "subnet": "192.168.61.0/24"}}


def config_of(objects: list[Obj], name: str, namespace: str) -> list[Obj]:
    """The ConfigMap `name` of `objects`, moved into the test's namespace."""
    cm = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == name)
    cm["metadata"]["namespace"] = namespace
    return [cm]


def entries(live: Obj | None, key: str) -> list[str]:
    assert live is not None
    return [e["resourceName"] for e in json.loads(live["data"]["config.json"])[key]]


@pytest.mark.parametrize("order", ["a-then-b", "b-then-a"])
async def test_two_networks_share_rdma_devices_in_either_order(
    harness: Harness, order: str
) -> None:
    a = config_of(rendered("net-a", **shared_roce("net-a", "rdma_a")), "rdma-devices",
                  harness.namespace)
    b = config_of(rendered("net-b", **shared_roce("net-b", "rdma_b")), "rdma-devices",
                  harness.namespace)
    first, second = (a, b) if order == "a-then-b" else (b, a)
    await apply_objects(harness.client, first)
    await apply_objects(harness.client, second)
    live = await harness.get(a[0])
    assert entries(live, "configList") == ["rdma_a", "rdma_b"]
    assert live is not None
    assert live["metadata"]["labels"][labels.NETWORK] == JOINT_NETWORK
    assert json.loads(live["metadata"]["annotations"][OWNERS_ANNOTATION]) == {
        "net-a": ["rdma_a"], "net-b": ["rdma_b"]}
    # applying either again changes nothing and writes nothing
    before = harness.write_count()
    again = await apply_objects(harness.client, first)
    assert [o.action for o in again.outcomes] == [Action.UNCHANGED]
    assert harness.write_count() == before


async def test_sriovdp_config_holds_the_roce_and_the_ib_network(harness: Harness) -> None:
    eth = config_of(rendered("net-eth", **SRIOV_ETH), "sriovdp-config", harness.namespace)
    ib = config_of(rendered("net-ib", **SRIOV_IB), "sriovdp-config", harness.namespace)
    await apply_objects(harness.client, ib)
    await apply_objects(harness.client, eth)
    assert entries(await harness.get(eth[0]), "resourceList") == ["sriov_eth", "sriov_ib"]


async def test_prune_takes_out_only_the_networks_own_entries(harness: Harness) -> None:
    a = config_of(rendered("net-a", **shared_roce("net-a", "rdma_a")), "rdma-devices",
                  harness.namespace)
    b = config_of(rendered("net-b", **shared_roce("net-b", "rdma_b")), "rdma-devices",
                  harness.namespace)
    await apply_objects(harness.client, a)
    await apply_objects(harness.client, b)
    # net-a no longer renders rdma-devices (it moved to SR-IOV, say): its entry goes
    sa: Obj = {"apiVersion": "v1", "kind": "ServiceAccount",
          "metadata": {"name": "net-a-sa", "namespace": harness.namespace,
                       "labels": labels.owned_labels("net-a", "component")}}
    result = await apply_objects(harness.client, [sa], prune=True)
    joint = [o for o in result.outcomes if o.name == "rdma-devices"]
    assert [o.action for o in joint] == [Action.CONFIGURED]
    live = await harness.get(a[0])
    assert entries(live, "configList") == ["rdma_b"]
    assert live is not None and owners(live) == {"net-b": ["rdma_b"]}
    # the last network leaving deletes the object
    sb = {**sa, "metadata": {**sa["metadata"], "name": "net-b-sa",
                             "labels": labels.owned_labels("net-b", "component")}}
    result = await apply_objects(harness.client, [sb], prune=True)
    assert [o.action for o in result.outcomes if o.name == "rdma-devices"] == [Action.PRUNED]


async def test_one_resource_name_with_two_meanings_is_refused(harness: Harness) -> None:
    a = config_of(rendered("net-a", **shared_roce("net-a", "rdma_x")), "rdma-devices",
                  harness.namespace)
    other: Obj = {**shared_roce("net-b", "rdma_x"), "rdmaHcaMax": 20}
    b = config_of(rendered("net-b", **other), "rdma-devices", harness.namespace)
    await apply_objects(harness.client, a)
    with pytest.raises(UsageError) as info:
        await apply_objects(harness.client, b)
    assert "resource 'rdma_x' of network net-b is already defined differently by network " \
           "net-a" in info.value.message
    assert entries(await harness.get(a[0]), "configList") == ["rdma_x"]


def _ncp(objects: list[Obj]) -> Obj:
    return next(o for o in objects if o["kind"] == "NicClusterPolicy")


def test_nic_cluster_policy_carries_every_networks_sections_and_entries() -> None:
    roce = _ncp(rendered("net-roce", "network-operator", **shared_roce("net-roce", "rdma_r")))
    ipoib = _ncp(rendered("net-ib", "network-operator", mode="ipoib", rdmaHcaMax=10,
                          nics={"netdevs": ["ibp59s0"]}, resourceName="rdma_ib",
                          ipam={"type": "host-local", "subnet": "192.168.70.0/24"}))
    sriov = _ncp(rendered("net-sriov", "network-operator", **SRIOV_ETH))
    live = merge(None, ipoib, "net-ib")
    live = merge(live, roce, "net-roce")
    live = merge(live, sriov, "net-sriov")
    spec = live["spec"]
    names = [e["resourceName"] for e in json.loads(spec["rdmaSharedDevicePlugin"]["config"])[
        "configList"]]
    assert names == ["rdma_ib", "rdma_r"]
    assert [e["resourceName"] for e in json.loads(spec["sriovDevicePlugin"]["config"])[
        "resourceList"]] == ["sriov_eth"]
    # the IPoIB network's CNI stays although the later networks do not render it
    assert "ipoib" in spec["secondaryNetwork"]
    assert owners(live) == {"net-ib": ["rdma_ib"], "net-roce": ["rdma_r"],
                            "net-sriov": ["sriov_eth"]}
