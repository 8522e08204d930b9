"""Plan: the user's intent plus node facts, resolved into what render writes and what prepare
does on each node."""

from __future__ import annotations

from dualnet.plan.build import build_plan
from dualnet.plan.model import HostPlan, Plan, PlanWarning, ResolvedNic
from dualnet.plan.nccl import NcclSettings, nccl_settings, pod_nccl_env

__all__ = [
    "HostPlan",
    "NcclSettings",
    "Plan",
    "PlanWarning",
    "ResolvedNic",
    "build_plan",
    "nccl_settings",
    "pod_nccl_env",
]
