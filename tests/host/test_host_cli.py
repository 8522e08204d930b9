"""The discover verbs through the real CLI (typer's CliRunner in-process; one subprocess run for
the exit status and message of a bad --root, which `main()` prints)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from dualnet.cli import app
from dualnet.errors import UsageError
from dualnet.host.models import HostReport
from dualnet.host.report_file import load_host_report
from dualnet.host.schema import adapter

runner = CliRunner()


def test_host_cli_discover_json_is_the_report(sample_roots: dict[str, Path],
                                              reports: dict[str, HostReport]) -> None:
    res = runner.invoke(app, ["discover", "--root", str(sample_roots["roce_sriov"]), "-o", "json"])
    assert res.exit_code == 0, res.output
    back = adapter(HostReport).validate_python(json.loads(res.stdout))
    assert back == reports["roce_sriov"]


def test_host_cli_discover_yaml(sample_roots: dict[str, Path]) -> None:
    res = runner.invoke(app, ["discover", "--root", str(sample_roots["gh200"]), "--output", "yaml"])
    assert res.exit_code == 0, res.output
    data = yaml.safe_load(res.stdout)
    assert data["management"]["name"] == "enp1s0f0np0"


def test_host_cli_discover_table(sample_roots: dict[str, Path]) -> None:
    res = runner.invoke(app, ["discover", "--root", str(sample_roots["gh200"])],
                        env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    for needle in ("ConnectX-7", "enp1s0f0np0", "a0:88:c2:a7:5c:d4", "mlx5_1", "DISABLED",
                   "NODE", "nvidia_peermem", "shared", "66.42.90.253/23", "00-multus.conf"):
        assert needle in res.stdout, needle


def test_host_cli_text_verbs(sample_roots: dict[str, Path]) -> None:
    root = str(sample_roots["gh200"])
    res = runner.invoke(app, ["show-gids", "--root", root, "mlx5_0"])
    assert res.exit_code == 0 and res.stdout.endswith("n_gids_found=4\n")
    res = runner.invoke(app, ["ibdev2netdev", "--root", root])
    assert res.stdout.splitlines()[0] == "mlx5_0 port 1 ==> enp1s0f0np0 (Up)"
    res = runner.invoke(app, ["ibdev2netdev", "--root", root, "-v"])
    assert res.stdout.startswith("0000:01:00.0 mlx5_0 (MT4129 - NA)")
    res = runner.invoke(app, ["topo", "--root", root])
    assert res.stdout.splitlines()[1] == "GPU0\t X \tNODE\tNODE\t0-71\t0\t\tN/A"


def test_host_cli_usage_errors(tmp_path: Path, sample_roots: dict[str, Path]) -> None:
    code = "from dualnet.cli import main; main()"
    for args, words in (
        (["discover", "--root", str(tmp_path / "nope")], "does not exist"),
        (["discover", "--root", str(tmp_path)], "neither sys/ nor proc/"),
        (["show-gids", "--root", str(sample_roots["gh200"]), "mlx5_7"], "no RDMA device"),
    ):
        proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                              text=True, timeout=120, check=False)
        assert proc.returncode == 2, proc.stderr
        assert words in proc.stderr and "Traceback" not in proc.stderr


def test_a_bad_report_file_names_each_field_in_dualnets_words(
        sample_roots: dict[str, Path], tmp_path: Path) -> None:
    res = runner.invoke(app, ["discover", "--root", str(sample_roots["gh200"]), "-o", "json"])
    data = json.loads(res.stdout)
    data["nics"][0]["colour"] = "red"
    del data["nics"][1]["pci_address"]
    data["nics"][1]["mtu"] = "big"
    data["rdma_devices"][0]["ports"][0]["state"] = "SLEEPY"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(UsageError) as exc:
        load_host_report(bad, option="--report")
    assert exc.value.message.splitlines()[1:] == [
        "  nics.0.colour: unknown field",
        "  nics.1.pci_address: required field is missing",
        "  nics.1.mtu: should be a whole number",
        "  rdma_devices.0.ports.0.state: should be 'NOP', 'DOWN', 'INIT', 'ARMED', 'ACTIVE', "
        "'ACTIVE_DEFER' or 'UNKNOWN'",
    ]
