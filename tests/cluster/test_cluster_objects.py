"""Loading render output, ownership and the live-vs-desired comparison (pure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from testsupport.apiserver import write_kubeconfig

from dualnet import labels
from dualnet.cluster.client import make_client
from dualnet.cluster.objects import (
    comparable,
    is_owned,
    is_subset,
    load_objects,
    sort_for_apply,
    with_ownership,
)
from dualnet.errors import UsageError

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  a: b\n"


def test_kustomize_dir_follows_resources_in_order_and_namespace(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text(CM.format(name="one"))
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "kustomization.yaml").write_text("resources: [two.yaml]\n")
    (sub / "two.yaml").write_text(CM.format(name="two") + "---\n" + CM.format(name="three"))
    (tmp_path / "kustomization.yaml").write_text(
        "namespace: rdma\nresources:\n- sub\n- one.yaml\n")
    objs = load_objects(tmp_path)
    assert [o["metadata"]["name"] for o in objs] == ["two", "three", "one"]
    assert {o["metadata"]["namespace"] for o in objs} == {"rdma"}


def test_plain_dir_and_list_kind(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text(CM.format(name="b"))
    (tmp_path / "a.yml").write_text(
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n"
        "  metadata: {name: a}\n")
    assert [o["metadata"]["name"] for o in load_objects(tmp_path)] == ["a", "b"]


def test_kustomize_transforms_need_kustomize(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\npatches:\n- path: p.yaml\n")
    with pytest.raises(UsageError, match="uses patches") as err:
        load_objects(tmp_path)
    assert "kubectl kustomize" in str(err.value)


def test_yaml_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n")
    with pytest.raises(UsageError, match=r"bad.yaml: not valid YAML at line \d+"):
        load_objects(bad)
    bad.write_text("- just\n- a list\n")
    with pytest.raises(UsageError, match=r"\(document 1\): expected a Kubernetes object"):
        load_objects(bad)
    bad.write_text("kind: ConfigMap\nmetadata: {name: x}\n")
    with pytest.raises(UsageError, match="missing 'apiVersion'"):
        load_objects(bad)


def test_is_subset_ignores_server_defaults_and_empties() -> None:
    desired = {"spec": {"a": 1, "list": [{"x": 1}], "empty": {}, "none": None}}
    live = {"spec": {"a": 1.0, "list": [{"x": 1, "default": True}], "extra": 3},
            "status": {"ok": True}}
    assert is_subset(desired, live)
    assert not is_subset({"spec": {"a": 2}}, live)
    assert not is_subset({"spec": {"list": [{"x": 1}, {"x": 2}]}}, live)
    assert not is_subset({"spec": {"new": "v"}}, live)
    assert not is_subset({"flag": True}, {"flag": 1.5})


def test_is_subset_compares_quantities_as_the_server_stores_them() -> None:
    assert is_subset({"limits": {"rdma/rdma_shared_device": 1}},
                     {"limits": {"rdma/rdma_shared_device": "1"}})
    assert is_subset({"cpu": "1000m", "memory": "1Gi"}, {"cpu": "1", "memory": "1073741824"})
    assert is_subset({"cpu": 0.5}, {"cpu": "500m"})
    assert not is_subset({"cpu": 2}, {"cpu": "1"})
    assert not is_subset({"label": "1"}, {"label": "01"})  # plain strings stay strings
    assert not is_subset({"image": "v1"}, {"image": "v2"})
    # omitempty: the server leaves out false and 0
    assert is_subset({"spec": {"hostNetwork": False, "priority": 0}}, {"spec": {}})
    assert not is_subset({"spec": {"hostNetwork": True}}, {"spec": {}})


def test_comparable_drops_status_and_server_meta() -> None:
    obj = {"kind": "X", "metadata": {"name": "n", "resourceVersion": "5", "uid": "u"},
           "status": {"a": 1}}
    assert comparable(obj) == {"kind": "X", "metadata": {"name": "n"}}


def test_ownership_labels_and_role_kept() -> None:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "p", "labels": {labels.ROLE: "test-pod", "x": "y"}}}
    out = with_ownership(obj, "net-a")
    assert out["metadata"]["labels"] == {**labels.owned_labels("net-a", "test-pod"), "x": "y"}
    assert is_owned(out) and not is_owned(obj)
    assert "labels" in obj["metadata"] and labels.MANAGED_BY not in obj["metadata"]["labels"]
    with pytest.raises(UsageError, match=r"no dualnet\.io/network label"):
        with_ownership({"kind": "Pod", "metadata": {"name": "p"}}, None)


def test_apply_order() -> None:
    kinds = ["Pod", "DaemonSet", "NetworkAttachmentDefinition", "ConfigMap", "Namespace",
             "Whatever", "ClusterRole"]
    objs = [{"kind": k} for k in kinds]
    assert [o["kind"] for o in sort_for_apply(objs)] == [
        "Namespace", "ClusterRole", "ConfigMap", "NetworkAttachmentDefinition", "Whatever",
        "DaemonSet", "Pod"]


def test_make_client_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="no such file"):
        make_client(tmp_path / "missing")
    kc = write_kubeconfig(tmp_path / "kc", "https://10.0.0.1:6443", context="k3s")
    with pytest.raises(UsageError, match=r"not in the kubeconfig \(contexts: k3s\)"):
        make_client(kc, "other")
    client = make_client(kc, "k3s")
    assert str(client.config.cluster.server) == "https://10.0.0.1:6443"
    assert client.namespace == "default"
    monkeypatch.setenv("KUBECONFIG", str(kc))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert make_client().config.context_name == "k3s"
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    with pytest.raises(UsageError, match=r"\$KUBECONFIG .*none: no such file"):
        make_client()
    (tmp_path / "garbage").write_text("clusters: 3\n")
    with pytest.raises(UsageError, match="not a valid kubeconfig"):
        make_client(tmp_path / "garbage")
