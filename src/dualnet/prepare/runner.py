"""Running host commands: argument lists only, never a shell string.

A `Runner` is the one place a command reaches the operating system, so tests can swap in a recorder
and the dry run can describe a command without running it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class Runner(Protocol):
    def __call__(self, argv: Sequence[str]) -> CommandResult: ...


def check_argv(argv: Sequence[str]) -> tuple[str, ...]:
    """Reject anything but a non-empty list of strings: a bare string would be split or shelled."""
    if isinstance(argv, str | bytes):
        raise TypeError("commands are argument lists, never a shell string")
    out = tuple(argv)
    if not out or not all(isinstance(a, str) for a in out):
        raise TypeError(f"command must be a non-empty list of str, got {argv!r}")
    if any("\0" in a for a in out):
        raise TypeError("command arguments may not contain NUL")
    return out


class SubprocessRunner:
    """Runs commands with `subprocess.run(list, shell=False)`; a missing tool is rc 127."""

    def __init__(self, timeout: float = 120.0) -> None:
        self.timeout = timeout

    def __call__(self, argv: Sequence[str]) -> CommandResult:
        args = check_argv(argv)
        try:
            proc = subprocess.run(
                list(args), capture_output=True, text=True, timeout=self.timeout, check=False
            )
        except FileNotFoundError:
            return CommandResult(args, 127, "", f"{args[0]}: command not found")
        except subprocess.TimeoutExpired:
            return CommandResult(args, 124, "", f"{args[0]}: timed out after {self.timeout}s")
        return CommandResult(args, proc.returncode, proc.stdout, proc.stderr)
