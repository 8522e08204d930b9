"""Fabric health the agent watches between two looks at the node, all read from sysfs.

The doctor judges one snapshot. Some faults only show as a change: a port that went down and came
back, link_downed or symbol_error counters rising, the RoCE v2 IPv4 GID of a netdev vanishing
(its address was removed), nvidia_peermem unloaded under a running GPUDirect job, a carrier that
flaps. `sample()` reads what is needed (thin I/O), `compare()` turns two samples into findings
(pure); the agent publishes them with the doctor's, so they reach conditions, labels and Events
the same way.

Threshold defaults: a rise of any size is reported, as ibqueryerrors(8) does ("The default
threshold is zero (0)", infiniband-diags). A rise of link_downed blocks (the link went down: any
RDMA connection on it broke); symbol errors and carrier changes only degrade, unless their
per-interval threshold for blocking is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from dualnet.host.models import HostReport

# ports/N/counters (IB PMA counters; exist on IB and RoCE ports of mlx5).
PORT_COUNTERS = ("link_downed", "symbol_error", "link_error_recovery", "port_rcv_errors",
                 "port_xmit_discards", "local_link_integrity_errors")
# ports/N/hw_counters (driver counters, mlx5): the ones that mean lost or retried traffic.
HW_COUNTERS = ("out_of_buffer", "out_of_sequence", "packet_seq_err", "local_ack_timeout_err",
               "rnr_nak_retry_err", "implied_nak_seq_err")
# Read from hw_counters when ports/N/counters lacks them: rxe counts link_downed there
# (rxe_hw_counters.c, RXE_CNT_LINK_DOWNED, incremented on NETDEV_DOWN); only kernels whose rxe
# answers PMA queries (the VM lab's 7.3 does) also have it under ports/N/counters.
HW_FALLBACK = ("link_downed",)
_ACTIVE = ("ACTIVE", "ACTIVE_DEFER")


class Thresholds(BaseModel):
    """Per agent interval. `warn_*`: a rise above this degrades the node; `block_*`: a rise
    above this makes it not ready (None: never)."""

    model_config = ConfigDict(extra="forbid")

    warn_link_downed: int = Field(default=0, ge=0)
    block_link_downed: int | None = Field(default=0, ge=0)
    warn_symbol_error: int = Field(default=0, ge=0)
    block_symbol_error: int | None = Field(default=None, ge=0)
    warn_carrier_changes: int = Field(default=0, ge=0)
    block_carrier_changes: int | None = Field(default=None, ge=0)


@dataclass(frozen=True)
class HealthFinding:
    """Shaped like a doctor finding (id, severity, title, fix) so the operator treats both
    alike."""

    id: str
    severity: str
    title: str
    fix: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PortSample:
    state: str
    phys_state: str
    counters: Mapping[str, int]


@dataclass(frozen=True)
class HealthSample:
    ports: Mapping[tuple[str, int], PortSample]  # (hca, port)
    roce_v2_ipv4: frozenset[str]  # netdevs that have a RoCE v2 IPv4 GID
    carrier_changes: Mapping[str, int]  # netdev -> /sys/class/net/X/carrier_changes
    peermem_loaded: bool


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def sample(root: Path, report: HostReport) -> HealthSample:
    """What compare() needs: port states and GIDs from the report discover() just made, and the
    counters it does not read, from sysfs under `root`."""
    ports: dict[tuple[str, int], PortSample] = {}
    for dev in report.rdma_devices:
        for port in dev.ports:
            base = root / "sys/class/infiniband" / dev.name / "ports" / str(port.number)
            counters: dict[str, int] = {}
            for sub, names in (("counters", PORT_COUNTERS),
                               ("hw_counters", HW_COUNTERS + HW_FALLBACK)):
                for name in names:
                    value = None if name in counters else _read_int(base / sub / name)
                    if value is not None:
                        counters[name] = value
            ports[(dev.name, port.number)] = PortSample(str(port.state.value),
                                                        str(port.phys_state.value), counters)
    v2 = frozenset(g.netdev for d in report.rdma_devices for p in d.ports for g in p.gids
                   if g.netdev and g.ipv4 and g.roce_version == "v2")
    carrier: dict[str, int] = {}
    net = root / "sys/class/net"
    if net.is_dir():
        for link in sorted(net.iterdir()):
            value = _read_int(link / "carrier_changes")
            if value is not None:
                carrier[link.name] = value
    loaded = any(m.name in ("nvidia_peermem", "nv_peer_mem") for m in report.modules)
    return HealthSample(ports, v2, carrier, loaded)


def _rise(kind: str, what: str, delta: int, warn: int, block: int | None,
          fix: list[str]) -> HealthFinding | None:
    if delta <= warn and (block is None or delta <= block):
        return None
    blocking = block is not None and delta > block
    return HealthFinding(f"health.{kind}-rising", "error" if blocking else "warning",
                         f"{what}: +{delta} since the last look", fix)


def compare(before: HealthSample | None, now: HealthSample, thresholds: Thresholds, *,
            gpudirect: bool = False) -> list[HealthFinding]:
    """Findings for what changed between two samples (none on the first look; a counter that
    went down was reset, not improved, and is skipped)."""
    if before is None:
        return []
    out: list[HealthFinding] = []
    t = thresholds
    for key, port in sorted(now.ports.items()):
        old = before.ports.get(key)
        if old is None:
            continue
        where = f"{key[0]}/{key[1]}"
        if old.state in _ACTIVE and port.state not in _ACTIVE:
            out.append(HealthFinding("health.port-went-down", "error",
                                     f"{where} went {old.state} -> {port.state} "
                                     f"(phys {old.phys_state} -> {port.phys_state})",
                                     [f"rdma link show {where}"]))
        for name, warn, block, what in (
                ("link_downed", t.warn_link_downed, t.block_link_downed, "link went down"),
                ("symbol_error", t.warn_symbol_error, t.block_symbol_error, "symbol errors")):
            if name in port.counters and name in old.counters:
                delta = port.counters[name] - old.counters[name]
                found = _rise(name.replace("_", "-"), f"{where} {what}", delta, warn, block,
                              ["check the cable and transceiver of " + where])
                if delta > 0 and found is not None:
                    out.append(found)
    for netdev in sorted(before.roce_v2_ipv4 - now.roce_v2_ipv4):
        out.append(HealthFinding("health.roce-v2-gid-gone", "error",
                                 f"{netdev}: its RoCE v2 IPv4 GID disappeared (address removed?)",
                                 [f"ip -4 addr show dev {netdev}"]))
    for netdev, count in sorted(now.carrier_changes.items()):
        delta = count - before.carrier_changes.get(netdev, count)
        found = _rise("carrier-changes", f"{netdev} carrier changes", delta,
                      t.warn_carrier_changes, t.block_carrier_changes,
                      [f"ip -s link show dev {netdev}"])
        if delta > 0 and found is not None:
            out.append(found)
    if before.peermem_loaded and not now.peermem_loaded:
        out.append(HealthFinding("health.nvidia_peermem-unloaded",
                                 "error" if gpudirect else "warning",
                                 "nvidia_peermem was unloaded" +
                                 (" while GPUDirect RDMA is asked" if gpudirect else ""),
                                 ["modprobe nvidia_peermem"]))
    return out
