"""The CustomResourceDefinitions dualnet ships or renders against, as data.

* NetworkAttachmentDefinition: the NPWG artifact (formats.md 3.1), as the Multus thick manifest
  carries it.
* whereabouts IPPool / OverlappingRangeIPReservation: whereabouts doc/crds (v1alpha1, as of
  v0.9.3; no release has an `ipamclaimref` field).
* Network Operator (mellanox.com/v1alpha1): MacvlanNetwork, HostDeviceNetwork, IPoIBNetwork and
  the NicClusterPolicy sections dualnet writes, per operator release (operator_versions.py),
  with the fields, enums, patterns and required lists of the release's CRDs
  (deployment/network-operator/crds). Only the validation-relevant parts are kept; descriptions
  are dropped. tests/render/test_render_conformance.py holds these against the upstream files.
"""

from __future__ import annotations

from typing import Any

from dualnet.render.operator_versions import OperatorRelease

_STR: dict[str, Any] = {"type": "string"}


def _root(spec: dict[str, Any], *, required_spec: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "apiVersion": _STR,
            "kind": _STR,
            "metadata": {"type": "object"},
            "spec": spec,
        },
    }
    if required_spec:
        schema["required"] = ["spec"]
    return schema


NAD_SCHEMA = _root({"type": "object", "properties": {"config": _STR}})

IPPOOL_SCHEMA = _root({
    "type": "object",
    "properties": {
        "allocations": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {"id": _STR, "ifname": _STR, "podref": _STR},
                "required": ["id", "podref"],
            },
        },
        "range": _STR,
    },
    "required": ["allocations", "range"],
})

OVERLAPPING_SCHEMA = _root(
    {
        "type": "object",
        "properties": {"containerid": _STR, "ifname": _STR, "podref": _STR},
        "required": ["podref"],
    },
    required_spec=True,
)

MACVLAN_NETWORK_SCHEMA = _root({
    "type": "object",
    "properties": {
        "ipam": _STR,
        "master": _STR,
        "mode": {"type": "string", "enum": ["bridge", "private", "vepa", "passthru"]},
        "mtu": {"type": "integer", "minimum": 0},
        "networkNamespace": _STR,
    },
    "additionalProperties": False,
})

HOST_DEVICE_NETWORK_SCHEMA = _root({
    "type": "object",
    "properties": {"ipam": _STR, "networkNamespace": _STR, "resourceName": _STR},
    "additionalProperties": False,
})

IPOIB_NETWORK_SCHEMA = _root({
    "type": "object",
    "properties": {"ipam": _STR, "master": _STR, "networkNamespace": _STR},
    "additionalProperties": False,
})

_IMAGE_PROPS: dict[str, Any] = {
    "image": {"type": "string", "pattern": r"[a-zA-Z0-9\-]+"},
    "repository": {"type": "string", "pattern": r"[a-zA-Z0-9\.\-\/]+"},
    "version": _STR,
    "imagePullSecrets": {"type": "array", "items": _STR},
    "containerResources": {"type": "array", "items": {"type": "object"}},
}


def _image_spec(release: OperatorRelease, **extra: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {**_IMAGE_PROPS, **extra},
        "required": list(release.image_required),
        "additionalProperties": False,
    }


# Top-level NicClusterPolicy sections dualnet does not write: known (a strict apply accepts
# them), not modelled.
_OTHER_SECTIONS: dict[str, Any] = {
    "deploymentNodeAffinity": {"type": "object"},
    "deploymentTolerations": {"type": "array"},
    "docaTelemetryService": {"type": "object"},
    "ibKubernetes": {"type": "object"},
    "nicConfigurationOperator": {"type": "object"},
    "nicFeatureDiscovery": {"type": "object"},
    "nodeAffinity": {"type": "object"},
    "ofedDriver": {"type": "object"},
    "spectrumXOperator": {"type": "object"},
    "tolerations": {"type": "array", "items": {"type": "object"}},
}


