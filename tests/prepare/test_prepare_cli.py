"""`dualnet prepare` end to end: the real entry point (exit codes), real veths in a dnprep-* netns,
fixture trees for sysfs."""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from dualnet.errors import HostError
from dualnet.host.samples import build_sample
from tests.helpers import dualnet, have_root_netns, require
from tests.prepare.fakes import ip, veth_netns


@pytest.fixture
def ns() -> Iterator[str]:
    require(have_root_netns(), "root and iproute2 for network namespaces")
    yield from veth_netns()


def write(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.netns
def test_cli_real_run_then_nothing_to_do(ns: str, tmp_path: Path) -> None:
    steps = write(tmp_path / "steps.yaml", [{"kind": "mtu", "interface": "dnpa", "mtu": 9000}])
    first = dualnet("prepare", "--steps", str(steps), "--root", str(tmp_path), "--netns", ns,
                    "--output", "json")
    assert first.returncode == 0, first.stderr
    rep = json.loads(first.stdout)
    assert [s["status"] for s in rep["steps"]] == ["changed"]
    assert json.loads(ip("-n", ns, "-j", "link", "show", "dnpa"))[0]["mtu"] == 9000
    second = dualnet("prepare", "--steps", str(steps), "--root", str(tmp_path), "--netns", ns)
    assert second.returncode == 0
    assert "unchanged" in second.stdout
    assert "nothing to do: the node was prepared already (no change)" in second.stdout


@pytest.mark.netns
def test_cli_refuses_default_route_interface_exit_2(ns: str, tmp_path: Path) -> None:
    ip("-n", ns, "addr", "add", "10.78.0.1/24", "dev", "dnpb")
    ip("-n", ns, "link", "set", "dnpb", "up")
    ip("-n", ns, "route", "add", "default", "via", "10.78.0.2")
    steps = write(tmp_path / "s.yaml", [{"kind": "mtu", "interface": "dnpb", "mtu": 9000}])
    res = dualnet("prepare", "--steps", str(steps), "--root", str(tmp_path), "--netns", ns)
    assert res.returncode == 2
    assert "refused: nothing was changed" in res.stdout
    assert json.loads(ip("-n", ns, "-j", "link", "show", "dnpb"))[0]["mtu"] == 1500


def test_cli_bad_name_exit_2(tmp_path: Path) -> None:
    steps = write(tmp_path / "s.yaml", [{"kind": "mtu", "interface": "eth0 up", "mtu": 9000}])
    res = dualnet("prepare", "--steps", str(steps), "--dry-run")
    assert res.returncode == 2
    assert "not a valid interface name" in res.stderr and "Traceback" not in res.stderr


def test_cli_needs_exactly_one_source(tmp_path: Path) -> None:
    assert dualnet("prepare", "--dry-run").returncode == 2
    s = write(tmp_path / "s.yaml", [])
    assert dualnet("prepare", "--steps", str(s), "--plan", str(s), "--dry-run").returncode == 2


def test_cli_plan_picks_the_host(tmp_path: Path) -> None:
    root = build_sample("roce_sriov", tmp_path / "node")
    plan = write(tmp_path / "plan.yaml", {
        "spec": {"mode": "sriov"},
        "host_steps": {
            "roce-sriov-01": [{"kind": "sriov_numvfs", "pf": "enp59s0f1np1", "num_vfs": 2}],
            "other": [{"kind": "sriov_numvfs", "pf": "enp59s0f1np1", "num_vfs": 8}],
        },
    })
    res = dualnet("prepare", "--plan", str(plan), "--root", str(root), "--dry-run")
    assert res.returncode == 0, res.stderr
    want = f"echo 2 > {root}/sys/class/net/enp59s0f1np1/device/sriov_numvfs"
    assert want in res.stdout.splitlines()
    require(os.geteuid() == 0, "root for a real (non-dry) run")
    res = dualnet("prepare", "--plan", str(plan), "--root", str(root), "--host", "other")
    assert res.returncode == 0, res.stderr + res.stdout
    assert (root / "sys/class/net/enp59s0f1np1/device/sriov_numvfs").read_text() == "8\n"
    res = dualnet("prepare", "--plan", str(plan), "--root", str(root), "--host", "nope",
                  "--dry-run")
    assert res.returncode == 2 and "other, roce-sriov-01" in res.stderr


def test_cli_plan_with_a_plain_host_steps_list(tmp_path: Path) -> None:
    root = build_sample("roce_sriov", tmp_path / "node")
    plan = write(tmp_path / "plan.yaml", {"host_steps": [{"kind": "sriov_numvfs",
                                                          "pf": "enp59s0f1np1", "num_vfs": 9}]})
    res = dualnet("prepare", "--plan", str(plan), "--root", str(root), "--dry-run")
    assert res.returncode == 2 and "sriov_totalvfs is 8" in res.stdout


def test_cli_real_run_needs_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dualnet.cli import app

    steps = write(tmp_path / "s.yaml", [{"kind": "k3s"}])
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    res = CliRunner().invoke(app, ["prepare", "--steps", str(steps)])
    assert isinstance(res.exception, HostError) and "needs root" in str(res.exception)
    ok = CliRunner().invoke(app, ["prepare", "--steps", str(steps), "--dry-run",
                                  "--root", str(tmp_path)])
    assert ok.exit_code == 0 and "get.k3s.io" in ok.stdout


def test_cli_reads_the_plan_models_hosts_list(tmp_path: Path) -> None:
    from dualnet.plan.model import HostPlan
    from dualnet.plan.steps import CreateVfs, SetMtu

    root = build_sample("roce_sriov", tmp_path / "node")
    # The plan names enp59s0f1np1 as this host's management interface: prepare must respect it.
    hp = HostPlan(hostname="roce-sriov-01", nics=[], management_interface="enp59s0f1np1",
                  steps=[CreateVfs(pf="enp59s0f0np0", num_vfs=4),
                         SetMtu(interface="enp59s0f1np1", mtu=9000)])
    plan = write(tmp_path / "plan.yaml", {"name": "rdma-net", "hosts": [hp.model_dump(
        mode="json")]})
    res = dualnet("prepare", "--plan", str(plan), "--root", str(root), "--dry-run", "-o", "json")
    assert res.returncode == 2, res.stderr
    rep = json.loads(res.stdout)
    assert [s["status"] for s in rep["steps"]] == ["skipped", "refused"]
    assert "enp59s0f1np1" in rep["protected_interfaces"]


def test_error_text_is_printed_verbatim_not_as_markup_or_emoji(tmp_path: Path) -> None:
    # "domain:bus:device" in the PCI hint became a bus emoji; "[bold]" from input became markup
    steps = write(tmp_path / "steps.yaml", [{"kind": "bind_driver",
                                             "pci_address": "[bold]0000:3b:00.2",
                                             "driver": "mlx5_core"}])
    proc = dualnet("prepare", "--steps", str(steps), "--root", str(tmp_path), "--dry-run")
    assert proc.returncode == 2, proc.stderr
    assert "'[bold]0000:3b:00.2' is not a PCI address" in proc.stderr
    assert "domain:bus:device.function" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_root_tree_refuses_commands_that_would_act_on_this_machine(tmp_path: Path) -> None:
    # checks would read the tree while `rdma system set` changed the live host
    require(os.geteuid() == 0, "root (prepare without --dry-run)")
    root = tmp_path / "node"
    build_sample("gh200", root)
    steps = write(tmp_path / "steps.yaml", [{"kind": "netns_mode", "mode": "exclusive"}])
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    proc = dualnet("prepare", "--steps", str(steps), "--root", str(root))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "rdma system set netns exclusive" in proc.stderr
    assert "--root" in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before  # nothing written
    dry = dualnet("prepare", "--steps", str(steps), "--root", str(root), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "rdma system set netns exclusive" in dry.stdout


def test_failed_safety_discovery_fails_closed(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Discovery finds the management interface to protect; when it fails, prepare says so and
    refuses to change the host unless the user names that interface (it used to fall back
    silently)."""
    from dualnet.cli import app

    def broken(root: Path) -> None:
        raise RuntimeError("sysfs walk broke")

    # the module by its sys.modules entry: `dualnet.host.discover` as an attribute path is the
    # public function that dualnet.host exports, not the module
    monkeypatch.setattr(importlib.import_module("dualnet.host.discover"), "discover", broken)
    monkeypatch.setattr("os.geteuid", lambda: 0)
    ran: list[list[str]] = []
    monkeypatch.setattr("subprocess.run", lambda argv, *a, **k: ran.append(argv))
    steps = write(tmp_path / "s.yaml", [{"kind": "mtu", "interface": "dnnope0", "mtu": 9000}])
    res = CliRunner().invoke(app, ["prepare", "--steps", str(steps)])
    assert isinstance(res.exception, HostError), res.output
    assert "discovery of this node failed (RuntimeError: sysfs walk broke)" in str(res.exception)
    assert "--protect" in str(res.exception) and ran == []
    k3s = write(tmp_path / "k3s.yaml", [{"kind": "k3s"}])
    dry = CliRunner().invoke(app, ["prepare", "--steps", str(k3s), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "get.k3s.io" in dry.output
    assert "warning: discovery of this node failed (RuntimeError: sysfs walk broke)" in dry.output
