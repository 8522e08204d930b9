"""Kubernetes objects as plain dicts: identity, ownership, and the live-vs-desired comparison
that keeps a second apply from writing anything. All pure. Reading `dualnet render` output back
is `dualnet.render.reader`'s job (re-exported here for the cluster verbs)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from dualnet import labels
from dualnet.errors import UsageError
from dualnet.render.reader import load_objects as load_objects
from dualnet.render.reader import parse_yaml_stream as parse_yaml_stream

Obj = dict[str, Any]

# Apply order: what others depend on first (kubectl/helm use the same idea). Unlisted kinds go
# between the configuration kinds and the workloads.
_KIND_ORDER = [
    "Namespace",
    "CustomResourceDefinition",
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "ConfigMap",
    "Secret",
    "NetworkAttachmentDefinition",
    "Service",
]
_WORKLOAD_ORDER = ["DaemonSet", "Deployment", "StatefulSet", "Job", "MPIJob", "Pod"]


class ObjectKey(NamedTuple):
    api_version: str
    kind: str
    namespace: str | None
    name: str

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


def as_dict(obj: Any) -> Obj:
    """A lightkube object (or a plain mapping) as a plain dict, as the rest of dualnet uses them."""
    return dict(obj.to_dict() if hasattr(obj, "to_dict") else obj)


def kind_rank(kind: str) -> int:
    if kind in _KIND_ORDER:
        return _KIND_ORDER.index(kind)
    if kind in _WORKLOAD_ORDER:
        return 100 + _WORKLOAD_ORDER.index(kind)
    return 50


def sort_for_apply(objects: Iterable[Obj]) -> list[Obj]:
    return sorted(objects, key=lambda o: kind_rank(str(o.get("kind", ""))))


def obj_labels(obj: Mapping[str, Any]) -> dict[str, str]:
    meta = obj.get("metadata") or {}
    found = meta.get("labels") or {}
    return {str(k): str(v) for k, v in found.items()}


def is_owned(obj: Mapping[str, Any]) -> bool:
    """dualnet modifies or deletes an object only when it carries managed-by=dualnet."""
    return obj_labels(obj).get(labels.MANAGED_BY) == labels.MANAGED_BY_VALUE


def with_ownership(obj: Obj, network: str | None) -> Obj:
    """A copy of `obj` carrying dualnet's ownership labels; the role label is kept if present."""
    own = obj_labels(obj)
    net = network or own.get(labels.NETWORK)
    if not net:
        raise UsageError(
            f"{obj.get('kind')} {obj.get('metadata', {}).get('name')}: no "
            f"{labels.NETWORK} label and no --network given",
            hint="apply the output of `dualnet render` (it labels every object), or pass --network",
        )
    role = own.get(labels.ROLE, "component")
    out = dict(obj)
    meta = dict(out.get("metadata") or {})
    meta["labels"] = {**own, **labels.owned_labels(net, role)}
    out["metadata"] = meta
    return out


def _empty(value: Any) -> bool:
    return value is None or value == {} or value == [] or value == ""


def is_subset(desired: Any, live: Any) -> bool:
    """True when every field set in `desired` has the same value in `live`.

    The API server adds defaults and status, so equality would never hold; a desired field the
    server dropped because it is empty (`{}`, `[]`, null) counts as equal to an absent one.
    Lists compare element by element: their order is meaningful in Kubernetes objects.
    """
    if isinstance(desired, Mapping):
        if not isinstance(live, Mapping):
            return _empty(live) and all(_empty(v) for v in desired.values())
        for k, v in desired.items():
            if k not in live:
                # Go's omitempty drops empty values, false and 0 from what the server returns
                if not (_empty(v) or v is False or (type(v) is int and v == 0)):
                    return False
                continue
            if not is_subset(v, live[k]):
                return False
        return True
    if isinstance(desired, list):
        if not isinstance(live, list):
            return _empty(live) and not desired
        return len(desired) == len(live) and all(
            is_subset(d, lv) for d, lv in zip(desired, live, strict=True)
        )
    if isinstance(desired, bool) or isinstance(live, bool):
        return desired is live or desired == live
    if isinstance(desired, int | float) and isinstance(live, int | float):
        return float(desired) == float(live)
    if desired == live:
        return True
    # Quantities: the server stores `rdma/x: 1` as "1" and "1000m" as "1".
    both_text = isinstance(desired, str) and isinstance(live, str)
    with_unit = both_text and (str(desired)[-1:].isalpha() or str(live)[-1:].isalpha())
    if isinstance(desired, int | float | str) and isinstance(live, int | float | str) and (
        not both_text or with_unit
    ):
        dq, lq = quantity(desired), quantity(live)
        return dq is not None and dq == lq
    return False


