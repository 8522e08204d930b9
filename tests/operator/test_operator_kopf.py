"""The kopf operator for real (kopf.operator with dualnet's registry) against kmock: watches,
finalizer, create -> apply -> status, NodeReport events -> status, delete -> owned objects pruned
and the finalizer released."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import kmock
import pytest
from lightkube import AsyncClient
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Node
from testsupport.apiserver import write_kubeconfig

from dualnet.cluster import fleet
from dualnet.host.models import HostReport
from dualnet.operator.agent import AgentConfig, AgentState, agent_cycle, default_diagnose
from dualnet.operator.handlers import FINALIZER, Runtime, run_operator
from dualnet.operator.reconciler import OperatorSettings, Reconciler, utcnow
from tests.helpers import add_node
from tests.operator.helpers import NAD, SPEC, TN


async def eventually(check: Callable[[], bool], timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def publish(api: AsyncClient, node: str, report: HostReport) -> None:
    await agent_cycle(api, AgentConfig(node=node, mode="shared-roce"), AgentState(),
                      clock=utcnow, discover=lambda _r: report, diagnose=default_diagnose)


@pytest.mark.slow
async def test_kopf_operator_end_to_end(
    server: Any, api: AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    hosts: Callable[[str], HostReport],
) -> None:
    server.resources["v1/events"] = kmock.ResourceInfo(kind="Event", namespaced=True)
    cfg = write_kubeconfig(tmp_path / "kopf-kubeconfig", str(server.url).rstrip("/"))
    monkeypatch.setenv("KUBECONFIG", str(cfg))
    add_node(server, "gpu-1")
    await publish(api, "gpu-1", hosts("gh200"))

    rec = Reconciler(api, settings=OperatorSettings(debounce_s=0.05, max_settle_s=1,
                                                    resync_s=1))
    runtime = Runtime(reconciler=rec)
    stop: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(run_operator(runtime, standalone=True, stop_flag=stop,
                                            ready_flag=ready))
    try:
        await asyncio.wait_for(ready, 20)
        await api.create(fleet.TrainingNetworkResource.from_dict({
            "apiVersion": "dualnet.io/v1alpha1", "kind": "TrainingNetwork",
            "metadata": {"name": "rdma", "generation": 1}, "spec": SPEC}))

        def tn() -> dict[str, Any]:
            if (TN, None, "rdma") not in server.objects:
                return {}
            obj = server.objects[TN, None, "rdma"]
            return {} if obj.deleted else dict(obj.raw)

        def ready_nodes() -> int | None:
            return (tn().get("status") or {}).get("readyNodes")

        await eventually(lambda: ready_nodes() == 1)
        assert FINALIZER in tn()["metadata"]["finalizers"]
        assert (NAD, "default", "rdma") in server.objects

        # A second node reports: the NodeReport watch event reaches the status without any
        # handler writing per event.
        await api.create(Node(metadata=ObjectMeta(name="gpu-2")))
        await publish(api, "gpu-2", hosts("no_mlx5_ib"))
        await eventually(lambda: (tn().get("status") or {}).get("notReadyNodes") == 1)
        conds = {c["type"]: c for c in tn()["status"]["conditions"]}
        assert conds["Degraded"]["status"] == "True"
        await eventually(lambda: server.objects[kmock.resource("v1/nodes"), None, "gpu-2"]
                         .raw["metadata"].get("labels", {}).get("dualnet.io/rdma-ready")
                         == "false")

        # No write storm: one status write per change of the fleet, whatever kopf saw meanwhile
        # (create, the finalizer patch, NodeReport/Node events, our own status echoes).
        status_writes = [r for r in server if r.method.value == "PATCH"
                         and r.url.path.endswith("/trainingnetworks/rdma/status")]
        assert 2 <= len(status_writes) <= 4

        # Delete: kopf's finalizer holds the object until dualnet pruned what it owned.
        await api.delete(fleet.TrainingNetworkResource, "rdma")
        await eventually(lambda: tn() == {})
        assert server.objects[NAD, "default", "rdma"].deleted
    finally:
        if not stop.done():
            stop.set_result(None)
        await _finish(task)


async def _finish(task: Awaitable[Any]) -> None:
    with contextlib.suppress(asyncio.CancelledError, TimeoutError):
        await asyncio.wait_for(task, 20)
