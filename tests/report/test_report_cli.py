"""`dualnet report` and `dualnet sample` as a user runs them: the page is written and its path
printed, bad input is a usage error naming the file and field, and a changed page is kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dualnet.host.samples import build_sample
from tests.gh200_report import GH200_OUTPUTS, outputs_dir
from tests.helpers import run_cli
from tests.report.pages import DRA_SPECS, fleet_bench, sample_report

GH200_SPEC = Path(__file__).resolve().parents[2] / "src/dualnet/data/examples/gh200.yaml"


@pytest.fixture
def gh200_root(tmp_path: Path) -> Path:
    return build_sample("gh200", tmp_path / "gh200")


def test_report_writes_one_page_with_plan_and_bench(
        tmp_path: Path, gh200_root: Path, samples_root: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    bench = tmp_path / "bench.json"
    bench.write_text(fleet_bench(sample_report("dgx_h100_ib", samples_root)).model_dump_json())
    out = tmp_path / "r.html"
    code, stdout, err = run_cli(capsys, "report", "--root", str(gh200_root), "--spec",
                                str(GH200_SPEC), "--bench", str(bench), "--out", str(out))
    assert code == 0, err
    assert str(out) in stdout.replace("\n", "")
    page = out.read_text()
    assert page.count('class="chart"') == 3 and 'class="podnet"' in page
    assert 'data-id="port.not-active"' in page  # the doctor ran with the spec's mode


def test_report_from_tool_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = outputs_dir(tmp_path / "outputs", GH200_OUTPUTS)
    out = tmp_path / "r.html"
    code, _, err = run_cli(capsys, "report", "--from", str(saved), "--out", str(out))
    assert code == 0, err
    page = out.read_text()
    assert "PCI path ?" in page and 'data-relation="NODE"' in page


def test_rerun_keeps_a_changed_page(tmp_path: Path, gh200_root: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.html"
    assert run_cli(capsys, "report", "--root", str(gh200_root), "--out", str(out))[0] == 0
    out.write_text("my annotated copy")
    assert run_cli(capsys, "report", "--root", str(gh200_root), "--out", str(out))[0] == 0
    assert (tmp_path / "r.html.bak").read_text() == "my annotated copy"


@pytest.mark.parametrize(("content", "expect"), [
    (None, "no such file"),
    ("[1, 2]", "not a mapping"),
    (json.dumps({"namespace": "default"}), "created: required field is missing"),
    (json.dumps({"namespace": "default", "created": "x", "rdma": [{"server": "a"}]}),
     "rdma.0.client: required field is missing"),
])
def test_bad_bench_is_a_usage_error_naming_file_and_field(
        tmp_path: Path, gh200_root: Path, capsys: pytest.CaptureFixture[str],
        content: str | None, expect: str) -> None:
    bench = tmp_path / "bench.json"
    if content is not None:
        bench.write_text(content)
    code, _, err = run_cli(capsys, "report", "--root", str(gh200_root), "--bench", str(bench),
                           "--out", str(tmp_path / "r.html"))
    assert code == 2
    flat = " ".join(err.split())
    assert str(bench) in flat and expect in flat
    assert "Traceback" not in err
    assert not (tmp_path / "r.html").exists()


def test_root_and_from_together_is_a_usage_error(
        tmp_path: Path, gh200_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "report", "--root", str(gh200_root), "--from",
                           str(tmp_path), "--out", str(tmp_path / "r.html"))
    assert code == 2 and "cannot be used together" in err


def test_report_target_dra_draws_the_claim(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    root = build_sample("dgx_h100_ib", tmp_path / "dgx")
    out = tmp_path / "r.html"
    code, _, err = run_cli(capsys, "report", "--root", str(root), "--spec",
                           str(DRA_SPECS / "dgx-host-device.yaml"), "--target", "dra",
                           "--out", str(out))
    assert code == 0, err
    page = out.read_text()
    assert 'data-target="dra"' in page and 'data-key="claim"' in page
    assert "render target <b>dra</b>" in page
    assert "alignment: pcieRoot" in page and 'data-key="resource"' not in page


def test_report_target_dra_refuses_what_render_refuses(
        tmp_path: Path, gh200_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.html"
    code, _, err = run_cli(capsys, "report", "--root", str(gh200_root), "--spec",
                           str(GH200_SPEC), "--target", "dra", "--out", str(out))
    assert code == 2
    flat = " ".join(err.split())
    assert "--target dra: spec.mode: shared-roce" in flat and "Traceback" not in err
    assert not out.exists()


def test_report_target_is_one_of_renders_targets(
        tmp_path: Path, gh200_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "report", "--root", str(gh200_root), "--target", "helm",
                           "--out", str(tmp_path / "r.html"))
    assert code == 2
    assert all(t in err for t in ("plain", "network-operator", "dra"))
