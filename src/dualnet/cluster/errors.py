"""Errors of the cluster layer: each one says what failed and what to do, never a traceback.

One request function (`dualnet.cluster.client.request`) turns every API failure into one of
these, as kopf does for its own calls, so callers write `except NotFound:` rather than compare
status codes.
"""

from __future__ import annotations

from dualnet.errors import DualnetError, Exit


class ClusterError(DualnetError):
    """The API server refused a request, or cannot be reached. Exit status 5."""

    exit_code = Exit.CLUSTER


class WaitTimeoutError(ClusterError):
    """A wait ran out of time; the message lists what was still not ready and why."""

    exit_code = Exit.TIMEOUT


class Unreachable(ClusterError):  # noqa: N818 (kopf's and the API's own names)
    """No HTTP answer at all: connection refused, DNS, TLS, timeout."""


class ApiRequestError(ClusterError):
    """The API server answered with an error status; `code` is its HTTP status."""

    def __init__(self, message: str, *, code: int, reason: str = "",
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.reason = reason


class NotFound(ApiRequestError):  # noqa: N818 (kopf's and the API's own names)
    """404: the object, or its kind, does not exist."""


class Conflict(ApiRequestError):  # noqa: N818 (kopf's and the API's own names)
    """409: already exists, or a resourceVersion / field-manager conflict."""


class Forbidden(ApiRequestError):  # noqa: N818 (kopf's and the API's own names)
    """403: RBAC (or an admission policy) refused this identity."""


class Invalid(ApiRequestError):  # noqa: N818 (kopf's and the API's own names)
    """422: the server's validation refused the object."""


_BY_CODE: dict[int, type[ApiRequestError]] = {404: NotFound, 409: Conflict, 403: Forbidden,
                                              422: Invalid}


def error_for(code: int) -> type[ApiRequestError]:
    """The typed error class of an HTTP status (ApiRequestError for the others)."""
    return _BY_CODE.get(code, ApiRequestError)
