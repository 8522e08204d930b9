"""Results of the live checks: one row per check and pod, with the evidence that decided it."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    # the check could not be taken (tool missing in the image, pod not Ready, output unparsable)
    UNMEASURED = "could not measure"
    SKIP = "skip"


class CheckResult(BaseModel):
    check: str = Field(description="network-status | interfaces | dev-infiniband | ibv_devinfo | "
                       "ping-net1")
    target: str = Field(description="pod (namespace/name), or 'a -> b' for reachability")
    status: Status
    summary: str = Field(description="one line: what was found")
    evidence: list[str] = Field(default_factory=list, description="the output lines it rests on")

    @property
    def passed(self) -> bool:
        return self.status is Status.PASS


class VerifyReport(BaseModel):
    namespace: str
    pods: list[str] = Field(default_factory=list)
    nodes: dict[str, str | None] = Field(default_factory=dict, description="pod -> node")
    launched: bool = Field(default=False, description="dualnet created (and removed) the pods")
    checks: list[CheckResult] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Every check measured and none failed (a skip proves nothing but fails nothing)."""
        return bool(self.checks) and all(
            c.status in (Status.PASS, Status.SKIP) for c in self.checks)
