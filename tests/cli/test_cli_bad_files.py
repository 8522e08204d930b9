"""Every file-taking option of every verb, fed the same set of bad files: each is a usage error
(exit 2) that names the file, never a traceback.

The CLI runs in-process (tests/cli_run.py): any exception other than SystemExit would fail the
test with its traceback, so "no traceback" is checked by the run itself as well as on stderr.
"""

from __future__ import annotations

import codecs
import random
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.helpers import run_cli

# name -> how to make it (None: the path is left missing)
BAD_FILES: dict[str, Callable[[Path], object] | None] = {
    "empty": lambda p: p.write_bytes(b""),
    "binary": lambda p: p.write_bytes(bytes(range(256)) * 4),
    "utf16": lambda p: p.write_bytes(codecs.BOM_UTF16_LE + "- a\n- b\n".encode("utf-16-le")),
    "bom": lambda p: p.write_bytes(codecs.BOM_UTF8 + b"just words\n"),
    "directory": lambda p: p.mkdir(),
    "missing": None,
    "yaml-list": lambda p: p.write_text("- one\n- two\n"),
    "scalar": lambda p: p.write_text("42\n"),
    "duplicate-keys": lambda p: p.write_text("apiVersion: v1\nkind: Config\nkind: Other\n"),
    "garbage-10mb": lambda p: p.write_bytes(
        bytes(random.Random(11).choices(range(32, 127), k=10 * 1024 * 1024))),
}


@pytest.fixture(scope="module")
def bad_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bad-files")
    for name, make in BAD_FILES.items():
        if make is not None:
            make(root / name)
    return root


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Valid companions, so that each run reaches the option under test."""
    root = tmp_path_factory.mktemp("good-files")
    steps = root / "steps.yaml"
    steps.write_text(yaml.safe_dump([{"kind": "mtu", "interface": "eth9", "mtu": 9000}]))
    objects = root / "all.yaml"
    objects.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "x", "namespace": "default"}}))
    node_root = root / "node"
    node_root.mkdir()
    report_root = root / "report-node"  # a bare tree: enough to reach --spec and --bench
    (report_root / "sys").mkdir(parents=True)
    return {"steps": steps, "objects": objects, "root": node_root, "report-root": report_root}


# (id, argv with {bad} for the bad file, env var set to the bad file or None)
def _cases(good: dict[str, Path]) -> list[tuple[list[str], str | None]]:
    steps, objects, root = str(good["steps"]), str(good["objects"]), str(good["root"])
    tree = str(good["report-root"])
    return [
        (["plan", "{bad}", "--report", "{bad}"], None),
        (["plan", "{bad}"], None),
        (["render", "{bad}"], None),
        (["lab", "{bad}"], None),
        (["apply", "{bad}"], None),
        (["apply", objects, "--kubeconfig", "{bad}"], None),
        (["apply", objects], "KUBECONFIG"),
        (["verify", "--from", "{bad}"], None),
        (["verify", "--pods", "a", "--kubeconfig", "{bad}"], None),
        (["verify", "--pods", "a"], "KUBECONFIG"),
        (["bench", "--pods", "a,b", "--host-report", "{bad}"], None),
        (["bench", "--pods", "a,b", "--kubeconfig", "{bad}"], None),
        (["bench", "--pods", "a,b"], "KUBECONFIG"),
        (["operator", "nodes", "--kubeconfig", "{bad}"], None),
        (["operator", "nodes"], "KUBECONFIG"),
        (["operator", "agent", "--once", "--node", "n1", "--root", root,
          "--kubeconfig", "{bad}"], None),
        (["prepare", "--plan", "{bad}", "--dry-run"], None),
        (["prepare", "--steps", "{bad}", "--dry-run"], None),
        (["prepare", "--steps", steps, "--dry-run", "--facts", "{bad}"], None),
        (["doctor", "--from", "{bad}"], None),
        (["report", "--from", "{bad}"], None),
        (["report", "--root", tree, "--spec", "{bad}"], None),
        (["report", "--root", tree, "--bench", "{bad}"], None),
    ]


CASE_IDS = [
    "plan-spec+report", "plan-spec", "render-spec", "lab-nad", "apply-path", "apply-kubeconfig",
    "apply-$KUBECONFIG", "verify-from", "verify-kubeconfig", "verify-$KUBECONFIG",
    "bench-host-report", "bench-kubeconfig", "bench-$KUBECONFIG", "operator-nodes-kubeconfig",
    "operator-nodes-$KUBECONFIG", "operator-agent-kubeconfig", "prepare-plan", "prepare-steps",
    "prepare-facts", "doctor-from", "report-from", "report-spec", "report-bench",
]


@pytest.mark.parametrize("case", range(len(CASE_IDS)), ids=CASE_IDS)
@pytest.mark.parametrize("bad", list(BAD_FILES))
def test_bad_file_is_a_usage_error_naming_it(
    case: int, bad: str, bad_dir: Path, good: dict[str, Path],
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    argv, env = _cases(good)[case]
    path = bad_dir / bad
    if argv[0] == "doctor" and bad == "directory":
        path = bad_dir / "empty-folder"
        path.mkdir(exist_ok=True)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    if env is not None:
        monkeypatch.setenv(env, str(path))
    args = [a.replace("{bad}", str(path)) for a in argv]
    code, out, err = run_cli(capsys, *args)
    assert "Traceback" not in out + err
    assert code == 2, f"exit {code}: {err}"
    assert str(path) in err, err
    assert len(err) < 2000, "a bad file is quoted as a short excerpt at most"


@pytest.mark.parametrize("verb", [["verify", "--pods", "a"], ["bench", "--pods", "a,b"]],
                         ids=["verify", "bench"])
@pytest.mark.parametrize("where", ["directory", "missing-parent"])
def test_report_that_cannot_be_written_is_refused_before_the_run(
    verb: list[str], where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    target = tmp_path if where == "directory" else tmp_path / "no" / "r.md"
    # no kubeconfig is given: the refusal has to come before any API call
    code, _, err = run_cli(capsys, *verb, "--report", str(target), "--kubeconfig",
                           str(tmp_path / "kc-not-read"))
    assert code == 2 and str(target) in err and "Traceback" not in err
