"""`render --target dra`: dranet objects for a dedicated NIC per pod, on nodes discovered from the
bundled sample sysfs trees (dgx_h100_ib: GPU and HCA under one PCIe root; gh200: Grace, no shared
root), validated with kubernetes-validate's resource.k8s.io/v1 schemas, and the refusals.

Regenerate the goldens with DUALNET_UPDATE_GOLDENS=1 and review the diff."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from dualnet.errors import UsageError
from dualnet.host.discover import discover
from dualnet.host.models import HostReport
from dualnet.host.samples import build_sample
from dualnet.plan import Plan, build_plan
from dualnet.render import (
    plan_markdown,
    render,
    render_notes,
    stream_text,
    supported_k8s_versions,
    validate_objects,
    validation_problems,
)
from dualnet.render.dra import (
    PCIE_ROOT,
    claim_addresses,
    dra_plan_notes,
    gpu_alignment,
)
from dualnet.spec import load_spec
from tests.helpers import run_cli
from tests.render.cases import EXAMPLES
from tests.upstream import upstream_dir

HERE = Path(__file__).resolve().parent / "dra"
UPDATE = os.environ.get("DUALNET_UPDATE_GOLDENS") == "1"
# sample node, spec file stem
CASES = {"dgx_h100_ib": "dgx-host-device", "gh200": "gh200-host-device"}
VERSIONS = ("1.34", supported_k8s_versions()[-1])


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, HostReport]:
    root = tmp_path_factory.mktemp("dra-samples")
    return {name: discover(build_sample(name, root / name)) for name in CASES}


@pytest.fixture(scope="module")
def sample_roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("dra-roots")
    return {name: build_sample(name, root / name) for name in CASES}


def _plan(reports: dict[str, HostReport], sample: str) -> Plan:
    return build_plan(load_spec(HERE / f"{CASES[sample]}.yaml"), [reports[sample]])


def _golden(name: str, text: str) -> None:
    path = HERE / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden {path}; run with DUALNET_UPDATE_GOLDENS=1"
    assert path.read_text(encoding="utf-8") == text, f"{name} differs from the golden file"


def _kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


@pytest.mark.parametrize("sample", sorted(CASES))
def test_dra_render_matches_golden(reports: dict[str, HostReport], sample: str) -> None:
    plan = _plan(reports, sample)
    objects = render(plan, target="dra")
    _golden(f"{CASES[sample]}.dra.yaml", stream_text(objects))
    _golden(f"{CASES[sample]}.dra.plan.md", plan_markdown(plan, render_notes(plan, target="dra")))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("sample", sorted(CASES))
def test_dra_objects_validate(reports: dict[str, HostReport], sample: str, version: str) -> None:
    objects = render(_plan(reports, sample), target="dra", k8s_version=version)
    assert {o["apiVersion"] for o in objects if o["kind"] != "Pod"} == {"resource.k8s.io/v1"}
    validate_objects(objects, k8s_version=version)


@pytest.mark.parametrize("version", VERSIONS)
def test_v1beta1_request_shape_fails_validation(reports: dict[str, HostReport],
                                                version: str) -> None:
    """The common copy-paste error: v1beta1's request fields without `exactly:` under v1."""
    objects = render(_plan(reports, "dgx_h100_ib"), target="dra")
    rct = _kind(objects, "ResourceClaimTemplate")[0]
    req = rct["spec"]["spec"]["devices"]["requests"][0]
    req.update(req.pop("exactly"))
    problems = validation_problems([rct], k8s_version=version)
    assert problems and "spec.spec.devices.requests[0]" in problems[0], problems


