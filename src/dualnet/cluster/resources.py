"""From an object's apiVersion/kind to the lightkube resource type that addresses it.

Built-in kinds come from lightkube's own models. Custom resources become generic resources: from a
small table of the CRDs dualnet renders or reads (so no discovery request is needed), else from
the cluster's CustomResourceDefinitions, read once per client.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from lightkube import AsyncClient
from lightkube.core.exceptions import LoadResourceError
from lightkube.core.resource import NamespacedResource
from lightkube.core.resource_registry import resource_registry
from lightkube.generic_resource import create_global_resource, create_namespaced_resource
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

from dualnet.cluster.client import request_list
from dualnet.cluster.errors import ApiRequestError, ClusterError

ResourceType = Any  # a lightkube resource class; lightkube's own unions do not help mypy here


class CrdInfo(NamedTuple):
    plural: str
    namespaced: bool


# CRDs dualnet renders or looks for, keyed by (apiVersion, kind).
KNOWN_CRDS: dict[tuple[str, str], CrdInfo] = {
    ("k8s.cni.cncf.io/v1", "NetworkAttachmentDefinition"): CrdInfo(
        "network-attachment-definitions", True
    ),
    ("whereabouts.cni.cncf.io/v1alpha1", "IPPool"): CrdInfo("ippools", True),
    ("whereabouts.cni.cncf.io/v1alpha1", "OverlappingRangeIPReservation"): CrdInfo(
        "overlappingrangeipreservations", True
    ),
    ("whereabouts.cni.cncf.io/v1alpha1", "NodeSlicePool"): CrdInfo("nodeslicepools", True),
    ("kubeflow.org/v2beta1", "MPIJob"): CrdInfo("mpijobs", True),
    ("mellanox.com/v1alpha1", "NicClusterPolicy"): CrdInfo("nicclusterpolicies", False),
    ("mellanox.com/v1alpha1", "MacvlanNetwork"): CrdInfo("macvlannetworks", False),
    ("mellanox.com/v1alpha1", "HostDeviceNetwork"): CrdInfo("hostdevicenetworks", False),
    ("mellanox.com/v1alpha1", "IPoIBNetwork"): CrdInfo("ipoibnetworks", False),
    ("dualnet.io/v1alpha1", "TrainingNetwork"): CrdInfo("trainingnetworks", False),
}

NAD_API_VERSION = "k8s.cni.cncf.io/v1"
NAD_KIND = "NetworkAttachmentDefinition"
MPIJOB_API_VERSION = "kubeflow.org/v2beta1"
MPIJOB_KIND = "MPIJob"


def _split(api_version: str) -> tuple[str, str]:
    if "/" in api_version:
        group, version = api_version.split("/", 1)
        return group, version
    return "", api_version


def generic(api_version: str, kind: str, info: CrdInfo) -> ResourceType:
    group, version = _split(api_version)
    if info.namespaced:
        return create_namespaced_resource(group, version, kind, info.plural)
    return create_global_resource(group, version, kind, info.plural)


def builtin(api_version: str, kind: str) -> ResourceType | None:
    """lightkube's model for a built-in kind, or None for anything it does not ship."""
    known = resource_registry.get(api_version, kind)
    if known is not None:
        return known
    group, _ = _split(api_version)
    if group and "." in group and not group.endswith(".k8s.io"):
        return None  # a CRD group: lightkube has no model for it
    try:
        return resource_registry.load(api_version, kind)
    except (LoadResourceError, ImportError, AttributeError):
        return None


def is_namespaced(res: ResourceType) -> bool:
    return isinstance(res, type) and issubclass(res, NamespacedResource)


class ResourceResolver:
    """Resolves kinds for one client; reads the cluster's CRDs at most once."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self._crds: dict[tuple[str, str], CrdInfo] | None = None
        self._learned: dict[tuple[str, str], CrdInfo] = {}

    async def _cluster_crds(self) -> dict[tuple[str, str], CrdInfo]:
        if self._crds is None:
            found: dict[tuple[str, str], CrdInfo] = {}

            crds: list[Any]
            try:
                crds = await request_list(self.client, "list CustomResourceDefinitions",
                                          self.client.list(CustomResourceDefinition))
            except ApiRequestError:
                crds = []  # no permission to read CRDs, or an emulator without them
            for crd in crds:
                spec = crd.spec
                for ver in spec.versions:
                    key = (f"{spec.group}/{ver.name}", spec.names.kind)
                    found[key] = CrdInfo(spec.names.plural, spec.scope == "Namespaced")
            self._crds = found
        return self._crds

    def learn(self, crd: dict[str, Any]) -> None:
        """Know the kinds of a CRD being applied in the same run (before the API serves them)."""
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        if not (spec.get("group") and names.get("kind") and names.get("plural")):
            return
        self._learned.update({
            (f"{spec['group']}/{v['name']}", names["kind"]):
                CrdInfo(names["plural"], spec.get("scope") == "Namespaced")
            for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("name")
        })

    async def crd_installed(self, api_version: str, kind: str) -> bool:
        return (api_version, kind) in await self._cluster_crds()

    async def resolve(self, api_version: str, kind: str) -> ResourceType:
        res = builtin(api_version, kind)
        if res is not None:
            return res
        info = KNOWN_CRDS.get((api_version, kind)) or self._learned.get((api_version, kind))
        if info is None:
            info = (await self._cluster_crds()).get((api_version, kind))
        if info is None:
            raise ClusterError(
                f"{kind} ({api_version}) is not a kind this cluster serves: no CRD defines it",
                hint="install the component that owns this CRD first (e.g. Multus for "
                "NetworkAttachmentDefinition)",
            )
        return generic(api_version, kind, info)
