"""Validation of rendered objects before anything is written.

* built-in kinds: the Kubernetes OpenAPI schema of the chosen version, from the schemas bundled
  with `kubernetes-validate` (offline; strict mode, so unknown fields fail);
* custom resources: the CRD schemas in `crds.py` (NicClusterPolicy: of the chosen Network
  Operator release);
* NADs: the CNI config inside `spec.config` (cni_check), and the resourceName annotation;
* device plugin configs (ConfigMaps and NicClusterPolicy strings): the rules of the plugins' code.
"""

from __future__ import annotations

import functools
import json
import re
from importlib.resources import files
from typing import Any

import jsonschema  # type: ignore[import-untyped]
from kubernetes_validate.utils import all_versions, major_minor
from referencing import Registry, Resource

from dualnet.errors import DualnetError, UsageError
from dualnet.labels import RESOURCE_NAME_ANNOTATION
from dualnet.render.cni_check import check_cni_config
from dualnet.render.crds import CLUSTER_SCOPED, cr_schemas
from dualnet.render.dra_sriov import resource_name_problems
from dualnet.render.operator_versions import DEFAULT_OPERATOR_VERSION, operator_release

DEFAULT_K8S_VERSION = "1.34"  # the guide's k3s v1.34.6
_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
_SHARED_RES = re.compile(r"^[a-zA-Z0-9_]+$")
_SRIOV_RES = re.compile(r"^[a-zA-Z0-9_-]+$")
_SHARED_SELECTORS = {"vendors", "deviceIDs", "drivers", "ifNames", "linkTypes"}
_SRIOV_SELECTORS = {"vendors", "devices", "drivers", "pciAddresses", "acpiIndexes", "pfNames",
                    "rootDevices", "linkTypes", "ddpProfiles", "pKeys", "isRdma", "needVhostNet",
                    "vdpaType"}


class ObjectValidationError(DualnetError):
    """A rendered object does not validate; the message lists object, field and reason."""

    exit_code = 1

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            f"{len(problems)} rendered object problem(s):\n  " + "\n  ".join(problems),
            hint="nothing was written",
        )


def supported_k8s_versions() -> list[str]:
    """Kubernetes minor versions whose OpenAPI schemas kubernetes-validate bundles."""
    return sorted({major_minor(v) for v in all_versions()},
                  key=lambda v: tuple(int(x) for x in v.split(".")))


def check_k8s_version(version: str) -> str:
    v = version.removeprefix("v")
    if not re.fullmatch(r"\d+\.\d+(\.\d+)?", v) or major_minor(v) not in supported_k8s_versions():
        vs = supported_k8s_versions()
        raise UsageError(f"--k8s-version: {version!r} has no bundled schema",
                         hint=f"one of {vs[0]} .. {vs[-1]}")
    return str(major_minor(v))


@functools.cache
def _definitions(schema_dir: str) -> Any:
    base = files("kubernetes_validate") / "kubernetes-json-schema" / schema_dir
    return json.loads((base / "_definitions.json").read_text(encoding="utf-8"))


@functools.cache
def _k8s_validator(version: str, api_version: str, kind: str) -> Any:
    """A cached validator for one kind, from kubernetes-validate's bundled strict schemas (the
    same files and resolution `kubernetes_validate.validate` uses, loaded once instead of per
    object). None when the version has no schema for the kind."""
    full = next(v for v in reversed(all_versions()) if major_minor(v) == version)
    schema_dir = f"v{full}-local-strict"
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = files("kubernetes_validate") / "kubernetes-json-schema" / schema_dir / (
        f"{kind.lower()}-{group}.json")
    if not path.is_file():
        return None
    schema = json.loads(path.read_text(encoding="utf-8"))
    registry: Registry[Any] = Resource.from_contents(schema) @ Registry()
    registry = Resource.from_contents(_definitions(schema_dir)) @ registry
    return jsonschema.Draft202012Validator(schema, registry=registry)


def object_id(obj: dict[str, Any]) -> str:
    md = obj.get("metadata", {}) if isinstance(obj.get("metadata"), dict) else {}
    ns = md.get("namespace")
    name = md.get("name", "?")
    return f"{obj.get('kind', '?')} {ns + '/' if ns else ''}{name}"


def _path(parts: Any) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else ("." if out else "") + str(p)
    return out or "(object)"


