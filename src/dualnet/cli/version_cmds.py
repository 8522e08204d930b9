"""`dualnet version` (the same as `dualnet --version`)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("version")(version)


def version() -> None:
    """Print dualnet's version (the same as `dualnet --version`)."""
    from dualnet import __version__

    typer.echo(__version__)
