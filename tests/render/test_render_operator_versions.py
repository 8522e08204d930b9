"""The network-operator target for a chosen Network Operator release (issue 19, items 1 and 4):
the NicClusterPolicy and its validation follow that release's CRD, IPAM is deployed by whoever
can deploy it there, and a network the operator's resources cannot carry gets a plain NAD."""

from __future__ import annotations

import copy
import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from dualnet.cli import plan_cmds
from dualnet.errors import UsageError
from dualnet.host.dump import jsonable
from dualnet.host.models import HostReport
from dualnet.plan import Plan, build_plan
from dualnet.render import (
    DEFAULT_OPERATOR_VERSION,
    operator_release,
    plan_markdown,
    render,
    render_notes,
    supported_operator_versions,
    validate_objects,
    validation_problems,
)
from dualnet.spec import parse_spec
from tests.plan.hosts import gh200, gpu_node
from tests.render.cases import EXAMPLES, plan_for


def _plan(hosts: list[HostReport], **spec: Any) -> Plan:
    data = {"apiVersion": "dualnet.io/v1alpha1", "kind": "TrainingNetwork",
            "metadata": {"name": "rdma-net"}, "spec": spec}
    return build_plan(parse_spec(data), hosts)


def kinds(objects: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(o["kind"], o["metadata"]["name"]) for o in objects]


def ncp(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == "NicClusterPolicy")


# --- item 1 ---------------------------------------------------------------------------------

def test_versions_parse_by_minor_and_refuse_unknown_ones() -> None:
    assert operator_release("26.4.1").name == "v26.4"
    assert operator_release("v26.7.0-rc.2").name == "v26.7"
    assert operator_release("v25.10").ipam_plugin is False
    assert operator_release("v25.7.0").ipam_plugin is True
    with pytest.raises(UsageError) as info:
        operator_release("v27.1")
    assert "--network-operator-version" in info.value.message
    assert info.value.hint is not None and "v26.4" in info.value.hint
    assert DEFAULT_OPERATOR_VERSION in supported_operator_versions()


def test_the_cli_default_is_the_one_default() -> None:
    option = inspect.signature(plan_cmds.render_cmd).parameters["operator_version"].default
    assert option.default == DEFAULT_OPERATOR_VERSION


@pytest.mark.parametrize("case", ["host-device-whereabouts", "ipoib-whereabouts",
                                  "sriov-rdma-cni-whereabouts"])
def test_from_v25_10_dualnet_deploys_whereabouts_itself(case: str) -> None:
    plan = plan_for(case)
    for version in ("v25.10", "v26.1", "v26.4", "v26.7"):
        objects = render(plan, target="network-operator", operator_version=version)
        validate_objects(objects, operator_version=version)
        assert "ipamPlugin" not in ncp(objects)["spec"]["secondaryNetwork"]
        assert ("DaemonSet", "whereabouts") in kinds(objects)
        assert ("CustomResourceDefinition", "ippools.whereabouts.cni.cncf.io") in kinds(objects)
        notes = render_notes(plan, target="network-operator", operator_version=version)
        assert any("deployed by dualnet itself" in n for n in notes)


def test_up_to_v25_7_the_operator_deploys_whereabouts() -> None:
    plan = plan_for("host-device-whereabouts")
    objects = render(plan, target="network-operator", operator_version="v25.7")
    validate_objects(objects, operator_version="v25.7")
    assert ncp(objects)["spec"]["secondaryNetwork"]["ipamPlugin"]["image"] == "whereabouts"
    assert ("DaemonSet", "whereabouts") not in kinds(objects)
    notes = render_notes(plan, target="network-operator", operator_version="v25.7")
    assert "IPAM: whereabouts, deployed by the operator" in notes[1]


def test_ipam_plugin_is_refused_by_the_schema_of_releases_without_it() -> None:
    old = render(plan_for("host-device-whereabouts"), target="network-operator",
                 operator_version="v25.7")
    problems = validation_problems(old, operator_version="v26.4")
    assert any("NicClusterPolicy nic-cluster-policy: spec.secondaryNetwork: Additional "
               "properties are not allowed ('ipamPlugin' was unexpected) (Network Operator "
               "v26.4 CRD)" in p for p in problems), problems


