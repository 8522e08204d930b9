"""CRDs generated from the pydantic models: one schema for the CLI spec and the custom resource.

The API server accepts only *structural* schemas (every node typed, no $ref, no anyOf with types
in the branches, no `additionalProperties: false`, OpenAPI 3.0's boolean exclusiveMinimum). Pydantic
emits JSON Schema 2020-12, so `structural()` rewrites one into the other. The YAML committed in
`deploy/crds/` is this module's output; a test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import yaml

from dualnet.operator.models import (
    GROUP,
    NODE_REPORT_KIND,
    NODE_REPORT_PLURAL,
    TRAINING_NETWORK_KIND,
    TRAINING_NETWORK_PLURAL,
    VERSION,
    NodeReportStatus,
    TrainingNetworkStatus,
)

Schema = dict[str, Any]

# Keywords a structural schema may carry as they are.
_KEEP = ("description", "pattern", "minLength", "maxLength", "minItems", "maxItems", "minimum",
         "maximum", "multipleOf", "required", "enum", "nullable", "maxProperties",
         "minProperties")
# Formats the API server knows; others (pydantic's "path", "ipvanyaddress", ...) are dropped
# rather than silently ignored by the server.
_FORMATS = frozenset({"int32", "int64", "float", "double", "byte", "date", "date-time",
                      "password", "uri", "email", "hostname", "ipv4", "ipv6", "cidr", "uuid",
                      "duration"})
_JSON_TYPES: dict[type, str] = {bool: "boolean", int: "integer", float: "number", str: "string"}


class SchemaError(ValueError):
    """The JSON schema uses something with no structural equivalent."""


def _resolve(ref: str, defs: Mapping[str, Schema]) -> Schema:
    prefix = "#/$defs/"
    if not ref.startswith(prefix) or ref[len(prefix):] not in defs:
        raise SchemaError(f"unresolvable $ref {ref!r}")
    return defs[ref[len(prefix):]]


def _value_type(values: list[Any]) -> str | None:
    types = {_JSON_TYPES.get(type(v)) for v in values if v is not None}
    return types.pop() if len(types) == 1 else None


def _merge_objects(branches: list[Schema]) -> Schema:
    """anyOf/oneOf of objects: one object with the union of properties (validation of the exact
    branch is left to parse_spec, which runs on every reconcile anyway)."""
    props: dict[str, Schema] = {}
    for b in branches:
        props.update(b.get("properties", {}))
    merged: Schema = {"type": "object"}
    if props:
        merged["properties"] = props
    else:
        merged["x-kubernetes-preserve-unknown-fields"] = True
    return merged


def structural(schema: Schema, defs: Mapping[str, Schema] | None = None,
               _depth: int = 0) -> Schema:
    """Rewrite one pydantic JSON-schema node (and its children) into a structural schema."""
    if _depth > 64:
        raise SchemaError("schema nests deeper than 64 levels (recursive model?)")
    defs = {**(defs or {}), **schema.get("$defs", {})}

    def sub(node: Schema) -> Schema:
        return structural(node, defs, _depth + 1)

    if "$ref" in schema:
        target = dict(_resolve(schema["$ref"], defs))
        target.update({k: v for k, v in schema.items() if k != "$ref"})
        return sub(target)
    if "allOf" in schema and len(schema["allOf"]) == 1:
        base = {k: v for k, v in schema.items() if k != "allOf"}
        return sub({**schema["allOf"][0], **base})

    out: Schema = {}
    for key in ("anyOf", "oneOf"):
        if key not in schema:
            continue
        branches = [b for b in schema[key] if b.get("type") != "null"]
        nullable = len(branches) < len(schema[key])
        resolved = [sub(b) for b in branches]
        types = {r.get("type") for r in resolved}
        if len(resolved) == 1:
            out = resolved[0]
        elif types == {"object"}:
            out = _merge_objects(resolved)
        elif types <= {"integer", "string"} and None not in types:
            out = {"x-kubernetes-int-or-string": True}
        elif len(types) == 1 and None not in types:
            out = {"type": types.pop()}
            enums = [e for r in resolved for e in r.get("enum", [])]
            if enums and all("enum" in r for r in resolved):
                out["enum"] = enums
        else:
            out = {"x-kubernetes-preserve-unknown-fields": True}
        if nullable:
            out["nullable"] = True
        if "description" in schema:
            out["description"] = " ".join(str(schema["description"]).split())
        return out

    typ = schema.get("type")
    if isinstance(typ, list):
        non_null = [t for t in typ if t != "null"]
        if "null" in typ:
            out["nullable"] = True
        typ = non_null[0] if len(non_null) == 1 else None
    if "const" in schema:
        out["enum"] = [schema["const"]]
        typ = typ or _value_type([schema["const"]])
    if "enum" in schema:
        typ = typ or _value_type(schema["enum"])
    for k in _KEEP:
        if k in schema:
            out[k] = schema[k]
    if "description" in out:  # docstrings wrap; one line reads better in `kubectl explain`
        out["description"] = " ".join(str(out["description"]).split())
    if isinstance(schema.get("exclusiveMinimum"), int | float):
        out["minimum"], out["exclusiveMinimum"] = schema["exclusiveMinimum"], True
    if isinstance(schema.get("exclusiveMaximum"), int | float):
        out["maximum"], out["exclusiveMaximum"] = schema["exclusiveMaximum"], True
    if schema.get("format") in _FORMATS:
        out["format"] = schema["format"]

    if typ == "object" or "properties" in schema:
        out["type"] = "object"
        props = schema.get("properties", {})
        if props:
            out["properties"] = {name: sub(p) for name, p in props.items()}
        extra = schema.get("additionalProperties")
        if not props and isinstance(extra, dict):
            out["additionalProperties"] = sub(extra) if extra else {
                "x-kubernetes-preserve-unknown-fields": True}
        elif not props and extra is not False:
            out["x-kubernetes-preserve-unknown-fields"] = True
    elif typ == "array":
        out["type"] = "array"
        items = schema.get("items")
        if isinstance(items, dict) and items:
            out["items"] = sub(items)
        else:  # tuples (prefixItems) and list[Any] hold anything
            out["items"] = {"x-kubernetes-preserve-unknown-fields": True}
    elif typ in ("string", "integer", "number", "boolean"):
        out["type"] = typ
    elif typ is None and "enum" not in out:
        # Any: the API server keeps it as it is.
        out["x-kubernetes-preserve-unknown-fields"] = True
    return out


def _root_schema(spec: Schema | None, status: Schema) -> Schema:
    props: dict[str, Schema] = {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
    }
    root: Schema = {"type": "object", "properties": props}
    if spec is not None:
        props["spec"] = spec
        root["required"] = ["spec"]
    props["status"] = status
    return root


def _crd(kind: str, plural: str, short: list[str], root: Schema,
         columns: list[dict[str, Any]], *, status_subresource: bool) -> dict[str, Any]:
    version: dict[str, Any] = {
        "name": VERSION,
        "served": True,
        "storage": True,
        "schema": {"openAPIV3Schema": root},
        "additionalPrinterColumns": columns,
    }
    if status_subresource:
        version["subresources"] = {"status": {}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.{GROUP}",
            "labels": {"app.kubernetes.io/part-of": "dualnet"},
        },
        "spec": {
            "group": GROUP,
            "scope": "Cluster",
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": short,
                "categories": ["dualnet"],
            },
            "versions": [version],
        },
    }


def _spec_schema(spec_json_schema: Callable[[], Schema] | None) -> Schema:
    if spec_json_schema is None:
        # The plan layer's one schema, taken raw from pydantic rather than through
        # dualnet.spec.spec_json_schema(): that one folds Optional into its inner type for editors,
        # and the CRD must keep it as `nullable: true` so `mtu: null` is accepted as the CLI does.
        from dualnet.spec import Spec

        full = Spec.model_json_schema(by_alias=True)
    else:
        full = spec_json_schema()
    converted = structural(full)
    # The CLI's spec file may be a whole document (apiVersion/kind/metadata/spec); the CR's spec
    # is its `spec` part.
    props = converted.get("properties", {})
    if "spec" in props and "kind" in props:
        return dict(props["spec"])
    return converted


def crd_for_training_network(
    spec_json_schema: Callable[[], Schema] | None = None,
) -> dict[str, Any]:
    """The TrainingNetwork CRD: spec = the CLI spec's schema, status = TrainingNetworkStatus."""
    status = structural(TrainingNetworkStatus.model_json_schema(by_alias=True))
    root = _root_schema(_spec_schema(spec_json_schema), status)
    cond = '.status.conditions[?(@.type=="{}")]'
    columns: list[dict[str, Any]] = [
        {"name": "Matched", "type": "integer", "jsonPath": ".status.totalNodes",
         "description": "nodes with a NodeReport"},
        {"name": "Ready", "type": "integer", "jsonPath": ".status.readyNodes"},
        {"name": "Progressing", "type": "string",
         "jsonPath": cond.format("Progressing") + ".status"},
        {"name": "Degraded", "type": "string", "jsonPath": cond.format("Degraded") + ".status"},
        {"name": "Reason", "type": "string", "jsonPath": cond.format("Ready") + ".reason",
         "priority": 1},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    return _crd(TRAINING_NETWORK_KIND, TRAINING_NETWORK_PLURAL, ["tn", "trainnet"], root,
                columns, status_subresource=True)


def crd_for_node_report() -> dict[str, Any]:
    """The NodeReport CRD. No status subresource: the whole object is observed state that the
    node's agent writes in one server-side apply."""
    status = structural(NodeReportStatus.model_json_schema(by_alias=True))
    # Conditions merge by type under server-side apply: the agent owns Ready/Degraded (and Stale
    # when it publishes), the operator the Stale it sets when the agent goes silent.
    status["properties"]["conditions"].update({"x-kubernetes-list-type": "map",
                                               "x-kubernetes-list-map-keys": ["type"]})
    root = _root_schema(None, status)
    cond = '.status.conditions[?(@.type=="{}")]'
    columns: list[dict[str, Any]] = [
        {"name": "Node", "type": "string", "jsonPath": ".status.nodeName"},
        {"name": "Ready", "type": "string", "jsonPath": cond.format("Ready") + ".status"},
        {"name": "Reason", "type": "string", "jsonPath": cond.format("Ready") + ".reason"},
        {"name": "Rails", "type": "string", "jsonPath": ".status.rails",
         "description": "ACTIVE RDMA ports / RDMA ports"},
        {"name": "Mode", "type": "string", "jsonPath": ".status.mode"},
        {"name": "NetNS", "type": "string", "jsonPath": ".status.facts.netnsMode"},
        {"name": "Heartbeat", "type": "date", "jsonPath": ".status.heartbeatTime"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        {"name": "Stale", "type": "string", "jsonPath": cond.format("Stale") + ".status",
         "priority": 1},
        {"name": "Message", "type": "string", "jsonPath": ".status.message", "priority": 1},
    ]
    return _crd(NODE_REPORT_KIND, NODE_REPORT_PLURAL, ["nr", "nodereport"], root, columns,
                status_subresource=False)


def all_crds(spec_json_schema: Callable[[], Schema] | None = None) -> dict[str, dict[str, Any]]:
    """file name in deploy/crds -> CRD object."""
    return {
        f"{TRAINING_NETWORK_PLURAL}.{GROUP}.yaml": crd_for_training_network(spec_json_schema),
        f"{NODE_REPORT_PLURAL}.{GROUP}.yaml": crd_for_node_report(),
    }


def to_yaml(obj: Mapping[str, Any]) -> str:
    header = "# GENERATED by `dualnet operator crds --write deploy/crds` from pydantic models.\n"
    header += "# Do not edit by hand: a test compares this file with the generator's output.\n"
    return header + yaml.safe_dump(dict(obj), sort_keys=False, width=100)
