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
