"""The hot verbs (`discover`, `doctor`) run without typer when their arguments are plain.

typer builds a pydantic adapter for every option of the verb it runs, and importing it (with the
click it vendors) is a large part of a cold start (benchmarks/bench_cli.py). These verbs are the
ones scripts, the kubectl plugin and people debugging a node run again and again, so their
options are declared here once, in a table without typer: the typer command is built from the
same table (`Opt.option`), and `run_fast` parses argv with it.

`run_fast` takes only the plain forms (`--root DIR`, `--root=DIR`, `-o json`, a flag) of options
it knows, each at most once, with a value it can read. Anything else (`--help`, an unknown or
repeated option, a bad value, `--`, shell completion) returns None and typer parses the whole
command line as before, so help, usage errors and their exit codes stay typer's own
(tests/cli/test_cli_fastpath.py holds the two parsers equal on every form they both take).
"""

from __future__ import annotations

import errno
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

# A value reader: returns the value or raises ValueError (then typer parses and reports it).
Reader = Callable[[str], object]


class Opt:
    """One option: the verb function's parameter name, its flags, help, default, and how a
    value is read (None: a boolean flag)."""

    __slots__ = ("default", "flags", "help", "name", "read")

    def __init__(self, name: str, flags: tuple[str, ...], help: str, *, default: object = None,
                 read: Reader | None = None) -> None:
        self.name = name
        self.flags = flags
        self.help = help
        self.default = default if read is not None else bool(default)
        self.read = read

    def option(self, **extra: Any) -> Any:
        """The typer.Option of this option (for the verb's typer command)."""
        import typer

        return typer.Option(self.default, *self.flags, help=self.help, **extra)


class FastVerb:
    """A verb `run_fast` may run: its options and the typer-free function that does the work
    (`module:function` under dualnet.cli, called with every option by name; it returns the exit
    status)."""

    __slots__ = ("name", "opts", "target")

    def __init__(self, name: str, opts: tuple[Opt, ...], target: str) -> None:
        self.name = name
        self.opts = opts
        self.target = target

    def function(self) -> Callable[..., int]:
        module, func = self.target.split(":")
        fn: Callable[..., int] = getattr(importlib.import_module(f"dualnet.cli.{module}"), func)
        return fn


def read_count(text: str) -> int:
    """A whole number >= 1 in its plain form; typer reads (and judges) every other spelling."""
    if not (text.isascii() and text.isdigit() and text[0] != "0"):
        raise ValueError(text)
    return int(text)


def read_path(text: str) -> object:
    from pathlib import Path

    if not text:
        raise ValueError(text)  # typer reads '' as '.'; left to it
    return Path(text)


def parse(argv: Sequence[str], opts: tuple[Opt, ...]) -> dict[str, object] | None:
    """The keyword arguments of the verb function, or None when argv holds anything but plain
    uses of `opts`."""
    by_flag = {flag: opt for opt in opts for flag in opt.flags}
    given: dict[str, object] = {}
    i = 0
    while i < len(argv):
        token = argv[i]
        flag, eq, inline = token.partition("=") if token.startswith("--") else (token, "", "")
        opt = by_flag.get(flag)
        if opt is None or opt.name in given:
            return None
        if opt.read is None:
            if eq:
                return None
            given[opt.name] = True
            i += 1
            continue
        if eq:
            text = inline
        elif i + 1 < len(argv):
            i += 1
            text = argv[i]
        else:
            return None
        if text.startswith("-"):
            return None  # click's rules for a value that looks like an option: typer's job
        try:
            given[opt.name] = opt.read(text)
        except ValueError:
            return None
        i += 1
    return {opt.name: given.get(opt.name, opt.default) for opt in opts}


def _fast_verbs() -> dict[str, FastVerb]:
    from dualnet.cli.options import FAST_VERBS

    return {v.name: v for v in FAST_VERBS}


def _completing() -> bool:
    # click answers shell completion when _<PROG>_COMPLETE is set
    return any(k.startswith("_") and k.endswith("_COMPLETE") for k in os.environ)


def run_fast(argv: Sequence[str]) -> int | None:
    """Run argv's verb without typer when it is a hot verb with plain arguments and return its
    exit status; None (nothing run) when typer must parse argv."""
    if not argv or _completing():
        return None
    verb = _fast_verbs().get(argv[0])
    if verb is None:
        return None
    kwargs = parse(argv[1:], verb.opts)
    if kwargs is None:
        return None
    # what click's standalone mode does around a command, without click
    try:
        code = verb.function()(**kwargs)
    except KeyboardInterrupt:
        sys.exit(130)
    except EOFError:
        sys.stderr.write("\nAborted!\n")
        sys.exit(1)
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        # the reader went away (`| head`): quiet, as click is; Python's own flush at exit
        # must not fail on the closed pipe either
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
    return code
