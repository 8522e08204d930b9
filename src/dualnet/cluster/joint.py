"""Objects that every training network renders under the same name: the RDMA shared device
plugin's `rdma-devices` ConfigMap, the SR-IOV device plugin's `sriovdp-config`, and the Network
Operator's single `nic-cluster-policy`. Each plugin reads one config, with a list of resources
(configList / resourceList), so applying one network's object as it is would drop the others'.

Such an object is owned jointly: its `dualnet.io/network` label says JOINT_NETWORK, and the
OWNERS annotation maps each network to the resource names it put in. Applying a network keeps
the other networks' entries and replaces its own; pruning it takes its own out and deletes the
object only when no network is left. Two networks may name the same resource only with the same
entry. Pure functions: apply reads and writes, this decides.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from dualnet import labels
from dualnet.errors import UsageError
from dualnet.render.common import to_json

Obj = dict[str, Any]

# not a valid network name (those are DNS-1123), a valid label value
JOINT_NETWORK = "dualnet_joint"
OWNERS_ANNOTATION = "dualnet.io/joint-owners"


@dataclass(frozen=True)
class _Config:
    path: tuple[str, ...]  # to the JSON string
    list_key: str


_JOINT: dict[tuple[str, str], tuple[_Config, ...]] = {
    ("ConfigMap", "rdma-devices"): (_Config(("data", "config.json"), "configList"),),
    ("ConfigMap", "sriovdp-config"): (_Config(("data", "config.json"), "resourceList"),),
    ("NicClusterPolicy", "nic-cluster-policy"): (
        _Config(("spec", "rdmaSharedDevicePlugin", "config"), "configList"),
        _Config(("spec", "sriovDevicePlugin", "config"), "resourceList"),
    ),
}


def is_joint(obj: Obj) -> bool:
    return (str(obj.get("kind")), str((obj.get("metadata") or {}).get("name"))) in _JOINT


def joint_kinds() -> set[str]:
    return {kind for kind, _ in _JOINT}


def owners(live: Obj | None) -> dict[str, list[str]]:
    """network -> the resource names it owns in `live`. An object written before joint
    ownership (one network's label, no annotation) belongs wholly to that network."""
    if live is None:
        return {}
    meta = live.get("metadata") or {}
    text = (meta.get("annotations") or {}).get(OWNERS_ANNOTATION)
    if text:
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            return {str(k): [str(x) for x in v] for k, v in data.items() if isinstance(v, list)}
    net = (meta.get("labels") or {}).get(labels.NETWORK)
    if not net or net == JOINT_NETWORK:
        return {}
    return {net: sorted(_entries(live, _JOINT.get(_key(live), ())).keys())}


def _key(obj: Obj) -> tuple[str, str]:
    return str(obj.get("kind")), str((obj.get("metadata") or {}).get("name"))


def _get(obj: Obj | None, path: tuple[str, ...]) -> Any:
    node: Any = obj
    for p in path:
        if not isinstance(node, dict):
            return None
        node = node.get(p)
    return node


def _set(obj: Obj, path: tuple[str, ...], value: Any) -> None:
    node = obj
    for p in path[:-1]:
        node = node.setdefault(p, {})
    node[path[-1]] = value


def _doc(obj: Obj | None, cfg: _Config) -> dict[str, Any] | None:
    text = _get(obj, cfg.path)
    if not isinstance(text, str):
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def _entries(obj: Obj | None, configs: tuple[_Config, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for cfg in configs:
        doc = _doc(obj, cfg) or {}
        for e in doc.get(cfg.list_key) or []:
            if isinstance(e, dict) and isinstance(e.get("resourceName"), str):
                out[e["resourceName"]] = e
    return out


def _where(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{obj.get('kind')} {ns + '/' if ns else ''}{meta.get('name')}"


def _with_owners(obj: Obj, table: dict[str, list[str]]) -> Obj:
    meta = obj.setdefault("metadata", {})
    meta["labels"] = {**(meta.get("labels") or {}), labels.NETWORK: JOINT_NETWORK}
    meta["annotations"] = {**(meta.get("annotations") or {}),
                           OWNERS_ANNOTATION: json.dumps(dict(sorted(table.items())),
                                                         separators=(",", ":"))}
    return obj


def merge(live: Obj | None, desired: Obj, network: str) -> Obj:
    """`desired` (one network's object) with the other networks' entries of `live` kept."""
    configs = _JOINT[_key(desired)]
    table = {n: names for n, names in owners(live).items() if n != network}
    theirs = {name for names in table.values() for name in names}
    out = copy.deepcopy(desired)
    if out.get("kind") == "NicClusterPolicy" and live is not None:
        # sections another network needs (ipoib, a device plugin) stay; this network's win
        spec = dict(live.get("spec") or {})
        for key, value in (out.get("spec") or {}).items():
            if key == "secondaryNetwork" and isinstance(spec.get(key), dict):
                spec[key] = {**spec[key], **value}
            else:
                spec[key] = value
        out["spec"] = spec
    mine: list[str] = []
    for cfg in configs:
        doc = _doc(desired, cfg)
        wanted = [e for e in (doc or {}).get(cfg.list_key) or [] if isinstance(e, dict)]
        live_doc = _doc(live, cfg) or {}
        present = {str(e.get("resourceName")): e for e in live_doc.get(cfg.list_key) or []
                   if isinstance(e, dict)}
        for e in wanted:
            name = str(e.get("resourceName"))
            if name in theirs and present.get(name) != e:
                users = sorted(n for n, names in table.items() if name in names)
                raise UsageError(
                    f"{_where(desired)}: resource {name!r} of network {network} is already "
                    f"defined differently by network {', '.join(users)}: the plugin reads one "
                    "config, so one name cannot mean two device sets",
                    hint="give this network its own spec.resourceName (or the same selectors)",
                )
            mine.append(name)
        wanted_names = {str(e.get("resourceName")) for e in wanted}
        kept = [present[n] for n in sorted(theirs - wanted_names) if n in present]
        if not wanted and not kept:
            if doc is None and len(cfg.path) > 2:
                # a NicClusterPolicy section only this network's old entries needed
                section = _get(out, cfg.path[:-1])
                if isinstance(section, dict):
                    _get(out, cfg.path[:-2]).pop(cfg.path[-2], None)
            continue
        base = doc if doc is not None else live_doc
        merged = sorted([*kept, *wanted], key=lambda e: str(e.get("resourceName")))
        _set(out, cfg.path, to_json({**base, cfg.list_key: merged}))
    # a network that renders the object owns it, with or without entries of its own
    table[network] = sorted(set(mine))
    return _with_owners(out, table)


def release(live: Obj, network: str) -> Obj | None:
    """`live` without `network`'s entries; None when no network is left (delete it)."""
    table = owners(live)
    if network not in table:
        return live
    del table[network]
    if not table:
        return None
    configs = _JOINT[_key(live)]
    keep = {name for names in table.values() for name in names}
    out = copy.deepcopy(live)
    for cfg in configs:
        doc = _doc(out, cfg)
        if doc is None:
            continue
        doc[cfg.list_key] = [e for e in doc.get(cfg.list_key) or []
                             if isinstance(e, dict) and e.get("resourceName") in keep]
        _set(out, cfg.path, to_json(doc))
    return _with_owners(out, table)
