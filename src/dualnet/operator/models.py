"""The operator's custom resources as pydantic models.

One model gives three things: validation of what the agent publishes, the JSON the API stores,
and (through `dualnet.operator.crd`) the openAPIV3Schema of the CRDs in `deploy/`. Field names are
camelCase through aliases because that is the Kubernetes convention for custom resources.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from dualnet.host.models import HostReport

GROUP = "dualnet.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

TRAINING_NETWORK_KIND = "TrainingNetwork"
TRAINING_NETWORK_PLURAL = "trainingnetworks"
NODE_REPORT_KIND = "NodeReport"
NODE_REPORT_PLURAL = "nodereports"

# Bounds keep one object well below etcd's 1.5 MiB limit however large the fleet or the node.
MAX_NOT_READY_LISTED = 50
MAX_FINDINGS = 40
MAX_GIDS_PER_PORT = 8
MAX_MESSAGE = 512

# A report is Stale after this many missed heartbeats (the agent publishes at least once per
# heartbeat; one lost publication is tolerated).
STALE_HEARTBEATS = 3

# Reasons computed by the operator itself (the agent's reasons come from the doctor's findings).
REASON_READY = "RdmaReady"
REASON_AGENT_GONE = "AgentGone"
REASON_NO_REPORT = "NoReport"
REASON_NO_RDMA_DEVICE = "NoRdmaDevice"
REASON_NO_ACTIVE_PORT = "NoActivePort"
REASON_DISCOVERY_FAILED = "DiscoveryFailed"
REASON_MODE_MISMATCH = "ModeMismatch"


class CrModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown keys rejected."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=False
    )


class ReportFinding(CrModel):
    """A doctor finding as published on a NodeReport (evidence trimmed; `fix` kept: it is the
    one line an operator needs)."""

    id: str
    severity: str
    title: str
    fix: str | None = None


class NodeCondition(CrModel):
    """A NodeReport condition. Ready and Degraded come from the agent; Stale is False when the
    agent publishes and set True by the operator when the heartbeat is overdue (only it can
    tell). lastTransitionTime moves only when the status flips."""

    type: Literal["Ready", "Degraded", "Stale"]
    status: Literal["True", "False", "Unknown"]
    reason: str
    message: str = ""
    last_transition_time: str
    observed_generation: int | None = Field(
        default=None, description="generation of the TrainingNetwork whose mode the agent "
        "diagnosed for (Stale: of this NodeReport)")


class NodeReportStatus(CrModel):
    """What the agent on one node publishes: readiness with its reason, the findings behind it and
    the facts that matter (a pruned HostReport, so the operator can plan from it)."""

    node_name: str
    ready: bool
    reason: str = Field(description="CamelCase, e.g. RdmaReady, NoActivePort, GidMissing")
    message: str = Field(default="", max_length=MAX_MESSAGE)
    mode: str | None = Field(default=None, description="the mode the findings were computed for")
    heartbeat_time: str = Field(description="RFC 3339 UTC time of the last publication")
    facts_hash: str = Field(description="hash of facts+findings; a change means a new report")
    agent_version: str | None = None
    findings: list[ReportFinding] = Field(default_factory=list, max_length=MAX_FINDINGS)
    facts: HostReport = Field(description="the node model, pruned to what planning needs")
    rule: str | None = Field(default=None, description="the doctor rule id behind `reason` "
                             "(the first blocking finding), when a rule decided it")
    rails_ready: int = Field(default=0, description="RDMA ports that are ACTIVE")
    rails_expected: int = Field(default=0, description="RDMA ports on the node")
    rails: str = Field(default="0/0", description="rails_ready/rails_expected, for `kubectl get`")
    conditions: list[NodeCondition] = Field(default_factory=list)


class Condition(CrModel):
    type: Literal["Ready", "Progressing", "Degraded", "Applied"]
    status: Literal["True", "False", "Unknown"]
    reason: str
    message: str = ""
    last_transition_time: str
    observed_generation: int | None = None


class NotReadyNode(CrModel):
    node: str
    reason: str
    message: str = ""


class ObjectRef(CrModel):
    api_version: str
    kind: str
    name: str
    namespace: str | None = None


class TrainingNetworkStatus(CrModel):
    observed_generation: int | None = None
    ready_nodes: int = 0
    not_ready_nodes: int = 0
    total_nodes: int = 0
    not_ready: list[NotReadyNode] = Field(
        default_factory=list,
        max_length=MAX_NOT_READY_LISTED,
        description=f"the first {MAX_NOT_READY_LISTED} not-ready nodes by name",
    )
    not_ready_reasons: dict[str, int] = Field(
        default_factory=dict, description="count of not-ready nodes per reason (all of them)"
    )
    applied: list[ObjectRef] = Field(
        default_factory=list, description="objects applied for observedGeneration (inventory)"
    )
    hardware_fingerprints: list[str] = Field(
        default_factory=list, description="distinct node hardware the plan was built from"
    )
    conditions: list[Condition] = Field(default_factory=list)
