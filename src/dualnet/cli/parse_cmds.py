"""`dualnet parse TOOL FILE`: what dualnet reads from one saved output, and what it skipped."""

from __future__ import annotations

import typer
import yaml

from dualnet.cli.output import OUTPUT_HELP, OutputFormat, emit, to_data
from dualnet.errors import UsageError
from dualnet.inputs import read_text
from dualnet.parse.registry import Reading, find_tool, read_tool_output, tool_names


def register(app: typer.Typer) -> None:
    app.command("parse")(parse)


def _compact(value: object) -> object:
    """The value without its unset fields: what the paste gave, not every field dualnet has."""
    return to_data(value, exclude_defaults=True)


def _text(reading: Reading) -> str:
    body = yaml.safe_dump(_compact(reading.value), sort_keys=False).rstrip()
    lines = [f"{reading.tool}: read", body]
    if reading.warnings:
        lines.append(f"{len(reading.warnings)} line(s) skipped or read in part:")
        lines.extend(f"  {w}" for w in reading.warnings)
    else:
        lines.append("no line skipped")
    return "\n".join(lines)


def parse(
    tool: str = typer.Argument(..., metavar="TOOL",
                               help="the tool that printed FILE: " + ", ".join(tool_names())),
    file: str = typer.Argument(..., metavar="FILE",
                               help="the saved output; '-' reads standard input"),
    output: OutputFormat = typer.Option(OutputFormat.TABLE, "--output", "-o", help=OUTPUT_HELP),
) -> None:
    """Show what dualnet reads from one pasted tool output, and every line it skipped.

    Use it before trusting `doctor --from`: a skipped line is named with its number and why.
    Exit status 2 when FILE is not that tool's output at all.
    """
    if find_tool(tool) is None:
        raise UsageError(f"unknown tool {tool!r}", hint="one of: " + ", ".join(tool_names()))
    text = read_text(file, what=f"{tool} output", expect=f"the saved output of {tool}",
                     allow_stdin=True)
    reading = read_tool_output(tool, text)
    emit(reading, output, lambda: _text(reading))
