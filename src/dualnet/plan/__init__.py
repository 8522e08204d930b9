"""Plan: the user's intent plus node facts, resolved into what render writes and what prepare
does on each node."""

from __future__ import annotations

from dualnet.plan.build import build_plan
from dualnet.plan.model import HostPlan, Plan, PlanWarning, ResolvedNic

__all__ = ["HostPlan", "Plan", "PlanWarning", "ResolvedNic", "build_plan"]
