"""CLI verbs of the discover layer."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this layer's verbs to the dualnet app."""
