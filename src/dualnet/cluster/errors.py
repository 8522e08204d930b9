"""Errors of the cluster layer: each one says what failed and what to do, never a traceback."""

from __future__ import annotations

from dualnet.errors import DualnetError, Exit


class ClusterError(DualnetError):
    """The API server refused a request, or cannot be reached. Exit status 5."""

    exit_code = Exit.CLUSTER


class WaitTimeoutError(ClusterError):
    """A wait ran out of time; the message lists what was still not ready and why."""

    exit_code = Exit.TIMEOUT
