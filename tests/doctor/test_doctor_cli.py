"""`dualnet doctor` end to end: exit statuses, --root on sample trees, --from on real outputs."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from dualnet.cli.doctor_cmds import findings_table
from dualnet.doctor import DoctorResult
from dualnet.host.samples import build_sample
from dualnet.host.schema import adapter
from tests.doctor.corpus_dirs import GH200_FILES, make_from_dir
from tests.helpers import run_cli


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the real entry point (`dualnet ...`) and return its exit status and output."""
    return run_cli(capsys, *args)


@pytest.fixture(scope="module")
def sample_roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    roots = {}
    for name in ("gh200", "no_mlx5_ib", "no_rdma"):
        roots[name] = build_sample(name, tmp_path_factory.mktemp(name))
    return roots


def test_gh200_json_exit_1(
    sample_roots: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        ["doctor", "--root", str(sample_roots["gh200"]), "--mode", "shared-roce", "-o", "json"],
        capsys,
    )
    data = json.loads(out)
    assert code == 1 == data["exit_code"]
    assert data["worst"] == "warning"
    assert data["hostname"] == "guest"
    assert data["mode"] == "shared-roce"
    got = {(f["id"], f["subject"]) for f in data["findings"]}
    assert ("port.not-active", "mlx5_1/1") in got
    assert ("port.only-active-is-management", "enp1s0f0np0") in got
    assert ("roce.mtu-low", "mlx5_0/1") in got
    first = data["findings"][0]
    assert set(first) == {"id", "severity", "title", "subject", "evidence", "why", "fix", "persist"}


def test_table_shows_fixes_in_full(
    sample_roots: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An 80-column page (a narrow terminal, or COLUMNS=80 on a pipe): one block per finding,
    # each fix on its own line.
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = run(["doctor", "--root", str(sample_roots["gh200"])], capsys)
    assert code == 1
    assert "WARNING  port.only-active-is-management  enp1s0f0np0" in out
    assert "  fix: ip link set dev enp1s0f0np0 mtu 9000\n" in out
    # A wide terminal gets the table; fixes are folded there, never cut.
    _, js, _ = run(["doctor", "--root", str(sample_roots["gh200"]), "-o", "json"], capsys)
    result = adapter(DoctorResult).validate_json(js)
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(findings_table(result))
    text = console.export_text()
    assert "┃ severity ┃ id" in text
    assert "ip link set dev enp1s0f0np0 mtu 9000" in text
    assert "…" not in text


def test_errors_exit_4(sample_roots: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["doctor", "--root", str(sample_roots["no_mlx5_ib"]), "-o", "json"], capsys)
    assert code == 4
    assert "rdma.mlx5_ib-missing" in {f["id"] for f in json.loads(out)["findings"]}


def test_info_only_exits_0(
    sample_roots: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["doctor", "--root", str(sample_roots["no_rdma"]), "-o", "json"], capsys)
    data = json.loads(out)
    assert code == 0 == data["exit_code"]
    assert data["findings"] and {f["severity"] for f in data["findings"]} == {"info"}


def test_from_folder_of_real_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = make_from_dir(tmp_path / "outputs", GH200_FILES)
    code, out, _ = run(
        ["doctor", "--from", str(folder), "--mode", "shared-roce", "-o", "json"], capsys
    )
    data = json.loads(out)
    assert code == 1
    assert data["source"] == "tool-outputs"
    ids = {f["id"] for f in data["findings"]}
    assert {"port.not-active", "roce.mtu-low", "doctor.facts-unknown"} <= ids
    assert "gpudirect.nvidia_peermem-missing" not in ids


def test_root_and_from_together_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["doctor", "--root", str(tmp_path), "--from", str(tmp_path)], capsys)
    assert code == 2
    assert "--root and --from cannot be used together" in err
    assert out == ""
    assert "Traceback" not in err


def test_bad_inputs_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["doctor", "--from", str(tmp_path / "nope")], capsys)
    assert code == 2 and "nope" in err
    code, _, err = run(["doctor", "--root", str(tmp_path / "nope")], capsys)
    assert code == 2 and "does not exist" in err
    # a folder that is not a node tree is a wrong path, not a node without RDMA
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = run(["doctor", "--root", str(empty)], capsys)
    assert code == 2 and "neither sys/ nor proc/" in err and out == ""
    code, _, _ = run(["doctor", "--mode", "bogus"], capsys)
    assert code == 2
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "ibv_devinfo.txt").write_text("hca_id mlx5_0 ???\n\tport: x\n")
    code, _, err = run(["doctor", "--from", str(garbage), "--strict"], capsys)
    assert code == 2
    assert "ibv_devinfo" in err and "Traceback" not in err


def test_refused_file_is_a_finding_and_the_rest_is_diagnosed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "ibv_devinfo.txt").write_text("hca_id mlx5_0 ???\n\tport: x\n")
    (folder / "rdma_link.txt").write_text("link mlx5_0/1 state DOWN physical_state DISABLED "
                                          "netdev eth2\n")
    code, out, err = run(["doctor", "--from", str(folder), "-o", "json"], capsys)
    assert "Traceback" not in err
    result = json.loads(out)
    by_id = {f["id"]: f for f in result["findings"]}
    refused = by_id["doctor.file-refused"]
    assert refused["subject"] == "ibv_devinfo.txt" and refused["severity"] == "warning"
    assert "line 1" in refused["evidence"]["reason"]
    assert "port.not-active" in by_id  # rdma_link.txt was still diagnosed
    assert code == 4  # the worst finding (port.none-active) decides


def test_options_reach_the_rules(
    sample_roots: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(sample_roots["gh200"])
    code, out, _ = run(["doctor", "--root", root, "--dpdk", "--vfs", "32", "-o", "json"], capsys)
    got = {f["id"] for f in json.loads(out)["findings"]}
    assert code == 4
    assert {"dpdk.no-hugepages", "sriov.vfs-over-total"} <= got  # GH200: 0 hugepages, 16 VFs max
    code, out, _ = run(["doctor", "--root", root, "--rdma-cni", "-o", "json"], capsys)
    assert code == 4
    assert "netns.wrong-mode" in {f["id"] for f in json.loads(out)["findings"]}
    code, _, _ = run(["doctor", "--root", root, "--vfs", "0"], capsys)
    assert code == 2


def test_findings_table_takes_a_plain_list() -> None:
    from dualnet.doctor import diagnose
    from tests.doctor.reports import gh200

    console = Console(width=90, record=True, file=io.StringIO())
    console.print(findings_table(diagnose(gh200())))
    text = console.export_text()
    assert text.startswith("dualnet doctor: node - 0 error(s), 3 warning(s)")
    assert "WARNING  port.not-active  mlx5_1/1" in text
