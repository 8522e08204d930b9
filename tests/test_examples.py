"""Every file in examples/ plans and renders against the bundled sample node its first line names.

Run through the real CLI (`dualnet plan` / `dualnet render`, in-process) on the sample's sysfs tree,
as a user who reads the example would."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dualnet.host.samples import SAMPLES, build_sample
from tests.helpers import run_cli

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FIRST_LINE = re.compile(r"^# sample node: (\w+)\b")


def named_sample(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    m = FIRST_LINE.match(first)
    assert m, f"{path.name}: first line must be '# sample node: <name>', not {first!r}"
    assert m.group(1) in SAMPLES, f"{path.name}: {m.group(1)!r} is not a bundled sample"
    return m.group(1)


def test_examples_exist() -> None:
    assert len(list(EXAMPLES.glob("*.yaml"))) >= 8


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_example_plans_and_renders_on_its_sample(
    example: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = EXAMPLES / example
    root = build_sample(named_sample(path), tmp_path / "node")
    code, out, err = run_cli(capsys, "plan", str(path), "--root", str(root))
    assert code == 0, f"plan {example}: exit {code}\n{out}\n{err}"
    code, out, err = run_cli(capsys, "render", str(path), "--root", str(root),
                             "--out", str(tmp_path / "manifests"))
    assert code == 0, f"render {example}: exit {code}\n{out}\n{err}"
    assert (tmp_path / "manifests" / "kustomization.yaml").is_file()
