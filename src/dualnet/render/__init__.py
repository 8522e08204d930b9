"""Render: plan -> Kubernetes objects (components, networks, workloads), validated against the
Kubernetes and CRD schemas, written as a kustomize directory or one YAML stream."""

from __future__ import annotations

from dualnet.render.build import (
    TARGETS,
    Target,
    nic_cluster_policy,
    render,
    render_notes,
    render_warnings,
)
from dualnet.render.markdown import plan_markdown, step_commands
from dualnet.render.operator_versions import (
    DEFAULT_OPERATOR_VERSION,
    operator_release,
    supported_operator_versions,
)
from dualnet.render.validate import (
    DEFAULT_K8S_VERSION,
    ObjectValidationError,
    supported_k8s_versions,
    validate_objects,
    validation_problems,
)
from dualnet.render.writers import stream_text, to_yaml, write_kustomize, write_stream

__all__ = [
    "DEFAULT_K8S_VERSION",
    "DEFAULT_OPERATOR_VERSION",
    "TARGETS",
    "ObjectValidationError",
    "Target",
    "nic_cluster_policy",
    "operator_release",
    "plan_markdown",
    "render",
    "render_notes",
    "render_warnings",
    "step_commands",
    "stream_text",
    "supported_k8s_versions",
    "supported_operator_versions",
    "to_yaml",
    "validate_objects",
    "validation_problems",
    "write_kustomize",
    "write_stream",
]
