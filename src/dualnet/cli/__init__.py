"""The command line: verbs only. Each module registers the verbs of one layer and calls into it;
no logic lives here beyond parsing arguments and printing.

Verbs are listed in `dualnet.cli.verbs.VERBS` and loaded lazily: `dualnet --help` imports no verb
module, and `dualnet discover` imports only the discover layer.
"""

from __future__ import annotations

import sys

import typer

from dualnet.cli.help import LazyVerbGroup, print_version
from dualnet.errors import EXIT_CODES_HELP, DualnetError

app = typer.Typer(
    name="dualnet",
    cls=LazyVerbGroup,
    help="Give Kubernetes pods on GPU nodes a second, RDMA-capable training network, "
    "and prove that it works.\n\n" + EXIT_CODES_HELP,
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


def main() -> None:
    # click (standalone mode) handles usage errors itself (exit 2) and turns Ctrl-C into Abort;
    # everything dualnet raises on purpose is a DualnetError and is printed without a traceback.
    if sys.argv[1:] in (["--version"], ["version"]):
        # typer checks even a flag's absent value through pydantic (~0.1 s): the question
        # scripts and `kubectl plugin list` ask most is answered before it parses anything
        print_version(True)
    from dualnet.cli.output import widen_for_pipes

    widen_for_pipes()
    try:
        app()
    except DualnetError as exc:
        from dualnet.cli.output import print_error

        print_error(exc)
        sys.exit(exc.exit_code)
