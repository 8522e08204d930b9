"""The one package that talks to the Kubernetes API (apply, wait, pods, exec, logs).

Client library decision (made once, 2026-11-23): **lightkube** (async `AsyncClient`), the default
named in ARCHITECTURE.md. Reasons it serves better than kr8s here:

- server-side apply is a first-class call (`PatchType.APPLY`, field manager, `force`, `dryRun`);
- typed models for the built-in kinds plus generic resources for CRDs
  (NetworkAttachmentDefinition, MPIJob, IPPool, ...) created from group/version/kind/plural;
- it sends plain HTTP that the kmock API emulator serves, so every flow is tested against an API
  server rather than a fake client, and the same tests run against k3s when
  `DUALNET_E2E_KUBECONFIG` is set;
- kopf (the operator) does not need it, so the choice does not tie the two together.

Everything else in dualnet reaches the cluster through `make_client` and the functions of this
package; no other package imports lightkube.

The API a program may rely on is what `__all__` names (resolved on first use, so importing one
module of this package loads no other); every other module and name here is internal.
"""

from __future__ import annotations

from dualnet import _lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dualnet.cluster.apply import Action, ApplyResult, ObjectOutcome, apply_objects
    from dualnet.cluster.client import load_kubeconfig, make_client, request, request_list
    from dualnet.cluster.errors import (
        ApiRequestError,
        ClusterError,
        Conflict,
        Forbidden,
        Invalid,
        NotFound,
        Unreachable,
        WaitTimeoutError,
    )
    from dualnet.cluster.fleet import list_node_reports, list_training_networks
    from dualnet.cluster.wait import wait_ready

_LAZY = {
    "load_kubeconfig": "dualnet.cluster.client",
    "make_client": "dualnet.cluster.client",
    "request": "dualnet.cluster.client",
    "request_list": "dualnet.cluster.client",
    "ApiRequestError": "dualnet.cluster.errors",
    "ClusterError": "dualnet.cluster.errors",
    "Conflict": "dualnet.cluster.errors",
    "Forbidden": "dualnet.cluster.errors",
    "Invalid": "dualnet.cluster.errors",
    "NotFound": "dualnet.cluster.errors",
    "Unreachable": "dualnet.cluster.errors",
    "WaitTimeoutError": "dualnet.cluster.errors",
    "Action": "dualnet.cluster.apply",
    "ApplyResult": "dualnet.cluster.apply",
    "ObjectOutcome": "dualnet.cluster.apply",
    "apply_objects": "dualnet.cluster.apply",
    "wait_ready": "dualnet.cluster.wait",
    "list_node_reports": "dualnet.cluster.fleet",
    "list_training_networks": "dualnet.cluster.fleet",
}

__all__ = [
    "Action",
    "ApiRequestError",
    "ApplyResult",
    "ClusterError",
    "Conflict",
    "Forbidden",
    "Invalid",
    "NotFound",
    "ObjectOutcome",
    "Unreachable",
    "WaitTimeoutError",
    "apply_objects",
    "list_node_reports",
    "list_training_networks",
    "load_kubeconfig",
    "make_client",
    "request",
    "request_list",
    "wait_ready",
]

__getattr__, __dir__ = _lazy_exports("dualnet.cluster", _LAZY, __all__, globals())
