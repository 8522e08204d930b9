"""Models the lab layer hands across its boundary: the NAD it rehearses, plugin results and
errors, and the report of one lab run."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field


class NetworkAttachmentDefinition(BaseModel):
    """One NAD as Multus reads it: the CNI config from `spec.config`, parsed."""

    model_config = ConfigDict(frozen=True)

    name: str
    namespace: str = "default"
    annotations: dict[str, str] = Field(default_factory=dict)
    config: dict[str, Any]
    source: str = ""

    @property
    def is_conflist(self) -> bool:
        return "plugins" in self.config

    @property
    def cni_version(self) -> str:
        # a missing cniVersion means 0.2.0 per the CNI spec
        return str(self.config.get("cniVersion", "0.2.0"))

    def plugins(self) -> list[dict[str, Any]]:
        """The plugin objects in chain order (a single conf is a one-plugin chain)."""
        if self.is_conflist:
            return [dict(p) for p in self.config.get("plugins", [])]
        return [dict(self.config)]


class CniResult(BaseModel):
    """A successful plugin call: the parsed stdout plus what it cost."""

    plugin: str
    command: str
    result: dict[str, Any] = Field(default_factory=dict)
    stderr: str = ""
    elapsed_ms: float = 0.0


class CniErrorResult(BaseModel):
    """A failed plugin call: the CNI error object (or what stood in for it) and stderr."""

    plugin: str
    command: str
    code: int = 999
    msg: str = ""
    details: str = ""
    stderr: str = ""
    exit_code: int = 1
    elapsed_ms: float = 0.0

    def text(self) -> str:
        out = f"{self.plugin} {self.command}: {self.msg}"
        if self.details:
            out += f" ({self.details})"
        return out


Verdict = Literal["pass", "fail", "unsupported"]


class Check(BaseModel):
    """One check of a lab run. `skipped`: it did not run (e.g. CHECK before cniVersion 0.4.0);
    `unsupported`: this machine cannot rehearse it (e.g. a data path Soft-RoCE cannot carry
    under `lab --vm`). Either is neither a pass nor a failure and is counted apart."""

    name: str
    pod: str = ""
    passed: bool
    skipped: bool = False
    unsupported: bool = False
    evidence: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def result(self) -> Literal["pass", "fail", "skipped", "unsupported"]:
        if self.unsupported:
            return "unsupported"
        if self.skipped:
            return "skipped"
        return "pass" if self.passed else "fail"


class PodInterface(BaseModel):
    name: str
    mac: str = ""
    state: str = ""
    mtu: int = 0
    addresses: list[str] = Field(default_factory=list)


class PodReport(BaseModel):
    pod: str
    netns: str
    container_id: str
    interfaces: list[PodInterface] = Field(default_factory=list)
    routes: list[str] = Field(default_factory=list)
    network_status: list[dict[str, Any]] = Field(default_factory=list)
    primary_result: dict[str, Any] = Field(default_factory=dict)
    nad_result: dict[str, Any] = Field(default_factory=dict)
    error: str = ""


class Timing(BaseModel):
    step: str
    ms: float


class LabReport(BaseModel):
    """What `dualnet lab` shows: per pod, the checks, the verdict and the cost."""

    nad: str
    nad_type: str
    cni_version: str
    run_id: str
    verdict: Verdict
    reason: str = ""
    rewrites: list[str] = Field(default_factory=list)
    pods: list[PodReport] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list)
    timings: list[Timing] = Field(default_factory=list)
    cleanup: list[str] = Field(default_factory=list)
    kept: bool = False
    machine: str = Field(default="", description="where it ran, when not on this machine "
                         "(`lab --vm`: kernel and accelerator)")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def check_counts(self) -> dict[str, int]:
        """Checks by result (pass, fail, skipped): the summary line's numbers."""
        counts = {"pass": 0, "fail": 0, "skipped": 0, "unsupported": 0}
        for c in self.checks:
            counts[c.result] += 1
        return counts