def _gdr_template(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (t,) = [o for o in _kind(objects, "ResourceClaimTemplate") if "-gpu-nic-" in
            o["metadata"]["name"]]
    return t


def test_dgx_aligns_gpu_and_nic_by_pcie_root(reports: dict[str, HostReport]) -> None:
    plan = _plan(reports, "dgx_h100_ib")
    assert gpu_alignment(plan.hosts[0]) == "pcieRoot"
    objects = render(plan, target="dra")
    devices = _gdr_template(objects)["spec"]["spec"]["devices"]
    assert devices["constraints"] == [{"requests": ["gpu", "nic"], "matchAttribute": PCIE_ROOT}]
    (dc,) = _kind(objects, "DeviceClass")
    expr = dc["spec"]["selectors"][0]["cel"]["expression"]
    assert 'device.attributes["dra.net"].encapsulation == "infiniband"' in expr


def test_gh200_selects_by_numa_and_never_by_pcie_root(reports: dict[str, HostReport]) -> None:
    """Grace: no GPU shares a PCIe root with a NIC; a pcieRoot constraint there could never be
    satisfied, so none may appear anywhere in the output."""
    plan = _plan(reports, "gh200")
    assert gpu_alignment(plan.hosts[0]) == "numaNode"
    objects = render(plan, target="dra")
    assert PCIE_ROOT not in stream_text(objects)
    devices = _gdr_template(objects)["spec"]["spec"]["devices"]
    assert "constraints" not in devices
    nic = next(r for r in devices["requests"] if r["name"] == "nic")
    assert 'device.attributes["dra.net"].numaNode == 0' in (
        nic["exactly"]["selectors"][0]["cel"]["expression"])


def test_every_attribute_read_is_guarded(reports: dict[str, HostReport]) -> None:
    for sample in CASES:
        text = stream_text(render(_plan(reports, sample), target="dra"))
        exprs = [e for d in yaml.safe_load_all(text) for e in _cel(d)]
        assert exprs
        for e in exprs:
            for attr in re.findall(r'device\.attributes\["dra\.net"\]\.(\w+) ', e):
                assert f'has(device.attributes["dra.net"].{attr})' in e, (attr, e)


def _cel(obj: Any) -> list[str]:
    if isinstance(obj, dict):
        own = [obj["expression"]] if isinstance(obj.get("expression"), str) else []
        return own + [e for v in obj.values() for e in _cel(v)]
    if isinstance(obj, list):
        return [e for v in obj for e in _cel(v)]
    return []


def test_claim_config_carries_per_node_addresses(reports: dict[str, HostReport]) -> None:
    plan = _plan(reports, "gh200")
    objects = render(plan, target="dra")
    params = [t["spec"]["spec"]["devices"]["config"][0]["opaque"]["parameters"]
              for t in _kind(objects, "ResourceClaimTemplate")]
    # 192.168.50.10 is the gateway: skipped
    assert [p["interface"]["addresses"] for p in params] == [["192.168.50.11/24"],
                                                             ["192.168.50.12/24"]]
    assert all(p["interface"]["name"] == "net1" and p["interface"]["mtu"] == 9000
               for p in params)
    assert params[0]["routes"] == [{"destination": "10.200.0.0/16",
                                    "gateway": "192.168.50.10"}]
    for pod in _kind(objects, "Pod"):
        claims = pod["spec"]["resourceClaims"]
        assert pod["spec"]["containers"][0]["resources"] == {
            "claims": [{"name": claims[0]["name"]}]}
        assert pod["spec"]["nodeSelector"] == {"kubernetes.io/hostname": plan.hosts[0].hostname}


def test_addresses_skip_excluded_and_run_out_loudly(reports: dict[str, HostReport]) -> None:
    plan = _plan(reports, "dgx_h100_ib")  # exclude 192.168.80.0/28: first free is .16
    assert sorted(claim_addresses(plan).values()) == ["192.168.80.16/24", "192.168.80.17/24"]
    ipam = plan.spec.spec.ipam.model_copy(update={"subnet": "192.168.80.0/28", "exclude": []})
    tiny = plan.model_copy(update={"spec": plan.spec.model_copy(update={
        "spec": plan.spec.spec.model_copy(update={"ipam": ipam})})})
    with pytest.raises(UsageError, match=r"spec\.ipam: .*too few addresses"):
        claim_addresses(tiny.model_copy(update={"hosts": plan.hosts * 3}))


def _with_nic(plan: Plan, **update: Any) -> Plan:
    hp = plan.hosts[0]
    nic = hp.nics[0].model_copy(update=update)
    return plan.model_copy(update={"hosts": [hp.model_copy(update={"nics": [nic]})]})


def test_refuses_a_nic_with_the_default_route(reports: dict[str, HostReport]) -> None:
    plan = _with_nic(_plan(reports, "gh200"), holds_default_route=True)
    with pytest.raises(UsageError, match=r"spec\.nics: .*default route.*dranet excludes"):
        render(plan, target="dra")


def test_refuses_a_bonded_rdma_port(reports: dict[str, HostReport]) -> None:
    plan = _with_nic(_plan(reports, "gh200"), rdma_device="mlx5_bond_0")
    with pytest.raises(UsageError, match=r"spec\.nics: .*bonded RDMA port"):
        render(plan, target="dra")


def test_cli_refuses_shared_roce(capsys: pytest.CaptureFixture[str],
                                 sample_roots: dict[str, Path]) -> None:
    code, out, err = run_cli(capsys, "render", str(EXAMPLES / "gh200-shared-roce.yaml"),
                             "--root", str(sample_roots["gh200"]), "--target", "dra")
    assert code == 2, err
    assert "spec.mode" in err and "no shipped DRA driver shares" in err
    assert "Traceback" not in err and out == ""


def test_cli_refuses_kubernetes_before_1_34(capsys: pytest.CaptureFixture[str],
                                            sample_roots: dict[str, Path]) -> None:
    code, out, err = run_cli(capsys, "render", str(HERE / "gh200-host-device.yaml"), "--root",
                             str(sample_roots["gh200"]), "--target", "dra",
                             "--k8s-version", "1.33")
    assert code == 2, err
    assert "--k8s-version" in err and "1.34" in err and out == ""


def test_cli_writes_dra_objects_and_plan_notes(capsys: pytest.CaptureFixture[str],
                                               sample_roots: dict[str, Path],
                                               tmp_path: Path) -> None:
    out_dir = tmp_path / "m"
    code, _, err = run_cli(capsys, "render", str(HERE / "gh200-host-device.yaml"), "--root",
                           str(sample_roots["gh200"]), "--target", "dra", "--out", str(out_dir))
    assert code == 0, err
    assert "dranet has no IPAM" in err
    plan_md = (out_dir / "PLAN.md").read_text()
    assert "## Render target" in plan_md and "numaNode == 0" in plan_md


def _upstream_docs() -> list[dict[str, Any]]:
    docs = []
    examples = upstream_dir("kubernetes-sigs+dranet/v1.4.0") / "examples"
    for f in sorted(examples.rglob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(f.read_text()) if isinstance(d, dict)]
    return docs


def test_cross_check_with_dranets_own_examples(reports: dict[str, HostReport]) -> None:
    """dranet's example objects (test data, v1.4.0) validate with the same schemas, and use the
    attribute names, the alignment attribute and the opaque config names that dualnet emits
    (`encapsulation` appears in dranet's source, pkg/apis/attributes.go, not in its examples)."""
    upstream = [d for d in _upstream_docs() if d.get("apiVersion") == "resource.k8s.io/v1"]
    templates = [d for d in upstream if d["kind"] in ("DeviceClass", "ResourceClaimTemplate")]
    assert len(templates) > 10
    for d in templates:  # one by one: several example files reuse the same names
        validate_objects([d], k8s_version="1.34")
    up_text = json.dumps(upstream)
    ours = [o for s in CASES for o in render(_plan(reports, s), target="dra")]
    our_attrs = {a for e in _cel(ours) for a in re.findall(r'\["dra\.net"\]\.(\w+)', e)}
    up_attrs = set(re.findall(r'\[\\"dra\.net\\"\](?:\.|\[\\")(\w+)', up_text))
    assert our_attrs - {"encapsulation"} <= up_attrs, our_attrs - up_attrs
    assert f'"matchAttribute": "{PCIE_ROOT}"' in up_text
    up_opaque = [c["opaque"] for d in upstream if "spec" in d
                 for c in _claim_spec(d).get("devices", {}).get("config", []) if "opaque" in c]
    assert {o["driver"] for o in up_opaque} == {"dra.net"}
    assert all("interface" in o["parameters"] for o in up_opaque)


def _claim_spec(d: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = d["spec"]
    return spec["spec"] if d["kind"] == "ResourceClaimTemplate" else spec


# --- SR-IOV VFs: the SR-IOV DRA driver -------------------------------------------------------



def _sriov_upstream() -> Path:
    return upstream_dir("k8snetworkplumbingwg+dra-driver-sriov/cd9404f0301e")


def _sriov_plan() -> Plan:
    from tests.plan.hosts import gpu_node

    return build_plan(load_spec(EXAMPLES / "sriov-rdma-cni-whereabouts.yaml"),
                      [gpu_node(1), gpu_node(2)])


def test_sriov_dra_render_matches_golden() -> None:
    plan = _sriov_plan()
    objects = render(plan, target="dra")
    _golden("sriov-rdma-cni-whereabouts.dra.yaml", stream_text(objects))
    _golden("sriov-rdma-cni-whereabouts.dra.plan.md",
            plan_markdown(plan, render_notes(plan, target="dra")))
    for version in VERSIONS:
        validate_objects(objects, k8s_version=version)


def _upstream_crd_schemas() -> dict[str, dict[str, Any]]:
    out = {}
    templates = _sriov_upstream() / "deployments/helm/dra-driver-sriov/templates"
    for f in templates.glob("sriovnetwork.k8snetworkplumbingwg.io_*.yaml"):
        crd = yaml.safe_load(f.read_text())
        (ver,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
        out[crd["spec"]["names"]["kind"]] = ver["schema"]["openAPIV3Schema"]
    return out


def test_sriov_dra_objects_validate_against_the_drivers_crds() -> None:
    import jsonschema  # type: ignore[import-untyped]

    schemas = _upstream_crd_schemas()
    assert set(schemas) == {"SriovResourcePolicy", "DeviceAttributes"}
    objects = render(_sriov_plan(), target="dra")
    checked = 0
    for o in objects:
        if o["kind"] in schemas:
            jsonschema.Draft7Validator(schemas[o["kind"]]).validate(o)
            checked += 1
    assert checked == 2
    # and the upstream CRDs reject what dualnet's own schema rejects: an unknown link type
    (policy,) = _kind(objects, "SriovResourcePolicy")
    policy["spec"]["configs"][0]["resourceFilters"][0]["linkType"] = "roce"
    assert list(jsonschema.Draft7Validator(schemas["SriovResourcePolicy"]).iter_errors(policy))
    assert any("linkType" in p for p in validation_problems([policy]))


def test_sriov_nad_resource_name_is_the_vf_attribute() -> None:
    objects = render(_sriov_plan(), target="dra")
    (attrs,) = _kind(objects, "DeviceAttributes")
    (nad,) = _kind(objects, "NetworkAttachmentDefinition")
    value = attrs["spec"]["attributes"]["k8s.cni.cncf.io/resourceName"]["string"]
    assert nad["metadata"]["annotations"]["k8s.v1.cni.cncf.io/resourceName"] == value
    (rct,) = _kind(objects, "ResourceClaimTemplate")
    params = rct["spec"]["spec"]["devices"]["config"][0]["opaque"]["parameters"]
    assert params["kind"] == "VfConfig" and params["ifName"] == "net1"
    assert params["netAttachDefName"] == nad["metadata"]["name"]
    # the extended-resource bridge: limits-based pod specs get a VF of this class
    (dc,) = _kind(objects, "DeviceClass")
    assert dc["spec"]["extendedResourceName"] == value
    assert dc["spec"]["config"][0]["opaque"]["parameters"] == params


def test_dranet_class_has_no_extended_resource_bridge(reports: dict[str, HostReport]) -> None:
    """An implicit claim from resources.limits would carry no address (dranet has no IPAM)."""
    plan = _plan(reports, "gh200")
    (dc,) = _kind(render(plan, target="dra"), "DeviceClass")
    assert "extendedResourceName" not in dc["spec"]
    assert any("No extendedResourceName bridge" in n for n in dra_plan_notes(plan))


def test_lint_catches_a_resource_name_mismatch() -> None:
    objects = render(_sriov_plan(), target="dra")
    (nad,) = _kind(objects, "NetworkAttachmentDefinition")
    nad["metadata"]["annotations"]["k8s.v1.cni.cncf.io/resourceName"] = "nvidia.com/other"
    problems = validation_problems(objects)
    assert any("Multus would skip" in p and "NetworkAttachmentDefinition" in p
               for p in problems), problems


def test_sriov_vf_config_names_match_the_drivers_demos() -> None:
    demo = [d for f in sorted((_sriov_upstream() / "demo").rglob("*.yaml"))
            for d in yaml.safe_load_all(f.read_text()) if isinstance(d, dict)]
    up = [c["opaque"]["parameters"] for d in demo if d.get("kind") == "ResourceClaimTemplate"
          for c in d["spec"]["spec"]["devices"].get("config", [])
          if c.get("opaque", {}).get("parameters", {}).get("kind") == "VfConfig"]
    assert up
    up_keys = {k for p in up for k in p}
    (rct,) = _kind(render(_sriov_plan(), target="dra"), "ResourceClaimTemplate")
    ours = rct["spec"]["spec"]["devices"]["config"][0]["opaque"]["parameters"]
    # netAttachDefNamespace is in VfConfig's source (pkg/api/virtualfunction), not in the demos
    assert set(ours) - {"netAttachDefNamespace"} <= up_keys
    assert {p["apiVersion"] for p in up} == {ours["apiVersion"]}


# --- the CEL selectors, evaluated (cel-python) on devices as dranet publishes them --------------

def _dranet_device(report: HostReport, netdev: str, *, virtual: bool = False) -> dict[str, Any]:
    """The dra.net attributes dranet publishes for a netdev (pkg/inventory/db.go), from the
    discovered facts: ifName, rdma (an RDMA device on the function), virtual, encapsulation
    (netlink EncapType), numaNode."""
    nic = report.nic_by_netdev(netdev)
    assert nic is not None
    return {"driver": "dra.net", "attributes": {"dra.net": {
        "ifName": netdev, "rdma": bool(nic.rdma_devices), "virtual": virtual,
        "encapsulation": "infiniband" if nic.link_type == "infiniband" else "ether",
        "numaNode": nic.numa_node if nic.numa_node is not None else -1}}}


def _matches(exprs: list[str], device: dict[str, Any]) -> bool:
    import celpy
    from celpy.adapter import json_to_cel

    env = celpy.Environment()
    act = {"device": json_to_cel(device)}
    return all(bool(env.program(env.compile(e)).evaluate(act)) for e in exprs)


def _selector_exprs(objects: list[dict[str, Any]], template: str) -> list[str]:
    (dc,) = _kind(objects, "DeviceClass")
    (rct,) = [o for o in _kind(objects, "ResourceClaimTemplate")
              if o["metadata"]["name"].startswith(template)]
    (nic,) = [r for r in rct["spec"]["spec"]["devices"]["requests"] if r["name"] == "nic"]
    return [dc["spec"]["selectors"][0]["cel"]["expression"],
            *(s["cel"]["expression"] for s in nic["exactly"]["selectors"])]


@pytest.mark.parametrize("sample", sorted(CASES))
def test_cel_selects_the_planned_port_and_nothing_else(reports: dict[str, HostReport],
                                                       sample: str) -> None:
    plan = _plan(reports, sample)
    report = reports[sample]
    objects = render(plan, target="dra")
    (planned,) = [n.netdev for n in plan.hosts[0].nics]
    others = [n.netdev for n in report.nics if n.netdev and n.netdev != planned]
    assert others
    for template in (f"{plan.name.removesuffix('-net')}-nic-",
                     f"{plan.name.removesuffix('-net')}-gpu-nic-"):
        exprs = _selector_exprs(objects, template)
        assert _matches(exprs, _dranet_device(report, planned))
        for other in others:
            assert not _matches(exprs, _dranet_device(report, other)), other
        assert not _matches(exprs, _dranet_device(report, planned, virtual=True))
        # a device without dra.net attributes: false, not an evaluation error
        assert not _matches(exprs, {"driver": "dra.net", "attributes": {"dra.net": {}}})
