"""Validation catches bad objects, naming the object, the field and the reason."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from dualnet.errors import UsageError
from dualnet.render import (
    ObjectValidationError,
    render,
    supported_k8s_versions,
    validate_objects,
    validation_problems,
)
from dualnet.render.cni_check import check_cni_config
from tests.render.cases import plan_for


@pytest.fixture(scope="module")
def guide() -> list[dict[str, Any]]:
    return render(plan_for("gh200-shared-roce"))


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and name in (None, o["metadata"]["name"]))


def problems_after(objects: list[dict[str, Any]], change: Any) -> list[str]:
    objs = copy.deepcopy(objects)
    change(objs)
    return validation_problems(objs)


def set_nad_config(objs: list[dict[str, Any]], **fields: Any) -> None:
    nad = find(objs, "NetworkAttachmentDefinition")
    conf = json.loads(nad["spec"]["config"])
    conf.update(fields)
    nad["spec"]["config"] = json.dumps(conf)


def test_rendered_objects_validate_on_every_bundled_version(guide: list[dict[str, Any]]) -> None:
    versions = supported_k8s_versions()
    assert versions[0] <= "1.25" and "1.34" in versions
    for v in (versions[0], "1.34", versions[-1]):
        assert validation_problems(guide, k8s_version=v) == []


def test_unknown_container_field_is_caught(guide: list[dict[str, Any]]) -> None:
    def change(objs: list[dict[str, Any]]) -> None:
        find(objs, "DaemonSet", "kube-multus-ds")["spec"]["template"]["spec"]["containers"][0][
            "imagePullPolcy"] = "Always"
    (p,) = problems_after(guide, change)
    assert p.startswith("DaemonSet kube-system/kube-multus-ds: spec.template.spec.containers[0]")
    assert "imagePullPolcy" in p


def test_wrong_type_in_pod_is_caught(guide: list[dict[str, Any]]) -> None:
    def change(objs: list[dict[str, Any]]) -> None:
        find(objs, "Pod", "rdma-test")["spec"]["containers"][0]["command"] = "sleep infinity"
    (p,) = problems_after(guide, change)
    assert "Pod default/rdma-test: spec.containers[0].command" in p


def test_bad_macvlan_mode_in_nad(guide: list[dict[str, Any]]) -> None:
    (p,) = problems_after(guide, lambda o: set_nad_config(o, mode="bridged"))
    assert "NetworkAttachmentDefinition default/rdma-net: spec.config: config.mode" in p
    assert "'bridged'" in p and "passthru" in p


def test_default_route_on_secondary_is_caught(guide: list[dict[str, Any]]) -> None:
    ipam = {"type": "host-local", "subnet": "192.168.50.0/24", "routes": [{"dst": "0.0.0.0/0"}]}
    (p,) = problems_after(guide, lambda o: set_nad_config(o, ipam=ipam))
    assert "config.ipam.routes[0].dst" in p and "default route" in p


def test_host_bits_in_subnet_and_unknown_ipam_key(guide: list[dict[str, Any]]) -> None:
    ipam = {"type": "host-local", "subnet": "192.168.50.1/24", "range_start": "192.168.50.9"}
    ps = problems_after(guide, lambda o: set_nad_config(o, ipam=ipam))
    assert any("config.ipam.subnet" in p and "host bits" in p for p in ps)
    assert any("config.ipam.range_start: unknown key for IPAM host-local" in p for p in ps)


def test_nad_name_mismatch_and_missing_cni_version(guide: list[dict[str, Any]]) -> None:
    ps = problems_after(guide, lambda o: set_nad_config(o, name="other", cniVersion="9.9"))
    assert any("differs from the NAD name" in p for p in ps)
    assert any("cniVersion: '9.9'" in p for p in ps)


def test_shared_dp_config_rules(guide: list[dict[str, Any]]) -> None:
    def change(objs: list[dict[str, Any]]) -> None:
        cm = find(objs, "ConfigMap", "rdma-devices")
        cfg = json.loads(cm["data"]["config.json"])
        entry = cfg["configList"][0]
        entry["rdmaHcaMax"] = 0
        entry["resourceName"] = "rdma-shared"
        entry["selectors"]["devices"] = ["1021"]
        entry["selectors"]["vendors"] = ["0x15B3"]
        cm["data"]["config.json"] = json.dumps(cfg)
    ps = problems_after(guide, change)
    text = "\n".join(ps)
    assert "ConfigMap kube-system/rdma-devices: data.config.json: configList[0].rdmaHcaMax" in text
    assert "resourceName: 'rdma-shared'" in text
    assert "selectors.devices: unknown selector (shared plugin uses deviceIDs" in text
    assert "'0x15B3' never matches" in text


def test_sriov_dp_mlx5_ib_driver_is_caught() -> None:
    objs = render(plan_for("sriov-rdma-cni-whereabouts"))

    def change(o: list[dict[str, Any]]) -> None:
        cm = find(o, "ConfigMap", "sriovdp-config")
        cfg = json.loads(cm["data"]["config.json"])
        cfg["resourceList"][0]["selectors"][0]["drivers"] = ["mlx5_ib"]
        cm["data"]["config.json"] = json.dumps(cfg)
    (p,) = problems_after(objs, change)
    assert "mlx5_ib is the RDMA provider" in p


def test_crd_schema_checks_operator_resources() -> None:
    objs = render(plan_for("gh200-shared-roce"), target="network-operator")

    def change(o: list[dict[str, Any]]) -> None:
        find(o, "MacvlanNetwork")["spec"]["mode"] = "l2"
        del find(o, "NicClusterPolicy")["spec"]["rdmaSharedDevicePlugin"]["image"]
        find(o, "MacvlanNetwork")["metadata"]["namespace"] = "default"
    ps = problems_after(objs, change)
    text = "\n".join(ps)
    assert "MacvlanNetwork default/rdma-net: spec.mode: 'l2' is not one of" in text
    assert "NicClusterPolicy nic-cluster-policy: spec.rdmaSharedDevicePlugin: 'image' is a " \
           "required property (Network Operator v26.4 CRD)" in text
    assert "cluster-scoped" in text


def test_duplicate_object_and_unknown_kind(guide: list[dict[str, Any]]) -> None:
    objs = [*copy.deepcopy(guide), copy.deepcopy(guide[-1]),
            {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}]
    ps = validation_problems(objs)
    assert any("rendered twice" in p for p in ps)
    assert any("Widget w: no schema for Widget" in p for p in ps)


def test_validate_objects_raises_with_every_problem(guide: list[dict[str, Any]]) -> None:
    objs = copy.deepcopy(guide)
    set_nad_config(objs, mode="bridged")
    find(objs, "Pod", "rdma-test")["spec"]["containers"][0]["name"] = "Bad_Name"
    with pytest.raises(ObjectValidationError) as info:
        validate_objects(objs)
    assert len(info.value.problems) == 2
    assert info.value.exit_code == 1


def test_unsupported_k8s_version(guide: list[dict[str, Any]]) -> None:
    with pytest.raises(UsageError, match=r"--k8s-version: '1\.9'"):
        validate_objects(guide, k8s_version="1.9")


@pytest.mark.parametrize(
    ("conf", "needle"),
    [
        ({"cniVersion": "0.3.1", "name": "n", "plugins": [{"type": "rdma"}]},
         "rdma is a chained plugin"),
        ({"cniVersion": "0.3.1", "name": "n", "type": "host-device", "ipam": {}},
         'specify either "device"'),
        ({"cniVersion": "0.3.1", "name": "n", "type": "ipvlan", "master": "x",
          "ipam": {"type": "dhcp"}}, "dhcp does not work with ipvlan"),
        ({"cniVersion": "0.3.1", "name": "n", "type": "sriov", "vlan": 5000}, "not in 0..4094"),
        ({"cniVersion": "0.3.1", "name": "n", "type": "ipoib"}, "master: required"),
        ({"cniVersion": "0.3.1", "name": "n", "type": "macvlan", "master": "x",
          "ipam": {"type": "whereabouts", "range": "10.0.0.0/24"}}, "kubeconfig: required"),
        ({"name": "n", "type": "macvlan"}, "cniVersion: required"),
        ({"cniVersion": "0.3.1", "name": "-n", "type": "macvlan"}, "must start alphanumeric"),
        ({"cniVersion": "0.3.1", "name": "n", "type": "bridge"}, "not a plugin dualnet renders"),
    ],
)
def test_cni_check_rules(conf: dict[str, Any], needle: str) -> None:
    assert any(needle in p for p in check_cni_config(conf)), check_cni_config(conf)


def test_every_golden_case_has_valid_cni_configs() -> None:
    from tests.render.cases import CASES
    for case in CASES:
        for o in render(plan_for(case)):
            if o["kind"] == "NetworkAttachmentDefinition":
                assert check_cni_config(json.loads(o["spec"]["config"]),
                                        expected_name=o["metadata"]["name"]) == []