def test_image_fields_required_as_each_release_requires_them() -> None:
    objects = render(plan_for("gh200-shared-roce"), target="network-operator")
    trimmed = copy.deepcopy(objects)
    del ncp(trimmed)["spec"]["rdmaSharedDevicePlugin"]["version"]
    assert validation_problems(trimmed, operator_version="v26.4") == []
    assert any("'version' is a required property" in p
               for p in validation_problems(trimmed, operator_version="v26.1"))


def test_plan_md_says_who_deploys_ipam(tmp_path: Path) -> None:
    plan = plan_for("ipoib-whereabouts")
    text = plan_markdown(plan, render_notes(plan, target="network-operator"))
    assert "## Render target" in text
    assert "IPAM: whereabouts, deployed by dualnet itself" in text
    # the plain target has nothing to add: PLAN.md stays as it was
    assert plan_markdown(plan, render_notes(plan)) == plan_markdown(plan)


def _dualnet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from dualnet.cli import main; main()", *args],
                          capture_output=True, text=True, check=False)


def test_cli_renders_for_the_chosen_release(tmp_path: Path) -> None:
    report = tmp_path / "node.json"
    report.write_text(json.dumps(jsonable(gpu_node(1))))
    report2 = tmp_path / "node2.json"
    report2.write_text(json.dumps(jsonable(gpu_node(2))))
    spec = str(EXAMPLES / "ipoib-whereabouts.yaml")
    out = tmp_path / "out"
    r = _dualnet("render", spec, "--report", str(report), "--report", str(report2),
                 "--target", "network-operator", "--network-operator-version", "v25.7.0",
                 "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "deployed by the operator" in r.stderr
    assert "secondaryNetwork.ipamPlugin" in (out / "PLAN.md").read_text()
    r = _dualnet("render", spec, "--report", str(report), "--report", str(report2),
                 "--target", "network-operator")
    assert r.returncode == 0, r.stderr
    docs = list(yaml.safe_load_all(r.stdout))
    assert "ipamPlugin" not in ncp(docs)["spec"]["secondaryNetwork"]
    bad = _dualnet("render", spec, "--report", str(report), "--target", "network-operator",
                   "--network-operator-version", "24.1")
    assert bad.returncode == 2 and "--network-operator-version" in bad.stderr
    assert "Traceback" not in bad.stderr


# --- item 4: static IPAM with per-pod addresses ---------------------------------------------

STATIC = {"type": "static", "subnet": "192.168.70.0/24"}


@pytest.mark.parametrize(("hosts", "spec", "kind"), [
    (lambda: [gh200()], {"nics": {"netdevs": ["enp1s0f0np0"]}, "rdmaHcaMax": 10},
     "MacvlanNetwork"),
    (lambda: [gpu_node(1)], {"mode": "ipoib", "nics": {"netdevs": ["ibp59s0"]},
                             "rdmaHcaMax": 10}, "IPoIBNetwork"),
    (lambda: [gpu_node(1)], {"mode": "host-device", "nics": {"netdevs": ["ens1f0np0"]}},
     "HostDeviceNetwork"),
])
def test_static_per_pod_addresses_keep_the_ips_capability(
    hosts: Any, spec: dict[str, Any], kind: str
) -> None:
    plan = _plan(hosts(), ipam=STATIC, **spec)
    objects = render(plan, target="network-operator")
    validate_objects(objects)
    # the operator's CR has no capabilities field (CRDs v25.4 .. v26.7) and its template copies
    # spec.ipam after "ipam": verbatim, so only a plain NAD can declare the capability
    assert kind not in {o["kind"] for o in objects}
    nad = next(o for o in objects if o["kind"] == "NetworkAttachmentDefinition")
    assert json.loads(nad["spec"]["config"])["capabilities"]["ips"] is True
    notes = render_notes(plan, target="network-operator")
    assert any(f"{kind} cannot declare the CNI capability" in n for n in notes)


def test_static_fixed_addresses_still_use_the_operator_cr() -> None:
    plan = _plan([gh200()], nics={"netdevs": ["enp1s0f0np0"]}, rdmaHcaMax=10,
                 ipam={**STATIC, "addresses": [{"address": "192.168.70.5/24"}]})
    objects = render(plan, target="network-operator")
    assert "MacvlanNetwork" in {o["kind"] for o in objects}
