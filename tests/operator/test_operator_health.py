"""Health the agent watches between two looks: real discover() over a synthetic sysfs tree,
with the counter files mlx5 exposes (ports/N/counters, ports/N/hw_counters,
/sys/class/net/X/carrier_changes) written into it, changed between looks as the kernel would."""

from __future__ import annotations

from pathlib import Path

from dualnet.host.discover import discover
from dualnet.host.samples import gh200
from dualnet.host.synthetic import build_tree
from dualnet.operator import health


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "host"
    build_tree(gh200(), root)
    return root


def _set(root: Path, rel: str, value: int) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{value}\n")


def _look(root: Path) -> health.HealthSample:
    return health.sample(root, discover(root))


def _ids(found: list[health.HealthFinding]) -> list[tuple[str, str]]:
    return [(f.id, f.severity) for f in found]


def test_counters_are_read_from_counters_and_hw_counters(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    port = "sys/class/infiniband/mlx5_0/ports/1"
    _set(root, f"{port}/counters/link_downed", 2)
    _set(root, f"{port}/counters/symbol_error", 7)
    _set(root, f"{port}/hw_counters/out_of_buffer", 5)
    s = _look(root)
    assert s.ports[("mlx5_0", 1)].counters == {"link_downed": 2, "symbol_error": 7,
                                              "out_of_buffer": 5}
    assert s.ports[("mlx5_0", 1)].state == "ACTIVE"


def test_link_downed_of_a_driver_without_pma_counters_is_read_from_hw_counters(
        tmp_path: Path) -> None:
    # rxe has no ports/N/counters; it counts link_downed in hw_counters (rxe_hw_counters.c)
    root = _tree(tmp_path)
    port = "sys/class/infiniband/mlx5_0/ports/1"
    _set(root, f"{port}/hw_counters/link_downed", 1)
    before = _look(root)
    assert before.ports[("mlx5_0", 1)].counters == {"link_downed": 1}
    _set(root, f"{port}/hw_counters/link_downed", 2)
    assert _ids(health.compare(before, _look(root), health.Thresholds())) == [
        ("health.link-downed-rising", "error")]
    # where both exist, the PMA counter (ports/N/counters) is the one read
    _set(root, f"{port}/counters/link_downed", 5)
    assert _look(root).ports[("mlx5_0", 1)].counters == {"link_downed": 5}


def test_nothing_changed_is_no_finding_and_first_look_is_none(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    _set(root, "sys/class/infiniband/mlx5_0/ports/1/counters/link_downed", 2)
    first = _look(root)
    assert health.compare(None, first, health.Thresholds()) == []
    assert health.compare(first, _look(root), health.Thresholds()) == []


def test_link_downed_rise_blocks_symbol_errors_degrade(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    port = "sys/class/infiniband/mlx5_0/ports/1/counters"
    _set(root, f"{port}/link_downed", 2)
    _set(root, f"{port}/symbol_error", 7)
    before = _look(root)
    _set(root, f"{port}/link_downed", 3)
    _set(root, f"{port}/symbol_error", 40)
    found = health.compare(before, _look(root), health.Thresholds())
    assert _ids(found) == [("health.link-downed-rising", "error"),
                           ("health.symbol-error-rising", "warning")]
    assert "+1" in found[0].title and "+33" in found[1].title
    # configurable: a symbol-error budget of 50 per interval, blocking above 30
    lax = health.Thresholds(warn_symbol_error=50, block_symbol_error=30)
    assert ("health.symbol-error-rising", "error") in _ids(health.compare(before, _look(root),
                                                                          lax))
    # a counter that went down was reset: not a finding
    _set(root, f"{port}/link_downed", 0)
    _set(root, f"{port}/symbol_error", 0)
    assert health.compare(before, _look(root), health.Thresholds()) == []


def test_port_down_gid_gone_carrier_and_peermem(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    report = discover(root)
    netdev = next(g.netdev for d in report.rdma_devices for p in d.ports for g in p.gids
                  if g.netdev and g.ipv4 and g.roce_version == "v2")
    _set(root, f"sys/class/net/{netdev}/carrier_changes", 4)
    before = health.sample(root, report)
    assert netdev in before.roce_v2_ipv4
    after = discover(root)
    for dev in after.rdma_devices:
        for port in dev.ports:
            if port.state.value == "ACTIVE":
                port.state = type(port.state).DOWN
            port.gids = [g for g in port.gids if not g.ipv4]
    after.modules = [m for m in after.modules if m.name != "nvidia_peermem"]
    _set(root, f"sys/class/net/{netdev}/carrier_changes", 6)
    now = health.sample(root, after)
    ids = [i for i, _ in _ids(health.compare(before, now, health.Thresholds(), gpudirect=True))]
    assert "health.port-went-down" in ids
    assert "health.roce-v2-gid-gone" in ids
    assert "health.carrier-changes-rising" in ids
    if before.peermem_loaded:
        assert "health.nvidia_peermem-unloaded" in ids


def test_peermem_unloaded_blocks_only_when_gpudirect_is_asked() -> None:
    port = {("mlx5_0", 1): health.PortSample("ACTIVE", "LINK_UP", {})}
    before = health.HealthSample(port, frozenset(), {}, True)
    now = health.HealthSample(port, frozenset(), {}, False)
    assert _ids(health.compare(before, now, health.Thresholds(), gpudirect=True)) == [
        ("health.nvidia_peermem-unloaded", "error")]
    assert _ids(health.compare(before, now, health.Thresholds())) == [
        ("health.nvidia_peermem-unloaded", "warning")]
