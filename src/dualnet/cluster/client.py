"""Making an API client from a kubeconfig, a context, or the in-cluster service account."""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, Awaitable
from pathlib import Path
from typing import TypeVar

import httpx2
from lightkube import AsyncClient, ConfigError
from lightkube.config.kubeconfig import KubeConfig
from lightkube.core.exceptions import ApiError

from dualnet.cluster.errors import ApiRequestError, Unreachable, error_for
from dualnet.errors import UsageError

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")

T = TypeVar("T")


_KUBECONFIG_EXPECT = ("a kubeconfig: a YAML mapping with clusters, contexts and users "
                      "(k3s writes /etc/rancher/k3s/k3s.yaml)")


def read_kubeconfig(path: Path, what: str) -> KubeConfig:
    """A kubeconfig file, read through dualnet's one loader: every fault is a usage error
    naming the file (lightkube's own reader would raise on an empty file or a YAML list)."""
    from dualnet.inputs import load_mapping

    conf = load_mapping(path, what=what, expect=_KUBECONFIG_EXPECT)
    for key in ("clusters", "contexts"):
        if not isinstance(conf.get(key), list):
            raise UsageError(f"{what} {path}: not a valid kubeconfig: {key!r} is missing or not "
                             "a list", hint=f"expected "
                             f"{_KUBECONFIG_EXPECT}")
    try:
        return KubeConfig.from_dict(conf, fname=path)
    except (ConfigError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise UsageError(f"{what} {path}: not a valid kubeconfig ({type(exc).__name__}: {exc})",
                         hint=f"expected {_KUBECONFIG_EXPECT}") from None


def load_kubeconfig(kubeconfig: Path | None = None) -> KubeConfig:
    """The configuration to use: the given file, else in-cluster, else $KUBECONFIG / ~/.kube/config.

    In-cluster comes before $KUBECONFIG only when no file was given, as kubectl does.
    """
    if kubeconfig is not None:
        return read_kubeconfig(kubeconfig, "--kubeconfig")
    if (SERVICE_ACCOUNT_DIR / "token").is_file() and os.environ.get("KUBERNETES_SERVICE_HOST"):
        return KubeConfig.from_service_account(SERVICE_ACCOUNT_DIR)
    env = os.environ.get("KUBECONFIG")
    if env:
        # kubectl's list form (a:b): the first file that exists
        paths = [Path(p).expanduser() for p in env.split(os.pathsep) if p]
        existing = [p for p in paths if p.exists()] or paths[:1]
        return read_kubeconfig(existing[0], "$KUBECONFIG")
    path = Path.home() / ".kube" / "config"
    if not path.exists():
        raise UsageError(
            "no kubeconfig found: not in a pod, $KUBECONFIG unset and ~/.kube/config missing",
            hint="pass --kubeconfig PATH (k3s writes /etc/rancher/k3s/k3s.yaml)",
        )
    return read_kubeconfig(path, "kubeconfig")


def make_client(
    kubeconfig: Path | None = None,
    context: str | None = None,
    *,
    timeout_s: float = 30.0,
) -> AsyncClient:
    """An async lightkube client for the given kubeconfig file and context (or in-cluster)."""
    config = load_kubeconfig(kubeconfig)
    if context is not None and context not in config.contexts:
        allowed = ", ".join(sorted(config.contexts)) or "none"
        raise UsageError(f"--context {context!r}: not in the kubeconfig (contexts: {allowed})")
    try:
        single = config.get(context_name=context)
    except ConfigError as exc:
        raise UsageError(f"kubeconfig: {exc}") from exc
    if single is None:
        raise UsageError("kubeconfig has no current-context", hint="pass --context NAME")
    return AsyncClient(single, timeout=httpx2.Timeout(timeout_s))


def server_of(client: AsyncClient) -> str:
    return str(client.config.cluster.server)


async def request(client: AsyncClient, what: str, call: Awaitable[T]) -> T:
    """Await one API call. Every failure becomes a typed ClusterError naming `what`:
    NotFound / Conflict / Forbidden / Invalid / ApiRequestError for an error status, Unreachable
    when the server gave no answer. `what` reads as a verb phrase: "read Node gpu-1"."""
    try:
        return await call
    except ApiError as exc:
        raise _typed(exc, what) from exc
    except httpx2.HTTPStatusError as exc:
        # lightkube makes an ApiError only for an exact "application/json" content type; servers
        # that add "; charset=utf-8" (kmock, some proxies) would surface as a bare HTTP error.
        try:
            err = ApiError(request=exc.request, response=exc.response)
        except ValueError:
            code = exc.response.status_code
            raise error_for(code)(
                f"{what} failed: the API at {server_of(client)} answered {code}",
                code=code) from exc
        raise _typed(err, what) from exc
    except httpx2.TransportError as exc:
        raise Unreachable(
            f"cannot reach the Kubernetes API at {server_of(client)} while trying to {what}: "
            f"{type(exc).__name__}: {exc}",
            hint="check --kubeconfig/--context, that the cluster is up, and the network path",
        ) from exc


async def request_list(client: AsyncClient, what: str, items: AsyncIterable[T]) -> list[T]:
    """`request` for a list call (lightkube lists are async iterators that page lazily)."""
    async def _collect() -> list[T]:
        return [item async for item in items]

    return await request(client, what, _collect())


def _typed(exc: ApiError, what: str) -> ApiRequestError:
    status = exc.status
    code = int(getattr(status, "code", None) or exc.response.status_code)
    reason = str(getattr(status, "reason", None) or "")
    return error_for(code)(f"{what} failed: {api_error_message(exc)}", code=code, reason=reason)


def api_error_message(exc: ApiError) -> str:
    status = exc.status
    code = getattr(status, "code", None)
    reason = getattr(status, "reason", None)
    return f"{code} {reason}: {status.message}" if code else str(status.message)
