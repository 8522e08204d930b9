"""operator: the kopf operator that reconciles TrainingNetworks across the fleet, the node agent
that publishes each node's NodeReport, and the CRDs of both.

The API a program may rely on is what `__all__` names (resolved on first use, so importing one
module of this package loads no other); every other module and name here is internal.
"""

from __future__ import annotations

from dualnet import _lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dualnet.operator.agent import AgentConfig, AgentState, agent_cycle, run_agent
    from dualnet.operator.crd import all_crds, crd_for_node_report, crd_for_training_network
    from dualnet.operator.handlers import Runtime, build_registry, run_operator
    from dualnet.operator.logic import (
        assess_node,
        build_node_report,
        compute_network_status,
        desired_labels,
        effective_readiness,
        label_changes,
        plan_hosts,
        should_publish,
    )
    from dualnet.operator.models import Condition, NodeReportStatus, TrainingNetworkStatus
    from dualnet.operator.reconciler import FleetView, OperatorSettings, Reconciler, render_network

_LAZY = {
    "assess_node": "dualnet.operator.logic",
    "build_node_report": "dualnet.operator.logic",
    "compute_network_status": "dualnet.operator.logic",
    "desired_labels": "dualnet.operator.logic",
    "effective_readiness": "dualnet.operator.logic",
    "label_changes": "dualnet.operator.logic",
    "plan_hosts": "dualnet.operator.logic",
    "should_publish": "dualnet.operator.logic",
    "FleetView": "dualnet.operator.reconciler",
    "OperatorSettings": "dualnet.operator.reconciler",
    "Reconciler": "dualnet.operator.reconciler",
    "render_network": "dualnet.operator.reconciler",
    "Runtime": "dualnet.operator.handlers",
    "build_registry": "dualnet.operator.handlers",
    "run_operator": "dualnet.operator.handlers",
    "AgentConfig": "dualnet.operator.agent",
    "AgentState": "dualnet.operator.agent",
    "agent_cycle": "dualnet.operator.agent",
    "run_agent": "dualnet.operator.agent",
    "all_crds": "dualnet.operator.crd",
    "crd_for_node_report": "dualnet.operator.crd",
    "crd_for_training_network": "dualnet.operator.crd",
    "Condition": "dualnet.operator.models",
    "NodeReportStatus": "dualnet.operator.models",
    "TrainingNetworkStatus": "dualnet.operator.models",
}

__all__ = [
    "AgentConfig",
    "AgentState",
    "Condition",
    "FleetView",
    "NodeReportStatus",
    "OperatorSettings",
    "Reconciler",
    "Runtime",
    "TrainingNetworkStatus",
    "agent_cycle",
    "all_crds",
    "assess_node",
    "build_node_report",
    "build_registry",
    "compute_network_status",
    "crd_for_node_report",
    "crd_for_training_network",
    "desired_labels",
    "effective_readiness",
    "label_changes",
    "plan_hosts",
    "render_network",
    "run_agent",
    "run_operator",
    "should_publish",
]

__getattr__, __dir__ = _lazy_exports("dualnet.operator", _LAZY, __all__, globals())