_QUANTITY = re.compile(r"[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?")
_SUFFIX = {"m": Decimal("0.001"), "k": Decimal(10) ** 3, "M": Decimal(10) ** 6,
           "G": Decimal(10) ** 9, "T": Decimal(10) ** 12, "P": Decimal(10) ** 15,
           "E": Decimal(10) ** 18, "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20,
           "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40, "Pi": Decimal(2) ** 50,
           "Ei": Decimal(2) ** 60}


def quantity(value: int | float | str) -> Decimal | None:
    """A Kubernetes quantity ("500m", "1Gi", 2) as a number; None when it is not one."""
    if isinstance(value, int | float):
        return Decimal(str(value))
    text = value.strip()
    if not _QUANTITY.fullmatch(text):
        return None
    for suffix in ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "m", "k", "M", "G", "T", "P", "E"):
        if text.endswith(suffix):
            return Decimal(text[: -len(suffix)]) * _SUFFIX[suffix]
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def comparable(obj: Mapping[str, Any]) -> Obj:
    """What of a desired object to compare with the live one: no status, no server-owned meta."""
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = {
        k: v
        for k, v in (obj.get("metadata") or {}).items()
        if k not in {"resourceVersion", "uid", "generation", "creationTimestamp", "managedFields"}
    }
    out["metadata"] = meta
    return out


def _managed_by(live: Mapping[str, Any], manager: str) -> list[Mapping[str, Any]]:
    """The fieldsV1 sets `manager` owns through server-side apply on the main resource."""
    entries = (live.get("metadata") or {}).get("managedFields") or []
    return [
        e["fieldsV1"] for e in entries
        if isinstance(e, Mapping) and e.get("manager") == manager
        and e.get("operation") == "Apply" and not e.get("subresource")
        and e.get("fieldsType", "FieldsV1") == "FieldsV1" and isinstance(e.get("fieldsV1"), Mapping)
    ]


def _key_matches(item: Any, key: Mapping[str, Any]) -> bool:
    # A key field the applied item leaves out was defaulted by the server (ports' protocol).
    return isinstance(item, Mapping) and all(k not in item or item[k] == v for k, v in key.items())


def _unrendered(fields: Mapping[str, Any], desired: Any, path: str) -> list[str]:
    out: list[str] = []
    for raw_key, sub in fields.items():
        kind, _, name = str(raw_key).partition(":")
        here = f"{path}.{name}" if path else name
        if kind == "f":
            if not isinstance(desired, Mapping) or name not in desired:
                out.append(here)
            elif isinstance(sub, Mapping) and sub:
                out.extend(_unrendered(sub, desired[name], here))
        elif kind in ("k", "v"):
            try:
                value = json.loads(name)
            except ValueError:
                continue  # not a form this reads: never a reason to write
            items = desired if isinstance(desired, list) else []
            if kind == "v":
                if value not in items:
                    out.append(f"{path}[{name}]")
                continue
            if not isinstance(value, Mapping):
                continue
            match = next((i for i in items if _key_matches(i, value)), None)
            if match is None:
                out.append(f"{path}[{name}]")
            elif isinstance(sub, Mapping):
                out.extend(_unrendered(sub, match, f"{path}[{name}]"))
        # ".", "i:" (by index) and unknown forms: nothing to compare
    return out


def unrendered_owned_fields(live: Mapping[str, Any], desired: Mapping[str, Any],
                            manager: str = labels.FIELD_MANAGER) -> list[str]:
    """Fields `manager` owns on `live` (its server-side apply entry in metadata.managedFields)
    that `desired` no longer sets. Applying `desired` removes them; comparing values alone would
    never notice a field that was taken out of the rendered object. Empty when the server keeps
    no managedFields (nothing to go on: no write is forced)."""
    found: list[str] = []
    for fields in _managed_by(live, manager):
        found.extend(p for p in _unrendered(fields, desired, "") if p not in found)
    return found
