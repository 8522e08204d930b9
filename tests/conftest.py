"""The fixtures more than one test directory uses: the API server a cluster test talks to (kmock's
emulator, or a real cluster when DUALNET_E2E_KUBECONFIG is set, and then only for tests marked
`e2e`), a real lightkube client made by dualnet's make_client, and the harness over both.

The emulator itself is testsupport/apiserver.py (shared with benchmarks/); the helpers tests
import are tests/helpers.py. A directory that needs a richer emulator overrides `kmock_options`
(tests/operator, the pod exec tests).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from lightkube import AsyncClient
from testsupport.apiserver import ApiServerEmulator, write_kubeconfig

from dualnet.cluster.client import make_client
from tests.helpers import Harness

E2E_KUBECONFIG = os.environ.get("DUALNET_E2E_KUBECONFIG")


def pytest_configure(config: pytest.Config) -> None:
    # Before each async test pytest-asyncio saves the "current" loop with
    # asyncio.get_event_loop(); on Python 3.11, while nothing has called set_event_loop yet, that
    # call makes a new loop and nobody closes it. The first in-process asyncio.run() (a CLI test)
    # then drops it, and the garbage collector reports it (and its self-pipe sockets) as unclosed
    # at some random later test. Saying "no current loop" up front means none is ever made.
    asyncio.set_event_loop(None)


@pytest.fixture()
def kmock_options() -> dict[str, Any]:
    return {"cls": ApiServerEmulator}


@pytest.fixture()
def kubeconfig(kmock: Any, tmp_path: Path) -> Path:
    return write_kubeconfig(tmp_path / "kubeconfig", str(kmock.url).rstrip("/"))


@pytest.fixture()
async def api(kubeconfig: Path) -> AsyncIterator[AsyncClient]:
    """A real lightkube client, made by dualnet's make_client, pointed at the emulator."""
    client = make_client(kubeconfig)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture()
async def harness(
    request: pytest.FixtureRequest, kmock: Any, tmp_path: Path
) -> AsyncIterator[Harness]:
    """kmock by default; the real cluster of DUALNET_E2E_KUBECONFIG for tests marked e2e."""
    if E2E_KUBECONFIG and request.node.get_closest_marker("e2e") is not None:
        from lightkube.models.meta_v1 import ObjectMeta
        from lightkube.resources.core_v1 import Namespace

        client = make_client(Path(E2E_KUBECONFIG))
        ns = f"dualnet-e2e-{secrets.token_hex(3)}"
        await client.create(Namespace(metadata=ObjectMeta(name=ns)))
        try:
            yield Harness(client, ns, None)
        finally:
            await client.delete(Namespace, ns)
            await client.close()
        return
    # built-in kinds a real API server always serves (kmock serves what is declared or stored)
    for plural in ("v1/pods", "v1/nodes", "v1/configmaps", "v1/services", "v1/serviceaccounts",
                   "apps/v1/daemonsets", "batch/v1/jobs"):
        kmock.resources[plural] = {}
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", str(kmock.url).rstrip("/"))
    client = make_client(kubeconfig)
    try:
        yield Harness(client, "default", kmock)
    finally:
        await client.close()
