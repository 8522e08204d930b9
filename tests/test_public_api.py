"""The Python API a user may rely on, pinned (as httpx's tests/test_exported_members.py does): a
name added to or dropped from an `__all__` fails here until this list, and README.md, say so."""

from __future__ import annotations

import importlib
import subprocess
import sys
from types import ModuleType

import pytest

PUBLIC: dict[str, set[str]] = {
    "dualnet": {
        "__version__", "DoctorOptions", "DoctorResult", "DualnetError", "Exit", "Finding",
        "HostReport", "LabReport", "Plan", "Severity", "Spec", "UsageError", "build_plan",
        "build_sample", "diagnose", "discover", "load_host_report", "load_nad", "load_spec",
        "parse_spec", "run_lab", "write_kustomize", "write_stream",
    },
    "dualnet.host": {
        "SAMPLES", "Gid", "Gpu", "HostReport", "KernelModule", "LinkLayer", "ManagementInterface",
        "Nic", "NodeDescription", "PciRelation", "PortState", "RdmaDevice", "RdmaPort",
        "ReadProblem", "build_sample", "build_tree", "discover", "ibdev2netdev_text",
        "jsonable", "load_host_report", "show_gids_text", "topo_text",
    },
    "dualnet.doctor": {
        "RULES", "RULE_IDS", "DoctorOptions", "DoctorResult", "Finding", "Severity", "diagnose",
        "diagnose_with", "doctor_result", "exit_code_for", "sort_findings", "worst_severity",
    },
    "dualnet.plan": {
        "HostPlan", "NcclSettings", "Plan", "PlanWarning", "ResolvedNic", "build_plan",
        "nccl_settings", "pod_nccl_env",
    },
    "dualnet.render": {
        "DEFAULT_K8S_VERSION", "DEFAULT_OPERATOR_VERSION", "TARGETS", "ObjectValidationError",
        "Target", "nic_cluster_policy", "operator_release", "plan_markdown", "render",
        "render_notes", "render_warnings", "step_commands", "stream_text", "supported_k8s_versions",
        "supported_operator_versions", "to_yaml", "validate_objects", "validation_problems",
        "write_kustomize", "write_stream",
    },
    "dualnet.lab": {
        "CniErrorResult", "CniResult", "LabReport", "NetworkAttachmentDefinition", "annotation",
        "load_nad", "load_nads_text", "run_lab", "run_plugin",
    },
    "dualnet.prepare": {
        "Action", "CommandResult", "Host", "HostWriteError", "LoadedSteps", "PrepareReport",
        "Runner", "StepOutcome", "StepStatus", "SubprocessRunner", "load_source", "load_steps",
        "parse_steps", "prepare", "render_dry_run", "render_report", "step_title",
    },
    "dualnet.cluster": {
        "Action", "ApiRequestError", "ApplyResult", "ClusterError", "Conflict", "Forbidden",
        "Invalid", "NotFound", "ObjectOutcome", "Unreachable", "WaitTimeoutError", "apply_objects",
        "list_node_reports", "list_training_networks", "load_kubeconfig", "make_client", "request",
        "request_list", "wait_ready",
    },
    "dualnet.operator": {
        "AgentConfig", "AgentState", "Condition", "FleetView", "NodeReportStatus",
        "OperatorSettings", "Reconciler", "Runtime", "TrainingNetworkStatus", "agent_cycle",
        "all_crds", "assess_node", "build_node_report", "build_registry", "compute_network_status",
        "crd_for_node_report", "crd_for_training_network", "desired_labels", "effective_readiness",
        "label_changes", "plan_hosts", "render_network", "run_agent", "run_operator",
        "should_publish",
    },
    "dualnet.parse": {
        "ParseError", "Reading", "Tool", "find_tool", "parse_devlink_eswitch",
        "parse_devlink_port", "parse_ibdev2netdev", "parse_ibv_devices", "parse_ibv_devinfo",
        "parse_ip_addr", "parse_ip_link", "parse_ip_route", "parse_kubectl_node", "parse_lsmod",
        "parse_lspci", "parse_nccl_debug", "parse_network_status", "parse_nvidia_smi_topo",
        "parse_rdma_dev", "parse_rdma_link", "parse_rdma_system", "parse_show_gids",
        "parse_tool_output", "read_tool_output", "report_from_dir", "tool_names",
    },
    "dualnet.verify": {
        "BenchReport", "BenchRequest", "CheckResult", "NcclBench", "PodFacts", "RdmaBench",
        "Status", "VerifyReport", "exit_status", "markdown_report", "nccl_checks", "run_bench",
        "run_verify",
    },
}

# bound in a package's namespace without being API: the lazy-import switch and `from __future__`
NOT_API = {"TYPE_CHECKING", "annotations"}


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_exported_names_are_the_pinned_ones(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert len(exported) == len(set(exported)), f"{name}.__all__ repeats a name"
    assert set(exported) == PUBLIC[name]


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_exported_name_resolves_and_nothing_else_is_public(name: str) -> None:
    module = importlib.import_module(name)
    for attr in module.__all__:
        value = getattr(module, attr)
        assert not isinstance(value, ModuleType), f"{name}.{attr} is a module, not the API"
    public = {k for k, v in vars(module).items()
              if not k.startswith("_") and not isinstance(v, ModuleType)} - NOT_API
    assert public == set(module.__all__) - {"__version__"}
    assert set(module.__all__) <= set(dir(module))


def test_an_unknown_name_is_an_attribute_error() -> None:
    for module in map(importlib.import_module, sorted(PUBLIC)):
        with pytest.raises(AttributeError, match="no_such_name"):
            getattr(module, "no_such_name")  # noqa: B009 - the lookup is what is tested


def test_top_level_names_are_the_layers_own_objects() -> None:
    import dualnet
    from dualnet.host.discover import discover
    from dualnet.lab.run import run_lab
    from dualnet.plan.build import build_plan

    assert (dualnet.discover, dualnet.run_lab, dualnet.build_plan) == (discover, run_lab,
                                                                       build_plan)


def test_import_dualnet_loads_no_layer() -> None:
    # every CLI start imports the package root; its API resolves on first use
    probe = ("import sys, dualnet; print(sorted(m for m in sys.modules "
             "if m.startswith(('dualnet.', 'pydantic', 'yaml'))))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == "[]"
