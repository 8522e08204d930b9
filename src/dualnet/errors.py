"""Errors that reach the user. Each says what was wrong and what to do; the CLI prints them
without a traceback and exits with `exit_code`."""

from __future__ import annotations


class DualnetError(Exception):
    """Base for every error dualnet reports to a user."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class UsageError(DualnetError):
    """Bad input from the user: a flag, a file, a spec field. Exit status 2."""

    exit_code = 2


class HostError(DualnetError):
    """The host cannot do what was asked (missing tool, not root, refused as unsafe)."""

    exit_code = 3
