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
"""

from __future__ import annotations
