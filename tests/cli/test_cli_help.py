"""The help of every verb: held against a golden (typer is pinned; a change in how help renders
shows up here), and read like one program: every option described, values shown as a metavar
or the choices, never a Python type name, nothing on a flag.

Regenerate the goldens after a deliberate change: DUALNET_UPDATE_GOLDEN=1 pytest tests/cli
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from dualnet.cli import app
from dualnet.cli.verbs import VERBS

GOLDEN = Path(__file__).parent / "golden"


def _verb_paths() -> list[tuple[str, ...]]:
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    out: list[tuple[str, ...]] = [()]
    for verb in VERBS:
        cmd = root.commands[verb.name]
        out.append((verb.name,))
        if isinstance(cmd, TyperGroup):
            out.extend((verb.name, sub) for sub in cmd.commands)
    return out


PATHS = _verb_paths()


def _help(path: tuple[str, ...], flag: str = "--help") -> str:
    res = CliRunner().invoke(app, [*path, flag], env={"COLUMNS": "100"},
                             prog_name="dualnet")
    assert res.exit_code == 0, res.output
    return res.output


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "dualnet")
def test_help_matches_golden(path: tuple[str, ...]) -> None:
    text = _help(path)
    golden = GOLDEN / (("-".join(path) or "dualnet") + ".txt")
    if os.environ.get("DUALNET_UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text)
    assert golden.is_file(), f"no golden for `dualnet {' '.join(path)} --help`: run with " \
        "DUALNET_UPDATE_GOLDEN=1 and review the file"
    assert text == golden.read_text()


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "dualnet")
def test_help_reads_like_one_program(path: tuple[str, ...]) -> None:
    text = _help(path)
    assert text == _help(path, "-h")
    # no Python type names as metavars, no <bool> on flags, no typer/rich boxes
    assert not re.search(r"<(list|int|float|str|bool|path|Path|int range)\b", text), text
    assert "╭" not in text
    usage = text.splitlines()[0]
    assert "{" not in usage, usage  # one form for positionals: SPEC, [DEV]


@pytest.mark.parametrize("path", [p for p in PATHS if p], ids=" ".join)
def test_every_option_is_described(path: tuple[str, ...]) -> None:
    root = typer.main.get_command(app)
    cmd = root
    for name in path:
        assert isinstance(cmd, TyperGroup)
        cmd = cmd.commands[name]
    for param in cmd.params:
        assert (getattr(param, "help", None) or "").strip(), \
            f"dualnet {' '.join(path)}: {param.opts or param.name} has no help text"


def test_root_help_lists_the_exit_codes() -> None:
    from dualnet.errors import EXIT_CODES

    text = _help(())
    for code, what in EXIT_CODES.items():
        assert f"{int(code)}  {what}" in text
