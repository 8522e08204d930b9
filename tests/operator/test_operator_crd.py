"""CRDs and deploy/: generated == committed, structural, accepting real objects, valid manifests,
and RBAC that covers what the operator renders."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate
import pytest
import yaml

from dualnet.host.models import HostReport
from dualnet.operator import logic
from dualnet.operator.agent import default_diagnose
from dualnet.operator.crd import SchemaError, all_crds, structural, to_yaml
from dualnet.operator.models import NodeReportStatus
from dualnet.render.validate import DEFAULT_K8S_VERSION
from tests.helpers import T0

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
EXAMPLES = REPO / "examples"


def _schema(crd: dict[str, Any]) -> dict[str, Any]:
    return dict(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])


def structural_problems(node: Any, path: str = "") -> list[str]:
    """The API server's structural-schema rules that pydantic output breaks if not rewritten."""
    out: list[str] = []
    if not isinstance(node, dict):
        return out
    for bad in ("$ref", "$defs", "definitions", "const", "prefixItems", "uniqueItems", "title",
                "default"):
        if bad in node:
            out.append(f"{path}: has {bad}")
    for comb in ("anyOf", "oneOf", "allOf"):
        for branch in node.get(comb, []):
            if "type" in branch:
                out.append(f"{path}: {comb} branch with a type")
    special = node.get("x-kubernetes-preserve-unknown-fields") or \
        node.get("x-kubernetes-int-or-string")
    if "type" not in node and not special:
        out.append(f"{path}: no type")
    if "properties" in node and "additionalProperties" in node:
        out.append(f"{path}: properties beside additionalProperties")
    if node.get("additionalProperties") is False:
        out.append(f"{path}: additionalProperties false")
    if "exclusiveMinimum" in node and not isinstance(node["exclusiveMinimum"], bool):
        out.append(f"{path}: numeric exclusiveMinimum")
    if node.get("type") == "array" and "items" not in node:
        out.append(f"{path}: array without items")
    for name, sub in (node.get("properties") or {}).items():
        out += structural_problems(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        out += structural_problems(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        out += structural_problems(node["additionalProperties"], f"{path}{{}}")
    return out


def to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 (nullable) -> JSON Schema, to validate objects as the API server would."""
    if isinstance(node, list):
        return [to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_jsonschema(v) for k, v in node.items() if not k.startswith("x-kubernetes")}
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    if out.get("exclusiveMinimum") is True:
        out["exclusiveMinimum"] = out.pop("minimum")
    if node.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False  # the API server prunes unknown fields
    return out


def test_committed_crds_equal_the_generator_output() -> None:
    for fname, crd in all_crds().items():
        committed = (DEPLOY / "crds" / fname).read_text()
        assert committed == to_yaml(crd), (
            f"deploy/crds/{fname} is stale: run `dualnet operator crds --write deploy/crds`")


@pytest.mark.parametrize("fname", sorted(all_crds()))
def test_crd_schemas_are_structural_and_valid_crds(fname: str) -> None:
    crd = all_crds()[fname]
    assert structural_problems(_schema(crd)) == []
    kubernetes_validate.validate(crd, DEFAULT_K8S_VERSION, strict=True)
    assert crd["spec"]["scope"] == "Cluster"


def test_structural_rewrites_optional_enum_const_refs_and_rejects_bad_refs() -> None:
    schema = {
        "$defs": {"Color": {"enum": ["red", "blue"], "type": "string"}},
        "type": "object", "additionalProperties": False,
        "properties": {
            "color": {"anyOf": [{"$ref": "#/$defs/Color"}, {"type": "null"}], "default": None},
            "kind": {"const": "X"},
            "n": {"type": "integer", "exclusiveMinimum": 0},
            "tags": {"type": "array", "items": {}, "uniqueItems": True},
            "m": {"type": "object", "additionalProperties": {"type": "integer"}},
        },
    }
    out = structural(schema)
    assert out["properties"]["color"] == {"type": "string", "enum": ["red", "blue"],
                                          "nullable": True}
    assert out["properties"]["kind"] == {"enum": ["X"], "type": "string"}
    assert out["properties"]["n"] == {"type": "integer", "minimum": 0, "exclusiveMinimum": True}
    assert out["properties"]["tags"]["items"] == {"x-kubernetes-preserve-unknown-fields": True}
    assert out["properties"]["m"]["additionalProperties"] == {"type": "integer"}
    assert structural_problems(out) == []
    with pytest.raises(SchemaError):
        structural({"$ref": "#/$defs/Missing"})


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_every_cli_example_is_a_valid_custom_resource(example: str) -> None:
    doc = yaml.safe_load((EXAMPLES / example).read_text())
    schema = to_jsonschema(_schema(all_crds()["trainingnetworks.dualnet.io.yaml"]))
    cr = copy.deepcopy(doc)
    jsonschema.validate(cr, schema)
    bad = copy.deepcopy(doc)
    bad["spec"]["mode"] = "warp-drive"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_status_and_report_fit_their_schemas(hosts: Callable[[str], HostReport]) -> None:
    crds = all_crds()
    report = hosts("no_mlx5_ib")
    nr = logic.build_node_report("gpu-1", report, default_diagnose(report, "shared-roce"),
                                 mode="shared-roce", now=T0)
    body = {"apiVersion": "dualnet.io/v1alpha1", "kind": "NodeReport",
            "metadata": {"name": "gpu-1"},
            "status": nr.model_dump(mode="json", by_alias=True, exclude_none=True)}
    jsonschema.validate(body, to_jsonschema(_schema(crds["nodereports.dualnet.io.yaml"])))
    status = logic.compute_network_status(
        generation=3, nodes=["gpu-1"], reports={"gpu-1": nr}, now=T0, stale_after_s=360,
        mode="shared-roce", previous=None, applied=[], fingerprints=["abc"])
    tn = {"apiVersion": "dualnet.io/v1alpha1", "kind": "TrainingNetwork",
          "metadata": {"name": "rdma"}, "spec": {"mode": "shared-roce"},
          "status": logic.status_dict(status)}
    jsonschema.validate(tn, to_jsonschema(_schema(crds["trainingnetworks.dualnet.io.yaml"])))
    assert NodeReportStatus.model_validate(body["status"]) == nr
