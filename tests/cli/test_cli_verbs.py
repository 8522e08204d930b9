"""The verb table (dualnet.cli.verbs) is the one list of verbs: each line resolves to a command,
no module registers a verb the table leaves out, and --version/-h work as users expect."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer

from dualnet import __version__
from dualnet.cli.help import load_module_verbs
from dualnet.cli.verbs import VERBS
from dualnet.errors import EXIT_CODES
from tests.helpers import run_cli

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_verb_resolves_and_none_is_unlisted() -> None:
    listed = {v.name for v in VERBS}
    assert len(listed) == len(VERBS), "a verb is listed twice"
    for module in sorted({v.module for v in VERBS}):
        registered = set(load_module_verbs(module))
        mine = {v.name for v in VERBS if v.module == module}
        assert mine <= registered, f"dualnet.cli.{module} does not register {mine - registered}"
        assert registered <= listed, (
            f"dualnet.cli.{module} registers {registered - listed}, which the table in "
            "dualnet/cli/verbs.py does not list")


@pytest.mark.parametrize("verb", VERBS, ids=lambda v: v.name)
def test_summary_is_one_short_line(verb: object) -> None:
    summary = verb.summary  # type: ignore[attr-defined]
    assert summary and "\n" not in summary and len(summary) <= 100


def test_version_both_ways(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "--version") == (0, f"{__version__}\n", "")
    assert run_cli(capsys, "version") == (0, f"{__version__}\n", "")


def test_short_help_flag_and_unknown_verb(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "-h")
    assert code == 0 and "Commands:" in out
    code, _, err = run_cli(capsys, "discovr")
    assert code == 2 and "Did you mean 'discover'" in err


def test_unknown_verb_through_the_entry_point() -> None:
    r = subprocess.run([sys.executable, "-c", "from dualnet.cli import main; main()", "nope"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "No such command 'nope'" in r.stderr
    assert "Traceback" not in r.stderr


def test_readme_has_the_exit_code_table() -> None:
    text = README.read_text(encoding="utf-8")
    for code, what in EXIT_CODES.items():
        assert f"| {int(code)} | {what} |" in text, f"README lacks exit status {int(code)}"


def test_render_target_choices_are_renders_own() -> None:
    from dualnet.cli.plan_cmds import RenderTarget
    from dualnet.render import TARGETS

    assert tuple(t.value for t in RenderTarget) == TARGETS


def test_app_is_a_typer_app() -> None:
    # tests and users drive it with typer's CliRunner
    from dualnet.cli import app

    assert isinstance(app, typer.Typer)


@pytest.mark.parametrize("args", [["--help"], ["-h"], []], ids=["--help", "-h", "none"])
def test_root_help_fast_path_is_the_apps_help(args: list[str]) -> None:
    """main() prints the root help without building the typer app: the same text, the same
    status as the app itself gives."""
    from typer.testing import CliRunner

    from dualnet.cli import app
    from dualnet.cli.verbs import root_help

    r = subprocess.run([sys.executable, "-c", "from dualnet.cli import main; main()", *args],
                       capture_output=True, text=True)
    via_app = CliRunner().invoke(app, args, prog_name="dualnet")
    assert r.stdout == via_app.output == root_help()
    assert r.returncode == via_app.exit_code
