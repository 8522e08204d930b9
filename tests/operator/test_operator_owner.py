"""NodeReports are owned by their Node (ownerReference with the Node's uid), so Kubernetes'
garbage collector deletes a node's report when the Node is deleted. kmock does not run a garbage
collector; these tests check the reference the collector acts on, as the agent writes it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kmock
from lightkube import AsyncClient
from testsupport.apiserver import writes

from dualnet.host.models import HostReport
from dualnet.operator.agent import AgentConfig, AgentState, agent_cycle, default_diagnose
from tests.helpers import Clock, add_node

NR = kmock.resource("dualnet.io/v1alpha1/nodereports")
NODES = kmock.resource("v1/nodes")


async def _cycle(api: AsyncClient, node: str, report: HostReport, clock: Clock,
                 state: AgentState) -> None:
    cfg = AgentConfig(node=node, mode="shared-roce", heartbeat_s=120)
    await agent_cycle(api, cfg, state, clock=clock, discover=lambda _root: report,
                      diagnose=default_diagnose)


async def test_node_report_is_owned_by_its_node(
        server: Any, api: AsyncClient, clock: Clock, hosts: Callable[[str], HostReport]) -> None:
    add_node(server, "gpu-1")
    add_node(server, "gpu-2")
    uid = server.objects[NODES, None, "gpu-1"].raw["metadata"]["uid"]
    state = AgentState()
    await _cycle(api, "gpu-1", hosts("gh200"), clock, state)
    meta = server.objects[NR, None, "gpu-1"].raw["metadata"]
    assert meta["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Node", "name": "gpu-1", "uid": uid}]
    assert uid != server.objects[NODES, None, "gpu-2"].raw["metadata"]["uid"]
    # the uid is read once: later cycles (no change, no heartbeat due) neither read nor write
    before = len(list(server))
    clock.advance(30)
    await _cycle(api, "gpu-1", hosts("gh200"), clock, state)
    assert len(list(server)) == before


async def test_node_report_without_readable_node_is_published_unowned_then_owned(
        server: Any, api: AsyncClient, clock: Clock, hosts: Callable[[str], HostReport]) -> None:
    state = AgentState()
    await _cycle(api, "gpu-9", hosts("gh200"), clock, state)  # no Node object yet
    meta = server.objects[NR, None, "gpu-9"].raw["metadata"]
    assert "ownerReferences" not in meta
    assert state.node_uid is None
    add_node(server, "gpu-9")
    uid = server.objects[NODES, None, "gpu-9"].raw["metadata"]["uid"]
    clock.advance(120)  # heartbeat: reads the Node again and republishes with the owner
    n_writes = len(writes(server))
    await _cycle(api, "gpu-9", hosts("gh200"), clock, state)
    assert len(writes(server)) == n_writes + 1
    assert server.objects[NR, None, "gpu-9"].raw["metadata"]["ownerReferences"][0]["uid"] == uid
