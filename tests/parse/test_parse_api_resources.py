"""`kubectl api-resources` / `api-versions` / `get --raw /apis` -> the served group/versions.

The captures in tests/parse/outputs are constructed (no published capture was found), each
documented on its `# source:` line; `apis-k8s-1.33-beta.json` is an `APIGroupList` as the
discovery endpoint `/apis` returns it (meta/v1 APIGroupList: groups[].versions[].groupVersion),
for a 1.33 cluster with the DRA beta versions enabled.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dualnet.parse.api_resources import parse_api_resources
from dualnet.parse.errors import ParseError
from dualnet.parse.from_dir import classify, report_from_dir
from dualnet.parse.registry import parse_tool_output

OUTPUTS = Path(__file__).resolve().parent / "outputs"


def _read(name: str) -> str:
    return (OUTPUTS / name).read_text()


def test_api_resources_table_of_a_1_34_cluster() -> None:
    served = parse_api_resources(_read("api_resources-k8s-1.34-dra.txt"))
    assert served == ["apps/v1", "resource.k8s.io/v1", "v1"]


def test_api_resources_table_with_beta_only() -> None:
    served = parse_api_resources(_read("api_resources-k8s-1.32-beta.txt"))
    assert "resource.k8s.io/v1" not in served
    assert "resource.k8s.io/v1beta1" in served


def test_discovery_document() -> None:
    served = parse_api_resources(_read("apis-k8s-1.33-beta.json"))
    assert served == [
        "apps/v1", "k8s.cni.cncf.io/v1", "resource.k8s.io/v1beta1", "resource.k8s.io/v1beta2",
    ]


def test_api_versions_list_and_registry_alias() -> None:
    served = parse_tool_output("kubectl api-versions", _read("api_versions-k8s-1.34.txt"))
    assert served == ["apps/v1", "k8s.cni.cncf.io/v1", "resource.k8s.io/v1", "v1"]


def test_wide_output_keeps_verbs_column() -> None:
    text = (
        "NAME             SHORTNAMES   APIVERSION           NAMESPACED   KIND            VERBS\n"
        "resourceslices                resource.k8s.io/v1   false        ResourceSlice   "
        "[create delete get list watch]\n"
    )
    assert parse_api_resources(text) == ["resource.k8s.io/v1"]


def test_another_tools_output_is_refused() -> None:
    with pytest.raises(ParseError, match="group/version"):
        parse_api_resources("Module Size Used by\nmlx5_ib 1 0\n")


def test_json_that_is_not_discovery_is_refused() -> None:
    with pytest.raises(ParseError, match="groups"):
        parse_api_resources('{"kind": "NodeList", "items": []}')
    with pytest.raises(ParseError, match="not JSON"):
        parse_api_resources('{"groups": [')


def test_from_dir_reads_it(tmp_path: Path) -> None:
    assert classify("kubectl_api_resources.txt") == "kubectl_api_resources"
    assert classify("apis.json") == "kubectl_api_resources"
    (tmp_path / "kubectl_api_resources.txt").write_text(_read("api_resources-k8s-1.32-beta.txt"))
    report = report_from_dir(tmp_path)
    assert report.dra.api_versions is not None
    assert "resource.k8s.io/v1beta1" in report.dra.api_versions


def test_resource_slices_v1_list() -> None:
    devices = parse_tool_output(
        "kubectl get resourceslices", _read("resourceslices-dranet-ipoib-rdma-false.json")
    )
    assert [(d.node, d.name) for d in devices] == [
        ("guest", "enp1s0f0np0"), ("guest", "ibp1s0f1"), ("other", "ibp1s0f1"),
    ]
    first = devices[0]
    assert first.driver == "dra.net"
    # the driver's own domain dropped, a standard attribute kept qualified; types kept
    assert first.attributes["rdma"] is True
    assert first.attributes["numaNode"] == 0
    assert first.attributes["resource.kubernetes.io/pcieRoot"] == "pci0000:00"


def test_resource_slice_v1beta1_basic() -> None:
    (device,) = parse_tool_output("resourceslices", _read("resourceslices-v1beta1-basic.yaml"))
    assert device.attributes == {"ifName": "enp1s0f1np1", "rdma": True, "mtu": 9000}


def test_resource_slices_refuse_other_objects() -> None:
    with pytest.raises(ParseError, match="no ResourceSlice"):
        parse_tool_output("resourceslices", '{"kind": "List", "items": [{"kind": "Node"}]}')
    with pytest.raises(ParseError, match="JSON nor YAML"):
        parse_tool_output("resourceslices", '{"kind": ')
