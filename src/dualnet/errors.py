"""Errors that reach the user, and the exit statuses of every verb.

Each error says what was wrong and what to do; the CLI prints it without a traceback and exits
with its `exit_code`. The statuses mean the same in every verb (`EXIT_CODES`); `dualnet --help`
and the README print this table.
"""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    """What a dualnet exit status means, in every verb."""

    OK = 0  # done; every check passed (doctor: nothing above info)
    FAILED = 1  # done, and a check failed or warned (doctor warnings, verify, lab, prepare)
    USAGE = 2  # a bad option, input file or spec; nothing was done
    HOST = 3  # this machine cannot do it: not root, a missing tool, plugin or kernel feature
    NOT_READY = 4  # the node cannot carry the training network as it is (doctor errors)
    CLUSTER = 5  # the Kubernetes API could not be reached or refused a request
    TIMEOUT = 6  # waited, and it did not become ready in time
    UNMEASURED = 7  # verify/bench: a check could not be measured (tool missing, pod not Ready)


EXIT_CODES: dict[Exit, str] = {
    Exit.OK: "success; every check passed",
    Exit.FAILED: "a check failed, or warnings (doctor)",
    Exit.USAGE: "bad option, input file or spec; nothing done",
    Exit.HOST: "this machine cannot do it (root, tool, plugin, kernel)",
    Exit.NOT_READY: "errors found: the node cannot carry the network",
    Exit.CLUSTER: "Kubernetes API unreachable or refused a request",
    Exit.TIMEOUT: "waited, and it did not become ready in time",
    Exit.UNMEASURED: "a check could not be measured (verify, bench); none failed",
}


# The same table in one line, at the foot of every verb's help.
EXIT_CODES_SHORT = "Exit status: " + ", ".join(
    f"{int(c)} {w}" for c, w in (
        (Exit.OK, "ok"), (Exit.FAILED, "check failed"), (Exit.USAGE, "usage"),
        (Exit.HOST, "this machine cannot"), (Exit.NOT_READY, "errors found"),
        (Exit.CLUSTER, "API unreachable"), (Exit.TIMEOUT, "timed out"),
        (Exit.UNMEASURED, "could not measure"))
) + " (`dualnet --help` says more)."


class DualnetError(Exception):
    """Base for every error dualnet reports to a user."""

    exit_code: int = Exit.FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class UsageError(DualnetError):
    """Bad input from the user: a flag, a file, a spec field. Exit status 2."""

    exit_code = Exit.USAGE


class FindingError(DualnetError):
    """The node itself has a problem dualnet found (as the doctor's errors), e.g. no usable RDMA
    port for the training network: not the user's input, not a tool failure. Exit status 4."""

    exit_code = 4


class HostError(DualnetError):
    """The host cannot do what was asked (missing tool, not root, refused as unsafe)."""

    exit_code = Exit.HOST