def nic_cluster_policy_schema(release: OperatorRelease) -> dict[str, Any]:
    """The NicClusterPolicy of one Network Operator release, strict (unknown fields refused, as
    `kubectl apply --validate=strict` does), for the sections dualnet writes."""
    secondary = {
        "cniPlugins": _image_spec(release),
        "ipoib": _image_spec(release),
        "multus": _image_spec(release, config=_STR),
    }
    if release.ipam_plugin:
        secondary["ipamPlugin"] = _image_spec(release)
    others = dict(_OTHER_SECTIONS)
    if release.key < (25, 7):
        del others["deploymentNodeAffinity"], others["deploymentTolerations"]
    if release.key >= (26, 4):
        others["global"] = {
            "type": "object",
            "properties": {"imagePullSecrets": {"type": "array", "items": _STR},
                           "repository": _STR, "version": _STR},
            "additionalProperties": False,
        }
    return _root({
        "type": "object",
        "properties": {
            "rdmaSharedDevicePlugin": _image_spec(release, config=_STR,
                                                  useCdi={"type": "boolean"}),
            "sriovDevicePlugin": _image_spec(release, config=_STR, useCdi={"type": "boolean"}),
            "nvIpam": _image_spec(release, enableWebhook={"type": "boolean"}),
            "secondaryNetwork": {
                "type": "object",
                "properties": secondary,
                "additionalProperties": False,
            },
            **others,
        },
        "additionalProperties": False,
    })


_STRS: dict[str, Any] = {"type": "array", "items": _STR}
# The SR-IOV DRA driver's CRDs (k8snetworkplumbingwg/dra-driver-sriov, chart templates): the
# fields dualnet writes, with the linkType enum; the tests check the objects against the
# upstream CRDs themselves.
SRIOV_RESOURCE_POLICY_SCHEMA = _root({
    "type": "object",
    "properties": {
        "nodeSelector": {"type": "object", "required": ["nodeSelectorTerms"]},
        "configs": {"type": "array", "items": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "deviceAttributesSelector": {"type": "object"},
                "resourceFilters": {"type": "array", "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        **{k: _STRS for k in ("vendors", "devices", "pciAddresses", "pfNames",
                                              "pfPciAddresses", "drivers")},
                        "linkType": {"type": "string",
                                     "enum": ["eth", "ib", "ethernet", "infiniband"]},
                    },
                }},
            },
        }},
    },
}, required_spec=True)
DEVICE_ATTRIBUTES_SCHEMA = _root({
    "type": "object",
    "properties": {"attributes": {"type": "object", "additionalProperties": {
        "type": "object", "additionalProperties": False,
        "properties": {"bool": {"type": "boolean"}, "int": {"type": "integer"}, "string": _STR,
                       "version": _STR}}}},
}, required_spec=True)

_COMMON_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("k8s.cni.cncf.io/v1", "NetworkAttachmentDefinition"): NAD_SCHEMA,
    ("whereabouts.cni.cncf.io/v1alpha1", "IPPool"): IPPOOL_SCHEMA,
    ("whereabouts.cni.cncf.io/v1alpha1", "OverlappingRangeIPReservation"): OVERLAPPING_SCHEMA,
    ("mellanox.com/v1alpha1", "MacvlanNetwork"): MACVLAN_NETWORK_SCHEMA,
    ("mellanox.com/v1alpha1", "HostDeviceNetwork"): HOST_DEVICE_NETWORK_SCHEMA,
    ("mellanox.com/v1alpha1", "IPoIBNetwork"): IPOIB_NETWORK_SCHEMA,
    ("sriovnetwork.k8snetworkplumbingwg.io/v1alpha1", "SriovResourcePolicy"):
        SRIOV_RESOURCE_POLICY_SCHEMA,
    ("sriovnetwork.k8snetworkplumbingwg.io/v1alpha1", "DeviceAttributes"):
        DEVICE_ATTRIBUTES_SCHEMA,
}


def cr_schemas(release: OperatorRelease) -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> schema of the whole object, for one Network Operator release."""
    return {**_COMMON_SCHEMAS,
            ("mellanox.com/v1alpha1", "NicClusterPolicy"): nic_cluster_policy_schema(release)}


# Kinds that are cluster-scoped (no metadata.namespace).
CLUSTER_SCOPED = {
    "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "Namespace",
    "MacvlanNetwork", "HostDeviceNetwork", "IPoIBNetwork", "NicClusterPolicy",
}


def crd_object(
    *,
    group: str,
    version: str,
    kind: str,
    plural: str,
    singular: str,
    schema: dict[str, Any],
    short_names: list[str] | None = None,
    scope: str = "Namespaced",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    names: dict[str, Any] = {"kind": kind, "listKind": f"{kind}List", "plural": plural,
                             "singular": singular}
    if short_names:
        names["shortNames"] = short_names
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}", "labels": labels or {}},
        "spec": {
            "group": group,
            "names": names,
            "scope": scope,
            "versions": [{
                "name": version,
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": schema},
            }],
        },
    }
