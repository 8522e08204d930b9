"""The spec: loading, defaults, precise errors for bad input, the JSON Schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

from dualnet.errors import UsageError
from dualnet.spec import (
    DEFAULT_RDMA_HCA_MAX,
    IpamType,
    load_spec,
    parse_spec,
    spec_crd_schema,
    spec_json_schema,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def doc(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "dualnet.io/v1alpha1", "kind": "TrainingNetwork",
            "metadata": {"name": "rdma-net"}, "spec": spec}


def error_of(data: Any) -> str:
    with pytest.raises(UsageError) as info:
        parse_spec(data)
    return info.value.message


def test_guide_example_loads_with_its_values() -> None:
    spec = load_spec(EXAMPLES / "gh200-shared-roce.yaml")
    s = spec.spec
    assert spec.name == "rdma-net"
    assert s.nics.netdevs == ["enp1s0f0np0"]
    assert s.ipam.type is IpamType.HOST_LOCAL and s.ipam.subnet == "192.168.50.0/24"
    assert s.rdma_hca_max == 100 and s.k3s is True


def test_defaults_never_leave_rdma_hca_max_zero() -> None:
    s = parse_spec(doc()).spec
    assert s.rdma_hca_max == DEFAULT_RDMA_HCA_MAX == 63
    assert s.pod_cidr == "10.42.0.0/16" and s.service_cidr == "10.43.0.0/16"
    assert s.nics.is_auto


@pytest.mark.parametrize(
    ("spec", "field", "value"),
    [
        ({"ipam": {"type": "foo", "subnet": "10.9.0.0/24"}}, "spec.ipam.type", "'foo'"),
        ({"ipam": {"subnet": "192.168.50.1/24"}}, "spec.ipam.subnet", "'192.168.50.1/24'"),
        ({"rdmaHcaMax": 0}, "spec.rdmaHcaMax", "0"),
        ({"mode": "vxlan"}, "spec.mode", "'vxlan'"),
        ({"nics": {"netdevs": ["ok0", "way-too-long-ifname0"]}}, "spec.nics.netdevs[1]",
         "'way-too-long-ifname0'"),
        ({"nics": {"pciAddresses": ["01:00.0"]}}, "spec.nics.pciAddresses[0]", "'01:00.0'"),
        ({"nics": {"deviceIDs": ["0x10211"]}}, "spec.nics.deviceIDs", "0x10211"),
        ({"namespace": "Bad_NS"}, "spec.namespace", "'Bad_NS'"),
        ({"ipam": {"subnet": "10.9.0.0/24", "routes": [{"dst": "0.0.0.0/0"}]}},
         "spec.ipam.routes[0].dst", "'0.0.0.0/0'"),
        ({"macvlanMode": "bridged"}, "spec.macvlanMode", "'bridged'"),
        ({"numVfs": 0}, "spec.numVfs", "0"),
    ],
)
def test_bad_value_names_field_value_and_allowed(spec: dict[str, Any], field: str,
                                                 value: str) -> None:
    msg = error_of(doc(**spec))
    assert f"{field}:" in msg
    assert value in msg


def test_enum_error_lists_allowed_values() -> None:
    msg = error_of(doc(ipam={"type": "foo", "subnet": "10.9.0.0/24"}))
    for allowed in ("host-local", "static", "dhcp", "whereabouts"):
        assert allowed in msg


def test_unknown_field_lists_allowed_keys() -> None:
    msg = error_of(doc(ipam={"subnet": "10.9.0.0/24", "sbnet": "x"}))
    assert "spec.ipam.sbnet: unknown field" in msg
    assert "rangeStart" in msg and "subnet" in msg


def test_cross_field_ipam_errors() -> None:
    outside = error_of(doc(ipam={"subnet": "10.9.0.0/24", "rangeStart": "10.8.0.5"}))
    assert outside.startswith("invalid spec: spec.ipam: rangeStart 10.8.0.5 is outside subnet")
    # a section-level error names the values in its message, not the section's Python type
    assert "dict" not in outside
    assert "subnet is required" in error_of(doc(ipam={"type": "whereabouts"}))
    assert "dhcp" in error_of(doc(ipam={"type": "dhcp", "subnet": "10.9.0.0/24"}))
    assert "after rangeEnd" in error_of(doc(ipam={"subnet": "10.9.0.0/24",
                                                  "rangeStart": "10.9.0.9",
                                                  "rangeEnd": "10.9.0.2"}))


def test_wrong_kind_and_not_a_mapping() -> None:
    assert "kind" in error_of({**doc(), "kind": "Network"})
    assert "expected a mapping" in error_of(["not", "a", "doc"])


def test_nics_is_a_mapping_and_auto_stands_alone() -> None:
    # `dualnet schema` says nics is an object: the loader takes no string shorthand either
    assert "nics is a mapping: {auto: true}" in error_of(doc(nics="auto"))
    assert parse_spec(doc(nics={"auto": True})).spec.nics.auto is True
    assert "auto: true cannot be combined" in error_of(doc(nics={"auto": True,
                                                                 "netdevs": ["eth1"]}))


def test_load_spec_file_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        load_spec(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("spec: [unclosed\n")
    with pytest.raises(UsageError, match="not valid YAML"):
        load_spec(bad)
    two = tmp_path / "two.yaml"
    two.write_text(yaml.safe_dump(doc()) + "---\n" + yaml.safe_dump(doc()))
    with pytest.raises(UsageError, match="exactly one YAML document"):
        load_spec(two)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\x80\xfe spec")
    with pytest.raises(UsageError, match="not UTF-8"):
        load_spec(binary)
    # a directory given as the spec path is a read error, not a traceback
    with pytest.raises(UsageError, match="is a directory"):
        load_spec(tmp_path)


def test_json_schema_validates_every_example_and_rejects_bad() -> None:
    schema = spec_json_schema()
    for path in EXAMPLES.glob("*.yaml"):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc(mode="vxlan"), schema)


def _walk(node: Any) -> list[dict[str, Any]]:
    out = []
    if isinstance(node, dict):
        out.append(node)
        for v in node.values():
            out += _walk(v)
    elif isinstance(node, list):
        for v in node:
            out += _walk(v)
    return out


def test_crd_schema_is_structural() -> None:
    """No $ref, no anyOf/oneOf, no additionalProperties beside properties, every node typed."""
    schema = spec_crd_schema()
    assert schema["type"] == "object"
    for node in _walk(schema):
        for key in ("$ref", "anyOf", "oneOf", "allOf", "$defs", "additionalProperties"):
            assert key not in node
        if "properties" in node:
            for name, sub in node["properties"].items():
                assert "type" in sub, name
    assert set(schema["properties"]["ipam"]["properties"]["type"]["enum"]) == {
        "host-local", "static", "dhcp", "whereabouts"}


def test_cli_bad_spec_exits_2_naming_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc(ipam={"type": "hostlocal", "subnet": "10.9.0.0/24"})))
    r = subprocess.run([sys.executable, "-c", "from dualnet.cli import main; main()", "plan",
                        str(bad), "--report", "/dev/null"], capture_output=True, text=True,
                       check=False)
    assert r.returncode == 2, r.stderr
    assert "spec.ipam.type" in r.stderr and "'hostlocal'" in r.stderr
    assert "Traceback" not in r.stderr


def test_cli_schema_prints_json() -> None:
    r = subprocess.run([sys.executable, "-c", "from dualnet.cli import main; main()", "schema"],
                       capture_output=True, text=True, check=True)
    schema = json.loads(r.stdout)
    assert "spec" in schema["properties"]


def test_report_file_that_is_not_text_is_a_usage_error(tmp_path: Path) -> None:
    from dualnet.host.report_file import load_host_report

    binary = tmp_path / "node.json"
    binary.write_bytes(b"\x80\x81{}")
    with pytest.raises(UsageError, match="not UTF-8"):
        load_host_report(binary, option="--report")
