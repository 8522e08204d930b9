"""The command line: verbs only. Each module registers the verbs of one layer and calls into it;
no logic lives here beyond parsing arguments and printing."""

from __future__ import annotations

import sys

import typer

from dualnet.cli import (
    cluster_cmds,
    discover_cmds,
    doctor_cmds,
    lab_cmds,
    operator_cmds,
    plan_cmds,
    prepare_cmds,
    sample_cmds,
)
from dualnet.cli.output import print_error, widen_for_pipes
from dualnet.errors import DualnetError

app = typer.Typer(
    name="dualnet",
    help="Give Kubernetes pods on GPU nodes a second, RDMA-capable training network, "
    "and prove that it works.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

@app.callback()
def _root() -> None:
    """dualnet: discover, diagnose, plan, render, rehearse, apply, verify, benchmark."""


for _module in (
    sample_cmds,
    discover_cmds,
    doctor_cmds,
    plan_cmds,
    lab_cmds,
    cluster_cmds,
    prepare_cmds,
    operator_cmds,
):
    _module.register(app)


@app.command("version")
def version() -> None:
    """Print dualnet's version."""
    from dualnet import __version__

    typer.echo(__version__)


def main() -> None:
    # click (standalone mode) handles usage errors itself (exit 2) and turns Ctrl-C into Abort;
    # everything dualnet raises on purpose is a DualnetError and is printed without a traceback.
    widen_for_pipes()
    try:
        app()
    except DualnetError as exc:
        print_error(exc)
        sys.exit(exc.exit_code)
