"""Printing: one table renderer per verb, and JSON/YAML for scripts from the same models."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from typing import Any

import yaml
from pydantic import BaseModel
from rich.console import Console, RenderableType
from rich.markup import escape

from dualnet.errors import DualnetError

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)

PIPE_WIDTH = 160


def widen_for_pipes() -> None:
    """Terminals keep their width; a pipe or file gets a wide page instead of rich's 80 columns,
    so a saved report is not cut to ellipses. `COLUMNS` still wins when set."""
    for console, stream in ((stdout, sys.stdout), (stderr, sys.stderr)):
        isatty = getattr(stream, "isatty", None)
        if not (callable(isatty) and isatty()):
            console.width = int(os.environ.get("COLUMNS", str(PIPE_WIDTH)))


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    YAML = "yaml"


def to_data(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json", exclude_none=False)
    if isinstance(obj, list | tuple):
        return [to_data(o) for o in obj]
    if isinstance(obj, dict):
        return {k: to_data(v) for k, v in obj.items()}
    return obj


def emit(obj: Any, fmt: OutputFormat, table: Callable[[], RenderableType | str]) -> None:
    """Print `obj` as JSON/YAML, or call `table()` and print what it returns."""
    if fmt is OutputFormat.JSON:
        sys.stdout.write(json.dumps(to_data(obj), indent=2, sort_keys=False) + "\n")
    elif fmt is OutputFormat.YAML:
        sys.stdout.write(yaml.safe_dump(to_data(obj), sort_keys=False))
    else:
        out = table()
        if isinstance(out, str):
            sys.stdout.write(out if out.endswith("\n") or not out else out + "\n")
        else:
            stdout.print(out)


def print_error(exc: DualnetError) -> None:
    # Messages quote user input and PCI addresses: no markup or emoji codes from them
    # (rich would print "domain:bus:device" with a bus emoji).
    stderr.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False, markup=True,
                 emoji=False)
    if exc.hint:
        stderr.print(f"  [yellow]hint:[/] {escape(exc.hint)}", highlight=False, emoji=False)
