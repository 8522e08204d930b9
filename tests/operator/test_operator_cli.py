"""The operator's CLI verbs as a user runs them: `dualnet agent --once` against the emulator (a
real subprocess, real HTTP), `dualnet operator crds`, and usage errors (exit 2, no traceback)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import kmock
import yaml
from testsupport.apiserver import write_kubeconfig

from dualnet.host.samples import no_mlx5_ib
from dualnet.host.synthetic import build_tree
from dualnet.operator.crd import all_crds

DUALNET = [sys.executable, "-c", "from dualnet.cli import main; main()"]


async def run(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *DUALNET, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_agent_once_publishes_this_nodes_report(server: Any, tmp_path: Path) -> None:
    root = build_tree(no_mlx5_ib(), tmp_path / "host")
    cfg = write_kubeconfig(tmp_path / "kc", str(server.url).rstrip("/"))
    code, _, err = await run("agent", "--once", "--node", "gpu-7", "--root", str(root),
                             "--mode", "shared-roce", "--kubeconfig", str(cfg))
    assert code == 0, err
    report = server.objects[kmock.resource("dualnet.io/v1alpha1/nodereports"), None,
                            "gpu-7"].raw
    assert report["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "dualnet"
    status = report["status"]
    assert status["nodeName"] == "gpu-7" and status["ready"] is False
    assert "rdma.mlx5_ib-missing" in {f["id"] for f in status["findings"]}


async def test_agent_usage_errors_exit_2(tmp_path: Path) -> None:
    code, _, err = await run("agent", "--once", "--node", "n", "--root", str(tmp_path),
                             "--mode", "warp-drive")
    assert code == 2 and "--mode 'warp-drive'" in err and "Traceback" not in err
    code, _, err = await run("agent", "--once", "--node", "n", "--root",
                             str(tmp_path / "missing"))
    assert code == 2 and "not a directory" in err


async def test_agent_node_name_is_validated(tmp_path: Path) -> None:
    code, _, err = await run("agent", "--once", "--node", "Bad Node", "--root", str(tmp_path))
    assert code == 2 and "--node 'Bad Node': not a Kubernetes node name" in err
    assert "Traceback" not in err


async def test_agent_once_that_cannot_publish_exits_4(tmp_path: Path) -> None:
    # nothing listens on port 1: the single shot must not report success
    root = build_tree(no_mlx5_ib(), tmp_path / "host")
    cfg = write_kubeconfig(tmp_path / "kc", "https://127.0.0.1:1")
    code, _, err = await run("agent", "--once", "--node", "gpu-1.example.com", "--root",
                             str(root), "--mode", "shared-roce", "--kubeconfig", str(cfg))
    assert code == 5, err  # Exit.CLUSTER
    assert "NodeReport gpu-1.example.com not published" in err and "Traceback" not in err


async def test_crds_command_prints_the_generated_crds() -> None:
    code, out, err = await run("operator", "crds")
    assert code == 0, err
    docs = [d for d in yaml.safe_load_all(out) if d]
    assert docs == list(all_crds().values())


async def test_bad_health_thresholds_file_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "thresholds.yaml"
    bad.write_text("warn_symbol_error: -3\n")
    code, _, err = await run("agent", "--once", "--node", "gpu-7", "--root", str(tmp_path),
                             "--health-thresholds", str(bad))
    assert code == 2, err
    assert "thresholds.yaml: warn_symbol_error" in err and "Traceback" not in err
    typo = tmp_path / "typo.yaml"
    typo.write_text("warn_symbol_errors: 3\n")
    code, _, err = await run("agent", "--once", "--node", "gpu-7", "--root", str(tmp_path),
                             "--health-thresholds", str(typo))
    assert code == 2 and "allowed keys" in err, err
    code, _, err = await run("agent", "--once", "--node", "gpu-7", "--root", str(tmp_path),
                             "--metrics-port", "70000")
    assert code == 2 and "--metrics-port 70000" in err, err
