"""How `dualnet` finds its verbs and prints their help.

Verbs come from the table in `dualnet.cli.verbs`; a verb's module is imported the first time the
verb is looked up, so `dualnet --help` and `dualnet version` import no layer at all.

Help is click's plain formatter (typer's `rich_markup_mode=None`): it starts without rich, and
its output does not change with rich's releases (typer itself is pinned in pyproject.toml and the
help of every verb is held against a golden in tests/cli/golden/). Option values are shown as
click always showed them, in one form for every verb: a metavar such as `PATH`, `N`, `NAME`, or
the choices `[table|json|yaml]`; never a Python type name (`<list[Path]>`) and nothing on a flag.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any

import typer
from typer import _click as click
from typer.core import TyperArgument, TyperGroup, TyperOption

from dualnet.cli.verbs import VERBS, Verb, root_help
from dualnet.errors import EXIT_CODES_SHORT


def print_version(value: bool) -> None:
    """`--version`: print the version and stop (an eager option, before any verb is parsed)."""
    if value:
        from dualnet import __version__

        sys.stdout.write(f"{__version__}\n")
        sys.stdout.flush()
        raise SystemExit(0)


# --- how a value is shown ----------------------------------------------------------------------


def value_metavar(param: TyperOption) -> str:
    """The one form an option's value takes in help: choices, or a word for its kind."""
    desc = param.type_descriptor
    if desc.is_choice:
        return "[" + "|".join(str(getattr(c, "value", c)) for c in desc.choices or ()) + "]"
    annotation = desc.annotation
    if desc.is_list:
        args = getattr(annotation, "__args__", ())
        annotation = args[0] if args else str
    if desc.is_path or annotation is Path:
        return "PATH"
    if annotation is int:
        return "N"
    if annotation is float:
        return "SECONDS" if "second" in (param.help or "") else "NUMBER"
    return "NAME" if annotation is str else "VALUE"


class VerbOption(TyperOption):
    def display_type_rich(self, ctx: click.Context) -> str | None:
        return self.metavar if self.metavar is not None else value_metavar(self)


class VerbArgument(TyperArgument):
    def display_type_rich(self, ctx: click.Context) -> str | None:
        return None  # the name says it: `SPEC`, `PATH`, never `SPEC <path>`

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        name = name if self.required else f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")

    @property
    def display_name_raw(self) -> str:
        return (self.metavar or self.name or "ARG").upper()


class VerbGroup(TyperGroup):
    """A group of verbs (`dualnet operator`): each listed with its whole first line of help."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, (cmd.help or "").strip().split("\n\n")[0].replace("\n", " "))
                for name, cmd in self.commands.items() if not cmd.hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def restyle_params(command: click.Command) -> None:
    for param in command.params:
        if type(param) is TyperOption:
            param.__class__ = VerbOption
        elif type(param) is TyperArgument:
            param.__class__ = VerbArgument


def _one_style(command: click.Command) -> click.Command:
    """Plain help, and the value forms above, on a command and everything below it.

    typer builds its own option classes; re-classing them here (subclasses that only change how
    help is shown) keeps every verb module free of help plumbing."""
    if hasattr(command, "rich_markup_mode"):
        command.rich_markup_mode = None
    if not command.epilog:
        command.epilog = EXIT_CODES_SHORT
    restyle_params(command)
    if type(command) is TyperGroup:
        command.__class__ = VerbGroup
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            _one_style(sub)
    return command


# --- lazy verbs --------------------------------------------------------------------------------


def load_module_verbs(module: str) -> dict[str, click.Command]:
    """Every verb `dualnet.cli.<module>` registers, as click commands."""
    scratch = typer.Typer(rich_markup_mode=None)
    importlib.import_module(f"dualnet.cli.{module}").register(scratch)
    group = typer.main.get_group(scratch)
    return {name: _one_style(cmd) for name, cmd in group.commands.items()}


class LazyVerbs(MutableMapping[str, click.Command]):
    """The verb table as click's `commands` mapping: names known up front, commands built on
    first lookup (one module import each)."""

    def __init__(self, verbs: tuple[Verb, ...], eager: Mapping[str, click.Command]) -> None:
        self._verbs = {v.name: v for v in verbs}
        self._loaded: dict[str, click.Command] = dict(eager)

    def verb(self, name: str) -> Verb | None:
        return self._verbs.get(name)

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            verb = self._verbs.get(name)
            if verb is None:
                raise KeyError(name)
            built = load_module_verbs(verb.module)
            if name not in built:
                raise LookupError(f"dualnet.cli.{verb.module} does not register {name!r}")
            self._loaded.update((k, v) for k, v in built.items() if k in self._verbs)
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        self._verbs.pop(name, None)
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        yield from self._verbs
        yield from (n for n in self._loaded if n not in self._verbs)

    def __len__(self) -> int:
        return len(set(self._verbs) | set(self._loaded))


class LazyVerbGroup(TyperGroup):
    """The `dualnet` group: verbs from the table, listed in `--help` without importing them."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyVerbs(VERBS, self.commands)
        restyle_params(self)

    def invoke(self, ctx: click.Context) -> Any:
        # typer coerces option values through pydantic, whose words ("Value error, ...",
        # "Input should be ...") would reach the user in click's "Invalid value" lines
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            from dualnet.inputs import plain_message

            exc.message = plain_message(exc.message.replace("Value error, ", ""))
            raise

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # the one root help, which main() also prints without building this group
        formatter.write(root_help())
