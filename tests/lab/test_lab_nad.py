"""Loading NADs: render streams, conf vs conflist, name injection, errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from dualnet.errors import UsageError
from dualnet.lab.nad import load_nad, load_nads_text
from tests.helpers import NADS


def _nad(config: str, name: str = "net-a") -> str:
    return (f"apiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\n"
            f"metadata:\n  name: {name}\nspec:\n  config: '{config}'\n")


def test_render_stream_picks_the_nad_among_other_objects() -> None:
    nad = load_nad(NADS / "render-stream.yaml")
    assert nad.name == "rdma-net"
    assert nad.namespace == "default"
    assert nad.annotations["k8s.v1.cni.cncf.io/resourceName"] == "rdma/rdma_shared_device"
    assert nad.config["type"] == "macvlan"
    assert not nad.is_conflist
    assert [p["type"] for p in nad.plugins()] == ["macvlan"]


def test_conflist_without_name_gets_metadata_name() -> None:
    nad = load_nad(NADS / "macvlan-tuning-conflist.yaml")
    assert nad.is_conflist
    assert nad.config["name"] == "roce-tuned"
    assert [p["type"] for p in nad.plugins()] == ["macvlan", "tuning"]
    assert nad.cni_version == "0.4.0"


def test_empty_name_is_injected() -> None:
    (nad,) = load_nads_text(_nad('{"cniVersion": "1.0.0", "name": "", "type": "macvlan"}'))
    assert nad.config["name"] == "net-a"


def test_missing_cni_version_means_0_2_0() -> None:
    (nad,) = load_nads_text(_nad('{"type": "macvlan"}'))
    assert nad.cni_version == "0.2.0"


def test_bare_cni_config_is_accepted(tmp_path: Path) -> None:
    f = tmp_path / "roce.conflist"
    f.write_text('{"cniVersion": "1.0.0", "name": "roce", "plugins": [{"type": "macvlan"}]}')
    nad = load_nad(f)
    assert nad.name == "roce" and nad.is_conflist


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("kind: [unclosed", "not valid YAML at line 1"),
        (_nad('{"cniVersion": "1.0.0", "type": macvlan}'), "spec.config: not valid JSON at line 1"),
        (_nad('{"cniVersion": "1.0.0"}'), "spec.config.type: missing"),
        (_nad('{"plugins": [{"mtu": 1}]}'), "spec.config.plugins[0].type: missing"),
        (_nad('{"plugins": []}'), "spec.config.plugins: must be a non-empty list"),
        (_nad("[1, 2]"), "is a JSON list, not an object"),
        (_nad('{"type": "macvlan"}', name="Bad_Name"), "metadata.name: 'Bad_Name'"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
         "no NetworkAttachmentDefinition found (kinds present: ConfigMap)"),
        ("apiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\n"
         "metadata: {name: x}\nspec:\n  config:\n    type: macvlan\n",
         "spec.config: is a YAML mapping, but the CRD wants a JSON string"),
        ("apiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\n"
         "metadata: {name: x}\nspec: {}\n", "spec.config: missing or empty"),
        ("apiVersion: k8s.cni.cncf.io/v1beta1\nkind: NetworkAttachmentDefinition\n"
         "metadata: {name: x}\nspec: {config: '{}'}\n", "apiVersion: 'k8s.cni.cncf.io/v1beta1'"),
    ],
)
def test_bad_input_names_the_field(text: str, needle: str) -> None:
    with pytest.raises(UsageError) as exc:
        load_nads_text(text, "nad.yaml")
    assert needle in exc.value.message


def test_several_nads_need_a_choice(tmp_path: Path) -> None:
    f = tmp_path / "two.yaml"
    f.write_text(_nad('{"type": "macvlan"}', "net-a") + "---\n" +
                 _nad('{"type": "bridge"}', "net-b"))
    with pytest.raises(UsageError) as exc:
        load_nad(f)
    assert "net-a, net-b" in str(exc.value)
    assert load_nad(f, "net-b").config["type"] == "bridge"
    with pytest.raises(UsageError, match="--nad: 'net-c'"):
        load_nad(f, "net-c")


def test_unreadable_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        load_nad(tmp_path / "missing.yaml")