def _check_shared_dp(cfg: Any) -> list[str]:
    if not isinstance(cfg, dict) or not isinstance(cfg.get("configList"), list) or not cfg[
        "configList"
    ]:
        return ["configList: must be a non-empty list"]
    problems: list[str] = []
    seen: set[str] = set()
    for i, e in enumerate(cfg["configList"]):
        p = f"configList[{i}]"
        name = e.get("resourceName", "")
        if not _SHARED_RES.match(name):
            problems.append(f"{p}.resourceName: {name!r} must match ^[a-zA-Z0-9_]+$")
        if name in seen:
            problems.append(f"{p}.resourceName: {name!r} is not unique")
        seen.add(name)
        hca = e.get("rdmaHcaMax")
        if not isinstance(hca, int) or hca < 1:
            problems.append(f"{p}.rdmaHcaMax: {hca!r}: must be set and > 0 (0 advertises "
                            "no devices)")
        sel = e.get("selectors")
        if not isinstance(sel, dict) or not sel:
            problems.append(f"{p}.selectors: required")
            continue
        for k in sorted(set(sel) - _SHARED_SELECTORS):
            problems.append(f"{p}.selectors.{k}: unknown selector (shared plugin uses "
                            "deviceIDs, not devices)" if k == "devices" else
                            f"{p}.selectors.{k}: unknown selector")
        for k in ("vendors", "deviceIDs"):
            for v in sel.get(k, []):
                if not re.fullmatch(r"[0-9a-f]{4}", str(v)):
                    problems.append(f"{p}.selectors.{k}: {v!r} never matches (lowercase 4-digit "
                                    "hex, no 0x)")
    return problems


def _check_sriov_dp(cfg: Any) -> list[str]:
    if not isinstance(cfg, dict) or not isinstance(cfg.get("resourceList"), list) or not cfg[
        "resourceList"
    ]:
        return ["resourceList: must be a non-empty list"]
    problems: list[str] = []
    for i, e in enumerate(cfg["resourceList"]):
        p = f"resourceList[{i}]"
        name = e.get("resourceName", "")
        if not _SRIOV_RES.match(name):
            problems.append(f"{p}.resourceName: {name!r} must match ^[a-zA-Z0-9_-]+$")
        sels = e.get("selectors")
        if isinstance(sels, dict):
            sels = [sels]
        if not isinstance(sels, list) or not sels:
            problems.append(f"{p}.selectors: required (a non-empty list)")
            continue
        for j, sel in enumerate(sels):
            for k in sorted(set(sel) - _SRIOV_SELECTORS):
                problems.append(f"{p}.selectors[{j}].{k}: unknown selector")
            if "mlx5_ib" in sel.get("drivers", []):
                problems.append(f"{p}.selectors[{j}].drivers: mlx5_ib is the RDMA provider, not "
                                "the PCI driver; use mlx5_core")
            if sel.get("isRdma") and sel.get("vdpaType"):
                problems.append(f"{p}.selectors[{j}]: isRdma and vdpaType exclude each other")
    return problems


def _json_field(obj: dict[str, Any], where: str, text: Any, checker: Any) -> list[str]:
    try:
        data = json.loads(text)
    except (TypeError, json.JSONDecodeError) as exc:
        return [f"{object_id(obj)}: {where}: not valid JSON ({exc})"]
    return [f"{object_id(obj)}: {where}: {p}" for p in checker(data)]


