"""The agent's health watch (operator/health.py) on a real kernel's counters: an rxe device on a
veth in the session VM (tests/lab/vm/conftest.py), its netdev taken down between two looks.

Each look is a copy of the guest's sysfs as `discover` reads it (lab/vm/realsys.capture) plus the
files the health watch reads that the copy leaves out (ports/N/counters, ports/N/hw_counters,
the netdev's carrier_changes), every value read by the guest's kernel. The agent's own
`observe` runs on the copy; what it finds is checked against the guest's real tools (`rdma
link`, `rdma statistic`), not against numbers written here."""

from __future__ import annotations

import re
import shlex
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dualnet.lab import where
from dualnet.lab.vm.machine import Machine
from dualnet.lab.vm.realsys import SETUP, capture
from dualnet.operator import health
from dualnet.operator.agent import AgentConfig, AgentState, observe

pytestmark = [pytest.mark.vm, pytest.mark.slow]

# what health.sample reads besides discover's tree (realsys's copy skips the counter dirs)
_COUNTERS = r"""
p=/sys/class/infiniband/$1/ports/1
grep -r -H . "$p/counters" "$p/hw_counters" 2>/dev/null || true
echo "/sys/class/net/$2/carrier_changes:$(cat /sys/class/net/$2/carrier_changes)"
"""


def _look(vm: Machine, ib: str, netdev: str, dest: Path) -> None:
    """The guest's tree as the agent would read it under its host root, into `dest`."""
    shutil.rmtree(dest, ignore_errors=True)
    capture(ib, netdev, dest)
    res = vm.run(["sh", "-c", _COUNTERS, "counters", ib, netdev], timeout_s=60)
    assert res.ok, res.err
    for line in res.out.splitlines():
        path, _, value = line.partition(":")
        # the class link is a symlink into the copied device directory: written through it
        target = dest / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(value + "\n")


def _link_downed(vm: Machine, ib: str) -> int:
    """link_downed as the guest's `rdma statistic` reports it (iproute2, reads via netlink)."""
    res = vm.run(["rdma", "statistic", "show", "link", f"{ib}/1"], timeout_s=60)
    assert res.ok, res.err
    found = re.search(r"\blink_downed (\d+)", res.out)
    assert found, res.out
    return int(found.group(1))


def test_health_watch_sees_the_rxe_port_go_down_with_its_counter_delta(
        vm: Machine, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:6]
    v, p, ib = f"dhv{run}", f"dhp{run}", f"rh{run}"
    root = tmp_path / "host"
    config = AgentConfig(node="vm", root=root)
    state = AgentState()
    with where.using(vm):
        setup = SETUP.format(v=shlex.quote(v), p=shlex.quote(p), ip="10.253.0.1/24",
                             ib=shlex.quote(ib))
        res = vm.run(["sh", "-c", setup], timeout_s=60)
        assert res.ok, res.err
        try:
            _look(vm, ib, v, root)
            first = observe(config, "shared-roce", datetime.now(UTC), state=state)
            before = state.health
            downed_before = _link_downed(vm, ib)
            assert vm.run(["ip", "link", "set", v, "down"], timeout_s=60).ok
            _look(vm, ib, v, root)
            second = observe(config, "shared-roce", datetime.now(UTC), state=state)
            after = state.health
            downed_after = _link_downed(vm, ib)
            link = vm.run(["rdma", "link", "show", f"{ib}/1"], timeout_s=60).out
        finally:
            vm.run(["sh", "-c", f"rdma link delete {ib}; ip link delete {v}"], timeout_s=60)
    assert before is not None and after is not None
    port = (ib, 1)
    # the real counters moved and the copy read them: rxe counts the netdev going down
    assert downed_after - downed_before >= 1
    assert before.ports[port].counters["link_downed"] == downed_before
    assert after.ports[port].counters["link_downed"] == downed_after
    assert before.ports[port].state == "ACTIVE"
    assert "state DOWN" in link and after.ports[port].state == "DOWN"
    found = {f.id: f for f in health.compare(before, after, health.Thresholds())}
    assert found["health.port-went-down"].severity == "error"
    assert f"{ib}/1 went ACTIVE -> DOWN" in found["health.port-went-down"].title
    assert found["health.link-downed-rising"].severity == "error"
    assert f"+{downed_after - downed_before} " in found["health.link-downed-rising"].title
    carrier = after.carrier_changes[v] - before.carrier_changes[v]
    assert ("health.carrier-changes-rising" in found) == (carrier > 0)
    # what the agent publishes: no health finding on the first look, then one with the node's
    # rule ids (the same findings, through observe, as the operator reads them)
    assert not [f for f in first.findings if f.id.startswith("health.")]
    published = {f.id: f.severity for f in second.findings if f.id.startswith("health.")}
    assert published["health.port-went-down"] == "error"
    assert published["health.link-downed-rising"] == "error"
    assert second.ready is False and first.facts_hash != second.facts_hash
