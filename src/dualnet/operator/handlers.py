"""kopf wiring: watch events in, calls on the Reconciler out. No decisions are made here.

- TrainingNetwork create/update/resume: render and server-side apply (kopf retries API failures).
- TrainingNetwork delete: prune the objects labelled as this network's; kopf's finalizer
  (`dualnet.io/cleanup`) holds the object until that is done.
- A daemon per TrainingNetwork keeps its status: it wakes on fleet changes (debounced) and at
  least every resync period (which is what turns silent agents into AgentGone), and patches only
  when the computed status differs from the stored one.
- NodeReport and Node events only update the in-memory FleetView: no API write per event.

Two replicas do not fight: kopf peering (ClusterKopfPeering `dualnet`) with a distinct priority
per replica (hashed from the pod's name); every replica but the highest pauses.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kopf

from dualnet.cluster.client import make_client
from dualnet.cluster.errors import ClusterError
from dualnet.operator.metrics import OperatorMetrics
from dualnet.operator.models import (
    GROUP,
    NODE_REPORT_PLURAL,
    TRAINING_NETWORK_PLURAL,
    VERSION,
)
from dualnet.operator.reconciler import OperatorSettings, Reconciler

log = logging.getLogger("dualnet.operator")

PEERING_NAME = "dualnet"
FINALIZER = "dualnet.io/cleanup"


def peering_priority(identity: str) -> int:
    """A replica's kopf peering priority: distinct per pod name with near certainty (kopf pauses
    every replica whose priority is not the single highest, including ties)."""
    return int(hashlib.sha256(identity.encode()).hexdigest()[:7], 16)


def configure_kopf(settings: Any) -> None:
    """kopf's own storage under dualnet's names; only warnings become Kubernetes Events (an event
    per reconcile is a write storm of its own). CRD scanning stays on: `kubectl apply -k` creates
    the CRDs and the operator together, and a CRD established after startup must still be
    served (cluster-wide, kopf watches CRDs but not namespaces)."""
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="dualnet.io")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="dualnet.io", key="last-handled-configuration")
    settings.posting.level = logging.WARNING
    settings.watching.server_timeout = 300


@dataclass
class Runtime:
    """What the handlers share: settings, and the Reconciler (made at startup unless given)."""

    settings: OperatorSettings = field(default_factory=OperatorSettings)
    reconciler: Reconciler | None = None
    kubeconfig: Path | None = None
    context: str | None = None
    metrics: OperatorMetrics | None = None
    _owns_client: bool = False

    @property
    def rec(self) -> Reconciler:
        if self.reconciler is None:
            raise RuntimeError("operator runtime used before startup")
        return self.reconciler

    async def start(self) -> None:
        if self.reconciler is None:
            client = make_client(self.kubeconfig, self.context)
            self.reconciler = Reconciler(client, settings=self.settings, metrics=self.metrics)
            self._owns_client = True

    async def stop(self) -> None:
        if self._owns_client and self.reconciler is not None:
            await self.reconciler.client.close()


def _plain(body: Mapping[str, Any]) -> dict[str, Any]:
    """A plain-dict snapshot of a kopf body (its views are live and read-only)."""
    return {k: dict(body.get(k) or {}) for k in ("metadata", "spec", "status")}


def build_registry(runtime: Runtime) -> Any:
    """A kopf registry with dualnet's handlers bound to `runtime`."""
    registry = kopf.OperatorRegistry()
    tn = (GROUP, VERSION, TRAINING_NETWORK_PLURAL)

    @kopf.on.login(registry=registry)
    def _login(**kwargs: Any) -> Any:
        # A fresh registry has none of kopf's default login handlers: in-cluster token first,
        # then $KUBECONFIG / ~/.kube/config (kopf reads both without a client library).
        return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)

    @kopf.on.startup(registry=registry)
    async def _startup(settings: Any, **_: Any) -> None:
        configure_kopf(settings)
        await runtime.start()

    @kopf.on.cleanup(registry=registry)
    async def _cleanup(**_: Any) -> None:
        await runtime.stop()

    @kopf.on.event(GROUP, VERSION, NODE_REPORT_PLURAL, registry=registry)
    def _report(event: Mapping[str, Any], **_: Any) -> None:
        obj = event.get("object") or {}
        if event.get("type") == "DELETED":
            runtime.rec.fleet.forget_report(str((obj.get("metadata") or {}).get("name")))
        else:
            runtime.rec.fleet.ingest_report(obj)

    @kopf.on.event("", "v1", "nodes", registry=registry)
    def _node(event: Mapping[str, Any], **_: Any) -> None:
        obj = event.get("object") or {}
        if event.get("type") == "DELETED":
            runtime.rec.fleet.forget_node(str((obj.get("metadata") or {}).get("name")))
        else:
            runtime.rec.fleet.ingest_node(obj)

    @kopf.on.resume(*tn, registry=registry)
    @kopf.on.create(*tn, registry=registry)
    @kopf.on.update(*tn, registry=registry)
    async def _apply(name: str, body: Mapping[str, Any], **_: Any) -> None:
        snap = _plain(body)
        try:
            await runtime.rec.apply_network(name, snap["spec"], snap["metadata"].get("generation"),
                                            snap["status"].get("applied") or ())
        except ClusterError as exc:
            raise kopf.TemporaryError(exc.message, delay=15) from exc
        runtime.rec.fleet.poke()

    @kopf.on.delete(*tn, registry=registry)
    async def _delete(name: str, body: Mapping[str, Any], **_: Any) -> None:
        snap = _plain(body)
        try:
            deleted = await runtime.rec.delete_network(name, snap["spec"],
                                                       snap["status"].get("applied") or ())
        except ClusterError as exc:
            raise kopf.TemporaryError(exc.message, delay=15) from exc
        log.info("TrainingNetwork %s deleted: %d owned object(s) removed", name, deleted)

    @kopf.daemon(*tn, registry=registry, cancellation_timeout=10)
    async def _status(name: str, body: Mapping[str, Any], stopped: Any, **_: Any) -> None:
        await runtime.rec.run_network_loop(name, lambda: _plain(body), lambda: bool(stopped))

    return registry


async def run_operator(
    runtime: Runtime,
    *,
    standalone: bool = False,
    identity: str = "dualnet-operator",
    liveness_endpoint: str | None = None,
    stop_flag: Any = None,
    ready_flag: Any = None,
) -> None:
    """Run the kopf operator cluster-wide until stopped."""
    await kopf.operator(
        registry=build_registry(runtime),
        clusterwide=True,
        standalone=standalone,
        peering_name=None if standalone else PEERING_NAME,
        priority=peering_priority(identity),
        liveness_endpoint=liveness_endpoint,
        stop_flag=stop_flag,
        ready_flag=ready_flag,
    )
