"""lab: rehearse a NetworkAttachmentDefinition on the real CNI plugins in throw-away network
namespaces (a node, a wire, N pods), check it, tear it down and prove nothing is left.

Modules: `nad` (load NAD YAML), `cni` (run one plugin), `conflist` (chains: ADD/CHECK/DEL),
`rewrite` (what the lab changes and what it cannot rehearse), `netns` (`ip` argument lists),
`topology` (namespaces and links), `checks`, `status` (network-status), `run` (the whole run),
`host` (preconditions), `models`."""

from __future__ import annotations

from dualnet.lab.cni import run_plugin
from dualnet.lab.models import CniErrorResult, CniResult, LabReport, NetworkAttachmentDefinition
from dualnet.lab.nad import load_nad, load_nads_text
from dualnet.lab.run import annotation, run_lab

__all__ = [
    "CniErrorResult",
    "CniResult",
    "LabReport",
    "NetworkAttachmentDefinition",
    "annotation",
    "load_nad",
    "load_nads_text",
    "run_lab",
    "run_plugin",
]
