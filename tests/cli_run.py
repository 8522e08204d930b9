"""Run the real `dualnet` entry point in-process, as the console script runs it."""

from __future__ import annotations

import sys

import pytest


def exit_status(code: object) -> int:
    """The process exit status SystemExit(code) gives: None is 0, an int itself, anything else
    (a message) 1."""
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """main() with argv `dualnet *args`: (exit status, stdout, stderr)."""
    from dualnet.cli import main

    old, sys.argv = sys.argv, ["dualnet", *args]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exit_status(exc.code)
    finally:
        sys.argv = old
    out, err = capsys.readouterr()
    return code, out, err
