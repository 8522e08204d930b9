"""Results of `dualnet bench`: what was measured, the line rate it is compared with, the floor,
and one of the three outcomes. Serialisable as they are (the figures are computed fields, so
`-o json` and the report carry them).

Reference bandwidths (what "% of line rate" divides by):

- ib_write_bw: the rate of the port under test; twice that for a bidirectional run.
- all_reduce_perf bus bandwidth: nccl-tests defines busbw (doc/PERFORMANCE.md, "Bus bandwidth")
  so that it compares with the bandwidth of the hardware bottleneck, independent of the rank
  count. Across nodes with NVLink inside each node that bottleneck is the network: every ring
  (channel) crosses each node boundary once in each direction, so all of a node's ranks together
  push busbw x time through that node's HCAs. The peak is therefore the sum of the line rates of
  the HCAs one node's ranks use, in one direction, not that sum divided by the ranks per node
  (which made a real 2-node 16xH100 run read 678 %). In-network reduction (SHARP/CollNet, NVLS
  with IB SHARP) sends each byte over the node's link once instead of 2(n-1)/n times, so busbw
  can reach up to about twice this reference; above 100 % the report says so.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, computed_field

from dualnet.verify.models import CheckResult, Status
from dualnet.verify.nccl_tests import NcclTestResult
from dualnet.verify.outcome import worst
from dualnet.verify.perftest import PerftestResult

DEFAULT_FLOOR = 0.8  # ib_write_bw: a healthy RDMA path reaches 90+ % of the port's rate
DEFAULT_NCCL_FLOOR = 0.7  # busbw over the network: protocol and ring overheads take more


def _judge(measured: float | None, reference: float | None, floor: float,
           problem: str | None) -> tuple[Status, str]:
    if problem is not None:
        return Status.UNMEASURED, problem
    if measured is None:
        return Status.UNMEASURED, "no measurement"
    if reference is None:
        return Status.UNMEASURED, (f"measured {measured:.1f} Gb/s, but the line rate is unknown "
                                   "(give --host-report, or a port whose sysfs rate is readable)")
    floor_gbps = reference * floor
    pct = 100.0 * measured / reference
    if measured < floor_gbps:
        return Status.FAIL, (f"{measured:.1f} Gb/s is {pct:.0f}% of {reference:.1f} Gb/s, below "
                             f"the floor {floor_gbps:.1f} Gb/s ({floor:.0%})")
    return Status.PASS, (f"{measured:.1f} Gb/s is {pct:.0f}% of {reference:.1f} Gb/s (floor "
                         f"{floor_gbps:.1f} Gb/s, {floor:.0%})")


class _AgainstLineRate(BaseModel):
    """A bandwidth judged against a reference and a floor: the figures and outcome every bench
    row prints (subclasses say what was measured and what it compares with)."""

    problem: str | None = Field(default=None, description="why it could not be measured")
    floor_fraction: float = Field(default=DEFAULT_FLOOR, gt=0, le=1)

    def _measured(self) -> float | None:
        raise NotImplementedError

    def _reference(self) -> float | None:
        raise NotImplementedError

    def _note(self) -> str:
        return ""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def reference_gbps(self) -> float | None:
        return self._reference()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def floor_gbps(self) -> float | None:
        ref = self._reference()
        return None if ref is None else ref * self.floor_fraction

    @computed_field  # type: ignore[prop-decorator]
    @property
    def percent_of_line_rate(self) -> float | None:
        ref, got = self._reference(), self._measured()
        return None if not ref or got is None else 100.0 * got / ref

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> Status:
        return _judge(self._measured(), self._reference(), self.floor_fraction, self.problem)[0]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def verdict(self) -> str:
        text = _judge(self._measured(), self._reference(), self.floor_fraction, self.problem)[1]
        return text + self._note()


class RdmaBench(_AgainstLineRate):
    server: str
    client: str
    server_node: str | None = None
    client_node: str | None = None
    device: str
    port: int = 1
    gpu: bool = False
    command: list[str] = Field(default_factory=list)
    result: PerftestResult | None = Field(default=None, description="None: could not measure")
    line_rate_gbps: float | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def measured_gbps(self) -> float | None:
        return None if self.result is None else self.result.best_avg_gbps

    def _measured(self) -> float | None:
        return self.measured_gbps

    def _reference(self) -> float | None:
        if self.line_rate_gbps is None:
            return None
        bidir = self.result is not None and self.result.bidirectional
        # a bidirectional run moves data both ways at once: twice the line rate is the ceiling
        return self.line_rate_gbps * (2 if bidir else 1)


class NcclBench(_AgainstLineRate):
    engine: Literal["mpijob", "indexed-job"]
    nodes: int
    gpus_per_node: int
    env: dict[str, str] = Field(default_factory=dict)
    result: NcclTestResult | None = Field(default=None, description="None: could not measure")
    line_rate_gbps_per_node: float | None = Field(
        default=None, description="sum of the line rates of the HCAs one node's ranks use")
    floor_fraction: float = Field(default=DEFAULT_NCCL_FLOOR, gt=0, le=1)
    checks: list[CheckResult] = Field(default_factory=list,
                                      description="NCCL's own log: transport, HCAs, GDRDMA, GID")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def peak_busbw_gbps(self) -> float | None:
        return None if self.result is None else self.result.peak_busbw_gbs * 8

    def _measured(self) -> float | None:
        return self.peak_busbw_gbps

    def _reference(self) -> float | None:
        # the node's network peak (module docstring): busbw compares with it directly
        return self.line_rate_gbps_per_node

    def _note(self) -> str:
        pct = self.percent_of_line_rate
        if pct is not None and pct > 100:
            return ("; above the node's line rate: in-network reduction (SHARP/CollNet, NVLS) "
                    "can reach up to twice it")
        return ""


class BenchReport(BaseModel):
    namespace: str
    created: str = Field(description="UTC time the run finished")
    rdma: list[RdmaBench] = Field(default_factory=list)
    nccl: NcclBench | None = None
    notes: list[str] = Field(default_factory=list)

    def statuses(self) -> list[Status]:
        out = [r.status for r in self.rdma]
        if self.nccl is not None:
            out.append(self.nccl.status)
            out.extend(c.status for c in self.nccl.checks)
        return out

    @computed_field  # type: ignore[prop-decorator]
    @property
    def outcome(self) -> Status | None:
        return worst(self.statuses())
