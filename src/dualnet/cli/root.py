"""The `dualnet` typer app: the root group, its options, and the verbs of dualnet.cli.verbs."""

from __future__ import annotations

import typer

from dualnet.cli.help import LazyVerbGroup, print_version
from dualnet.cli.verbs import ABOUT

app = typer.Typer(
    name="dualnet",
    cls=LazyVerbGroup,
    help=ABOUT,  # the whole root help is dualnet.cli.verbs.root_help()
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=print_version,
                                 help="Print dualnet's version and exit."),
) -> None:
    """dualnet: discover, diagnose, plan, render, rehearse, apply, verify, benchmark."""
