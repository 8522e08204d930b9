"""What `prepare` reports: one `StepOutcome` per host step, and the run as a whole."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from dualnet.prepare.journal import Action


class StepStatus(StrEnum):
    UNCHANGED = "unchanged"  # check found the node as the step wants it; nothing done
    CHANGED = "changed"  # check -> act -> verify all ran and verify agreed
    WOULD_CHANGE = "would-change"  # dry run: check ran, the act is listed, nothing done
    FAILED = "failed"  # check, act or verify failed; see `error`
    REFUSED = "refused"  # unsafe or out of limits; nothing of the whole run was done
    SKIPPED = "skipped"  # not started: an earlier step failed or another step was refused
    MANUAL = "manual"  # printed for the user to run (k3s install); never executed


class StepOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int
    kind: str
    title: str = Field(description="the step in a few words: 'mtu 9000 on ens1f0'")
    status: StepStatus
    checked: bool = False
    acted: bool = False
    verified: bool = False
    message: str = ""
    commands: list[Action] = Field(
        default_factory=list, description="what this step ran/wrote (or would, in a dry run)"
    )
    undo: list[Action] = Field(
        default_factory=list, description="actions that undo this step, in the order to apply"
    )
    notes: list[str] = Field(default_factory=list, description="what the user should know/do")
    printed: list[str] = Field(
        default_factory=list, description="commands printed for the user, never executed"
    )
    error: str | None = None
    hint: str | None = None


class PrepareReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root: str
    netns: str | None = None
    dry_run: bool
    steps: list[StepOutcome] = Field(default_factory=list)
    protected_interfaces: list[str] = Field(
        default_factory=list, description="management interfaces no step may touch"
    )
    journal: list[Action] = Field(
        default_factory=list, description="every change made (or that would be made), in order"
    )
    rolled_back: bool = False
    rollback_errors: list[str] = Field(default_factory=list)
    manual_undo: list[str] = Field(
        default_factory=list,
        description="when not rolled back (or rollback failed): commands that undo what was done",
    )

    @property
    def refused(self) -> bool:
        return any(s.status is StepStatus.REFUSED for s in self.steps)

    @property
    def failed(self) -> bool:
        return any(s.status is StepStatus.FAILED for s in self.steps)

    @property
    def changed(self) -> bool:
        return any(s.status is StepStatus.CHANGED for s in self.steps)

    @property
    def ok(self) -> bool:
        return not (self.refused or self.failed)
