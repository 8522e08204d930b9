"""Fixtures of the operator tests: the API server with what kopf needs besides (JSON patch, uids,
ADDED events, printer tables: testsupport/apiserver.OperatorApiServer) and the operator's kinds
declared, a real lightkube client, node facts from real discovery over synthetic sysfs trees, and
a controllable clock."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from testsupport.apiserver import OperatorApiServer, declare_resources, write_kubeconfig

from dualnet.host.models import HostReport
from tests.helpers import Clock, host


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def kmock_options() -> dict[str, Any]:
    return {"cls": OperatorApiServer}


@pytest.fixture()
def server(kmock: Any) -> Any:
    declare_resources(kmock)
    return kmock


@pytest.fixture()
def kubeconfig(server: Any, tmp_path: Path) -> Path:
    """The top-level `api` fixture's kubeconfig, for the server with the operator's kinds."""
    return write_kubeconfig(tmp_path / "kubeconfig", str(server.url).rstrip("/"))


@pytest.fixture()
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], HostReport]:
    base = tmp_path_factory.mktemp("hosts")
    return lambda kind: host(kind, base)
