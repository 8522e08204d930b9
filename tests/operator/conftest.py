"""Fixtures for the operator tests: kmock's Kubernetes emulator (with the cluster tests' two
documented apiserver behaviours: apply creates, dry-run persists nothing), a real lightkube client
made by dualnet's make_client, node facts from real discovery over synthetic sysfs trees, and a
controllable clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import kmock
import pytest
from lightkube import AsyncClient

from dualnet.cluster.client import make_client
from dualnet.host.discover import discover
from dualnet.host.models import HostReport
from dualnet.host.samples import gh200, no_mlx5_ib, no_rdma
from dualnet.host.synthetic import build_tree
from tests.cluster.conftest import ApiServerEmulator, write_kubeconfig

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

T0 = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def kmock_options() -> dict[str, Any]:
    return {"cls": ApiServerEmulator}


def declare_resources(server: Any) -> None:
    """The kinds the operator touches, as the API server would list them in discovery."""
    info = kmock.ResourceInfo
    server.resources["dualnet.io/v1alpha1/trainingnetworks"] = info(
        kind="TrainingNetwork", namespaced=False, subresources=["status"],
        verbs=["get", "list", "watch", "create", "update", "patch", "delete"])
    server.resources["dualnet.io/v1alpha1/nodereports"] = info(
        kind="NodeReport", namespaced=False,
        verbs=["get", "list", "watch", "create", "update", "patch", "delete"])
    server.resources["v1/nodes"] = info(kind="Node", namespaced=False,
                                        verbs=["get", "list", "watch", "patch"])
    server.resources["v1/configmaps"] = info(kind="ConfigMap", namespaced=True)
    server.resources["apps/v1/daemonsets"] = info(kind="DaemonSet", namespaced=True)
    server.resources["k8s.cni.cncf.io/v1/network-attachment-definitions"] = info(
        kind="NetworkAttachmentDefinition", namespaced=True)


@pytest.fixture()
def server(kmock: Any) -> Any:
    declare_resources(kmock)
    return kmock


@pytest.fixture()
async def api(server: Any, tmp_path: Path) -> AsyncIterator[AsyncClient]:
    cfg = write_kubeconfig(tmp_path / "kubeconfig", str(server.url).rstrip("/"))
    client = make_client(cfg)
    try:
        yield client
    finally:
        await client.close()


def writes(server: Any) -> list[Any]:
    return [r for r in server if r.method is not None and r.method.value in WRITE_METHODS]


def add_node(server: Any, name: str, labels: dict[str, str] | None = None) -> None:
    server.objects[kmock.resource("v1/nodes"), None, name] = {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels or {"kubernetes.io/hostname": name}},
    }


_HOSTS: dict[str, HostReport] = {}


def host(kind: str, tmp: Path) -> HostReport:
    """A HostReport read by the real discover() from a synthetic sysfs tree (cached per kind)."""
    if kind not in _HOSTS:
        samples: dict[str, Callable[[], Any]] = {
            "gh200": gh200, "no_mlx5_ib": no_mlx5_ib, "no_rdma": no_rdma}
        root = tmp / f"tree-{kind}"
        build_tree(samples[kind](), root)
        _HOSTS[kind] = discover(root)
    return _HOSTS[kind].model_copy(deep=True)


@pytest.fixture()
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], HostReport]:
    base = tmp_path_factory.mktemp("hosts")
    return lambda kind: host(kind, base)
