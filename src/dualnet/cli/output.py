"""Printing: one table renderer per verb, and JSON/YAML for scripts from the same models.

rich is imported only when something is printed through it: `-o json`, `--help` and error
messages do not need it, and it costs a large part of a cold start.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from dualnet.errors import DualnetError, UsageError

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

PIPE_WIDTH = 160


def _width_for(stream: Any) -> int | None:
    """Terminals keep their width; a pipe or file gets a wide page instead of rich's 80 columns,
    so a saved report is not cut to ellipses. `COLUMNS` still wins when set."""
    isatty = getattr(stream, "isatty", None)
    if callable(isatty) and isatty():
        return None
    return int(os.environ.get("COLUMNS", str(PIPE_WIDTH)))


class _LazyConsole:
    """A rich Console made on first use (rich is then imported), writing to the stream that is
    sys.stdout/sys.stderr at that moment."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def _get(self) -> Console:
        if self._console is None:
            from rich.console import Console

            stream = sys.stderr if self._stderr else sys.stdout
            self._console = Console(stderr=self._stderr, soft_wrap=True, width=_width_for(stream))
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._get(), name, value)


stdout = cast("Console", _LazyConsole(stderr=False))
stderr = cast("Console", _LazyConsole(stderr=True))


def widen_for_pipes() -> None:
    """Let both consoles take their width afresh (from the streams of this run) on next use."""
    for console in (stdout, stderr):
        object.__setattr__(console, "_console", None)


OUTPUT_HELP = "table for people; json or yaml for scripts"


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    YAML = "yaml"


def to_data(obj: Any, *, exclude_defaults: bool = False) -> Any:
    """`obj` as JSON types: pydantic models through pydantic, host models (dataclasses) through
    host/dump.py, so that printing a host report needs no pydantic."""
    # A pydantic model exists only once pydantic is imported: no import just to ask.
    pydantic_main = sys.modules.get("pydantic.main")
    if pydantic_main is not None and isinstance(obj, pydantic_main.BaseModel):
        return obj.model_dump(mode="json", exclude_defaults=exclude_defaults)
    if isinstance(obj, list | tuple):
        return [to_data(o, exclude_defaults=exclude_defaults) for o in obj]
    if isinstance(obj, dict):
        return {k: to_data(v, exclude_defaults=exclude_defaults) for k, v in obj.items()}
    from dualnet.host.dump import jsonable  # here: dualnet.host loads its models

    return jsonable(obj, exclude_defaults=exclude_defaults)


def emit(obj: Any, fmt: OutputFormat, table: Callable[[], RenderableType | str]) -> None:
    """Print `obj` as JSON/YAML, or call `table()` and print what it returns."""
    if fmt is OutputFormat.JSON:
        sys.stdout.write(json.dumps(to_data(obj), indent=2, sort_keys=False) + "\n")
    elif fmt is OutputFormat.YAML:
        import yaml

        sys.stdout.write(yaml.safe_dump(to_data(obj), sort_keys=False))
    else:
        out = table()
        if isinstance(out, str):
            sys.stdout.write(out if out.endswith("\n") or not out else out + "\n")
        else:
            stdout.print(out)


def check_output_file(path: Path, flag: str) -> Path:
    """A file the verb will write at the end: refused up front when it cannot be (a directory,
    a missing parent), so a long run's result is not lost to a traceback at the last step."""
    if path.is_dir():
        raise UsageError(f"{flag} {path}: is a directory", hint="give a file name, e.g. report.md")
    if not path.parent.is_dir():
        raise UsageError(f"{flag} {path}: the directory {path.parent} does not exist",
                         hint="create it first, or write the report elsewhere")
    return path


def write_output_file(path: Path, text: str, flag: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot write it ({exc.strerror or exc})") from None


def _colour(stream: Any, code: str, text: str) -> str:
    isatty = getattr(stream, "isatty", None)
    if callable(isatty) and isatty() and "NO_COLOR" not in os.environ:
        return f"\x1b[{code}m{text}\x1b[0m"
    return text


def print_error(exc: DualnetError) -> None:
    # Plain text, no rich: the message quotes user input and PCI addresses, which must print as
    # they are (no markup, no emoji codes), and an error should not pay rich's import.
    err = sys.stderr
    err.write(f"{_colour(err, '1;31', 'error:')} {exc.message}\n")
    if exc.hint:
        err.write(f"  {_colour(err, '33', 'hint:')} {exc.hint}\n")
    err.flush()