_DNS1123_LABEL = re.compile(rf"^{_LABEL}$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


def _pod_specs(obj: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    spec = obj.get("spec", {})
    if obj.get("kind") == "Pod":
        return [("spec", spec)]
    tmpl = spec.get("template", {}).get("spec") if isinstance(spec, dict) else None
    return [("spec.template.spec", tmpl)] if isinstance(tmpl, dict) else []


def _names(obj: dict[str, Any]) -> list[str]:
    """What the OpenAPI schema leaves to the API server's own validation: name formats."""
    problems: list[str] = []
    md = obj.get("metadata", {})
    name = md.get("name", "")
    if not isinstance(name, str) or len(name) > 253 or not _DNS1123_SUBDOMAIN.match(name):
        problems.append(f"{object_id(obj)}: metadata.name: {name!r} is not a DNS-1123 subdomain")
    for key, value in (md.get("labels") or {}).items():
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            problems.append(f"{object_id(obj)}: metadata.labels.{key}: {value!r} is not a valid "
                            "label value")
    for where, pod in _pod_specs(obj):
        for group in ("initContainers", "containers"):
            for i, c in enumerate(pod.get(group) or []):
                cname = c.get("name", "")
                if not isinstance(cname, str) or not _DNS1123_LABEL.match(cname) or len(
                    cname
                ) > 63:
                    problems.append(f"{object_id(obj)}: {where}.{group}[{i}].name: {cname!r} is "
                                    "not a DNS-1123 label")
    return problems


def _semantic(obj: dict[str, Any]) -> list[str]:
    kind = obj.get("kind")
    problems = _names(obj)
    if kind == "NetworkAttachmentDefinition":
        md = obj.get("metadata", {})
        res = md.get("annotations", {}).get(RESOURCE_NAME_ANNOTATION)
        if res is not None and not re.fullmatch(r"[a-z0-9.-]+/[a-zA-Z0-9_-]+", res):
            problems.append(f"{object_id(obj)}: metadata.annotations.{RESOURCE_NAME_ANNOTATION}:"
                            f" {res!r} is not <prefix>/<name>")
        config = obj.get("spec", {}).get("config")
        if config is not None:
            problems += _json_field(
                obj, "spec.config", config,
                lambda c: check_cni_config(c, expected_name=md.get("name")),
            )
    elif kind == "ConfigMap":
        name = obj.get("metadata", {}).get("name")
        data = obj.get("data", {})
        if name == "rdma-devices" and "config.json" in data:
            problems += _json_field(obj, "data.config.json", data["config.json"], _check_shared_dp)
        if name == "sriovdp-config" and "config.json" in data:
            problems += _json_field(obj, "data.config.json", data["config.json"], _check_sriov_dp)
    elif kind == "NicClusterPolicy":
        spec = obj.get("spec", {})
        if obj.get("metadata", {}).get("name") != "nic-cluster-policy":
            problems.append(f"{object_id(obj)}: metadata.name: the operator ignores any name but "
                            "nic-cluster-policy")
        if "config" in spec.get("rdmaSharedDevicePlugin", {}):
            problems += _json_field(obj, "spec.rdmaSharedDevicePlugin.config",
                                    spec["rdmaSharedDevicePlugin"]["config"], _check_shared_dp)
        if "config" in spec.get("sriovDevicePlugin", {}):
            problems += _json_field(obj, "spec.sriovDevicePlugin.config",
                                    spec["sriovDevicePlugin"]["config"], _check_sriov_dp)
    elif kind in ("MacvlanNetwork", "HostDeviceNetwork", "IPoIBNetwork"):
        ipam = obj.get("spec", {}).get("ipam")
        if ipam is not None:
            from dualnet.render.cni_check import check_ipam

            problems += _json_field(obj, "spec.ipam", ipam,
                                    lambda d: check_ipam(d, "ipam", "macvlan"))
    return problems


def _check_custom(obj: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(schema)
    problems = [
        f"{object_id(obj)}: {_path(e.absolute_path)}: {e.message}"
        for e in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.path)))
    ]
    md = obj.get("metadata", {})
    scoped = obj.get("kind") in CLUSTER_SCOPED
    if scoped and "namespace" in md:
        problems.append(f"{object_id(obj)}: metadata.namespace: {obj.get('kind')} is "
                        "cluster-scoped")
    if not scoped and not md.get("namespace"):
        problems.append(f"{object_id(obj)}: metadata.namespace: required for a namespaced kind")
    return problems


def validation_problems(
    objects: list[dict[str, Any]], *, k8s_version: str = DEFAULT_K8S_VERSION,
    operator_version: str = DEFAULT_OPERATOR_VERSION,
) -> list[str]:
    """Every problem of every object, as 'Kind ns/name: field: reason' lines."""
    version = check_k8s_version(k8s_version)
    release = operator_release(operator_version)
    schemas = cr_schemas(release)
    problems: list[str] = []
    seen: set[tuple[str, str, str, str]] = set()
    for obj in objects:
        key = (str(obj.get("apiVersion")), str(obj.get("kind")))
        md = obj.get("metadata", {})
        ident = (*key, str(md.get("namespace", "")), str(md.get("name", "")))
        if ident in seen:
            problems.append(f"{object_id(obj)}: rendered twice")
        seen.add(ident)
        schema = schemas.get(key)
        if schema is not None:
            problems += [
                f"{p} (Network Operator {release.name} CRD)" if key[1] == "NicClusterPolicy" else p
                for p in _check_custom(obj, schema)
            ]
        else:
            validator = _k8s_validator(version, *key)
            if validator is None:
                problems.append(f"{object_id(obj)}: no schema for {key[1]} {key[0]} in "
                                f"Kubernetes {version} nor in dualnet's CRDs")
                continue
            error = jsonschema.exceptions.best_match(validator.iter_errors(obj))
            if error is not None:
                problems.append(f"{object_id(obj)}: {_path(error.absolute_path)}: "
                                f"{error.message} (Kubernetes {version} schema)")
        problems += _semantic(obj)
    return problems + resource_name_problems(objects)


def validate_objects(
    objects: list[dict[str, Any]], *, k8s_version: str = DEFAULT_K8S_VERSION,
    operator_version: str = DEFAULT_OPERATOR_VERSION,
) -> None:
    """Raise ObjectValidationError listing every problem; return quietly when all is valid."""
    problems = validation_problems(objects, k8s_version=k8s_version,
                                   operator_version=operator_version)
    if problems:
        raise ObjectValidationError(problems)
