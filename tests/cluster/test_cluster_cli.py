"""`dualnet apply` as a user runs it: a subprocess talking HTTP to the emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kmock
import pytest
import yaml
from testsupport.apiserver import write_kubeconfig, writes

from dualnet import labels
from tests.cluster.helpers import rendered
from tests.helpers import Harness, dualnet_async, run_cli


def stream(tmp_path: Path, objs: list[dict[str, Any]]) -> Path:
    path = tmp_path / "all.yaml"
    path.write_text(yaml.safe_dump_all(objs))
    return path


async def test_apply_twice_second_run_writes_nothing(harness: Harness, tmp_path: Path) -> None:
    kc = write_kubeconfig(tmp_path / "kc", str(harness.emulator.url).rstrip("/"))
    path = stream(tmp_path, rendered("default"))
    rc, out, err = await dualnet_async("apply", str(path), "--kubeconfig", str(kc), "--no-wait",
                                 "-o", "json")
    assert rc == 0, err
    first = json.loads(out)
    assert [o["action"] for o in first["outcomes"]] == ["created"] * 3
    before = len(writes(harness.server))
    rc, out, err = await dualnet_async("apply", str(path), "--kubeconfig", str(kc), "--no-wait",
                                 "-o", "json")
    assert rc == 0, err
    assert {o["action"] for o in json.loads(out)["outcomes"]} == {"unchanged"}
    assert len(writes(harness.server)) == before


async def test_apply_table_output_and_skipped_object(harness: Harness, tmp_path: Path) -> None:
    kc = write_kubeconfig(tmp_path / "kc", str(harness.emulator.url).rstrip("/"))
    await harness.seed({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": "rdma-devices", "namespace": "default"},
                        "data": {"x": "y"}})
    rc, out, err = await dualnet_async("apply", str(stream(tmp_path, rendered("default"))),
                                 "--kubeconfig", str(kc), "--no-wait")
    assert rc == 0, err
    assert "ConfigMap/default/rdma-devices" in out and "skipped" in out and "not owned" in out


async def test_apply_wait_timeout_explains_and_exits_5(harness: Harness, tmp_path: Path) -> None:
    kc = write_kubeconfig(tmp_path / "kc", str(harness.emulator.url).rstrip("/"))
    objs = rendered("default")
    objs.append({"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
                 "metadata": {"name": "rdma-net", "namespace": "default",
                              "labels": labels.owned_labels("rdma-e2e", "network"),
                              "annotations": {labels.RESOURCE_NAME_ANNOTATION:
                                              "rdma/rdma_shared_device"}},
                 "spec": {"config": "{}"}})
    harness.emulator.objects[kmock.resource("", "v1", "nodes"), None, "gh200"] = {
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": "gh200"},
        "status": {"allocatable": {"cpu": "72"}}}
    rc, _, err = await dualnet_async("apply", str(stream(tmp_path, objs)), "--kubeconfig", str(kc),
                                 "--timeout", "0.5", "-o", "json")
    assert rc == 6, err  # Exit.TIMEOUT
    assert "not ready after 0.5s" in err
    assert "node gh200 does not advertise rdma/rdma_shared_device at all" in err
    assert "DaemonSet default/rdma-shared-dp-ds" in err
    assert "Traceback" not in err


def test_unreachable_api_is_a_clear_error(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    kc = write_kubeconfig(tmp_path / "kc", "http://127.0.0.1:9")
    path = stream(tmp_path, rendered("default"))
    rc, _, err = run_cli(capsys, "apply", str(path), "--kubeconfig", str(kc), "--no-wait")
    assert rc == 5  # Exit.CLUSTER: not 4, which is the doctor's "errors found" in every verb
    assert "cannot reach the Kubernetes API at http://127.0.0.1:9" in err
    assert "Traceback" not in err


def test_bad_input_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kc = write_kubeconfig(tmp_path / "kc", "http://127.0.0.1:9")
    rc, _, err = run_cli(capsys, "apply", str(tmp_path / "nope.yaml"), "--kubeconfig", str(kc))
    assert rc == 2 and "no such file or directory" in err
    path = stream(tmp_path, rendered("default"))
    rc, _, err = run_cli(capsys, "apply", str(path), "--dry-run", "client",
                         "--kubeconfig", str(kc))
    assert rc == 2 and "'client' is not one of 'none', 'server'" in err
    assert "Value error" not in err
    rc, _, err = run_cli(capsys, "apply", str(path), "--context", "nope", "--kubeconfig", str(kc))
    assert rc == 2 and "--context 'nope': not in the kubeconfig (contexts: kmock)" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n")
    rc, _, err = run_cli(capsys, "apply", str(bad), "--kubeconfig", str(kc))
    assert rc == 2 and "ConfigMap without metadata.name" in err
    rc, _, err = run_cli(capsys, "verify", "--kubeconfig", str(kc))
    assert rc == 2 and "nothing to verify" in err
    rc, _, err = run_cli(capsys, "bench", "--pods", "a,b,c", "--kubeconfig", str(kc))
    assert rc == 2 and "exactly two pods" in err
    rc, _, err = run_cli(capsys, "bench", "--nodes", "1", "--pods", "a,b")
    assert rc == 2 and "at least 2" in err
    rc, _, err = run_cli(capsys, "bench", "--nodes", "2", "--pods", "a,b")
    assert rc == 2 and "NCCL pods need --nad and --resource" in err
    rc, _, err = run_cli(capsys, "verify", "--pods", "Bad_Name")
    assert rc == 2 and "--pods" in err
