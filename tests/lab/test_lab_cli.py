"""`dualnet lab` as a user runs it: output and exit codes (0 pass, 1 fail, 2 usage, 3 host)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dualnet.parse.network_status import parse_network_status
from tests.helpers import NADS, dualnet, own_lab_namespaces


def _lab(*args: str) -> subprocess.CompletedProcess[str]:
    return dualnet("lab", *args, timeout=120)


@pytest.mark.netns
@pytest.mark.cni
def test_table_output_and_exit_0(real_lab: Path) -> None:
    proc = _lab(str(NADS / "macvlan-host-local.yaml"), "--pods", "2", "--cni-bin",
                str(real_lab))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for needle in ("verdict PASS", "k8s.v1.cni.cncf.io/network-status", "reach-over-net1",
                   "master-up", "teardown + verify", "rewritten for the lab: ipam.dataDir"):
        assert needle in proc.stdout


@pytest.mark.netns
@pytest.mark.cni
def test_json_output_carries_the_annotation(real_lab: Path) -> None:
    proc = _lab(str(NADS / "render-stream.yaml"), "--output", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["verdict"] == "pass" and len(data["pods"]) == 2
    entries = parse_network_status(data["pods"][0]["annotation"])
    assert [e.name for e in entries] == ["dnlab-pods", "default/rdma-net"]


@pytest.mark.netns
@pytest.mark.cni
def test_failed_nad_exits_1_and_unsupported_exits_3(real_lab: Path) -> None:
    bad = _lab(str(NADS / "broken-bad-mode.yaml"))
    assert bad.returncode == 1
    assert 'unknown macvlan mode: "bridged"' in bad.stdout
    sriov = _lab(str(NADS / "sriov.yaml"))
    assert sriov.returncode == 3
    assert "UNSUPPORTED" in sriov.stdout


def test_usage_and_host_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: [oops")
    proc = _lab(str(bad))
    assert proc.returncode == 2 and "not valid YAML" in proc.stderr
    assert "Traceback" not in proc.stderr
    empty = tmp_path / "cni"
    empty.mkdir()
    proc = _lab(str(NADS / "macvlan-host-local.yaml"), "--cni-bin", str(empty))
    assert proc.returncode == 3, proc.stderr
    assert "containernetworking-plugins" in proc.stderr or "needs root" in proc.stderr


@pytest.mark.netns
@pytest.mark.cni
@pytest.mark.parametrize("delay", [0.0, 0.3])  # while building, while attaching pods
def test_ctrl_c_mid_run_cleans_up(real_lab: Path, delay: float) -> None:
    import signal
    import time

    before = own_lab_namespaces()
    proc = subprocess.Popen([sys.executable, "-c", "from dualnet.cli import main; main()", "lab",
                             str(NADS / "macvlan-host-local.yaml"), "--pods", "32"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (own_lab_namespaces() - before):
        time.sleep(0.02)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted by SIGINT" in err
    assert own_lab_namespaces() - before == set()


@pytest.mark.netns
@pytest.mark.cni
def test_a_check_that_did_not_run_reads_skipped(real_lab: Path) -> None:
    # cniVersion 0.3.1 has no CHECK: the table says skipped, and the summary counts it apart
    proc = _lab(str(NADS / "rendered-static-per-pod.yaml"), "--pods", "1", "--cni-bin",
                str(real_lab))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    row = next(line for line in proc.stdout.splitlines() if "cni-check-nad" in line)
    assert "skipped" in row and "pass" not in row.split("not run")[0]
    assert "skipped (not run)" in proc.stdout and " 0 failed" in proc.stdout
