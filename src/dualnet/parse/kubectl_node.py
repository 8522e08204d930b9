"""`kubectl describe node`, `kubectl get node -o yaml|json` (and `jq .status.capacity` pieces)
-> KubeNode: name, labels, capacity, allocatable, allocated requests, conditions.

`describe` is read by its section titles (`Labels:`, `Capacity:`, `Allocatable:`, `Conditions:`,
`Allocated resources:`, ...), not by indentation, which pastes lose; sections dualnet does not
use are passed over. A YAML/JSON Node (or a one-node List) is read from its fields. A bare map
of quantities (`kubectl get node N -o json | jq .status.capacity`) is kept as `unnamed`, since
the paste does not say which section it was; a second map that disagrees is reported and left
out. Lines that are only `:` (an author's elision inside jq output) are skipped with a warning.
Quantities are kept as printed and read with `dualnet.quantity` (`1k` is 1000).
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from dualnet.host.models import KubeNode
from dualnet.parse._text import Line, fail, guarded, prepare, warn

SOURCE = "kubectl node"

_SECTIONS = {
    "name", "roles", "labels", "annotations", "creationtimestamp", "taints", "unschedulable",
    "lease", "conditions", "addresses", "capacity", "allocatable", "system info", "podcidr",
    "podcidrs", "providerid", "non-terminated pods", "allocated resources", "events",
    "holderidentity", "acquiretime", "renewtime",
}
_HEADER = re.compile(r"^([A-Za-z][A-Za-z -]*?):\s*(.*)$")
_KEY_VALUE = re.compile(r"^([A-Za-z0-9][\w./-]*):\s*(\S+)\s*$")
_ELIDED_KEY = re.compile(r"^\s*:\s*$")
_QUANTITY = re.compile(r"^[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+|[kMGTPE]i?|m|Ki)?$")


@guarded(SOURCE)
def parse_kubectl_node(text: str) -> KubeNode:
    lines = prepare(text, labels=False)
    if not lines:
        raise fail(SOURCE, "empty input")
    first = lines[0].stripped
    if first.startswith(("{", "[", ":")) or any(_ELIDED_KEY.match(ln.text) for ln in lines):
        return _from_json(lines)
    if any(ln.text.startswith(("apiVersion:", "kind:", "status:")) for ln in lines):
        return _from_data(_yaml(lines), lines[0])
    return _from_describe(lines)


def _yaml(lines: list[Line]) -> Any:
    try:
        return yaml.safe_load("\n".join(ln.text for ln in lines))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = lines[min(mark.line, len(lines) - 1)] if mark is not None else None
        raise fail(SOURCE, f"not valid YAML: {getattr(exc, 'problem', exc)}", line) from None


def _from_json(lines: list[Line]) -> KubeNode:
    kept: list[Line] = []
    for line in lines:
        if _ELIDED_KEY.match(line.text):
            warn("skipped an elided key (a lone ':')", line)
            continue
        kept.append(line)
    body = "\n".join(ln.text for ln in kept)
    # jq prints one value per query: several maps one after another.
    decoder = json.JSONDecoder()
    docs: list[Any] = []
    pos = 0
    while pos < len(body):
        while pos < len(body) and body[pos].isspace():
            pos += 1
        if pos >= len(body):
            break
        try:
            doc, pos = decoder.raw_decode(body, pos)
        except json.JSONDecodeError as exc:
            # elided keys leave a trailing comma or a missing one: say where
            at = kept[min(body.count("\n", 0, exc.pos), len(kept) - 1)]
            raise fail(SOURCE, f"not valid JSON: {exc.msg}", at) from None
        docs.append(doc)
    if not docs:
        raise fail(SOURCE, "no JSON value")
    if len(docs) == 1 and not _is_quantity_map(docs[0]):
        return _from_data(docs[0], kept[0])
    node = KubeNode()
    for doc in docs:
        if not _is_quantity_map(doc):
            raise fail(SOURCE, "several JSON values, and not all are resource maps", kept[0])
        quantities = {str(k): str(v) for k, v in doc.items()}
        if not node.unnamed:
            node.unnamed = quantities
        elif quantities != node.unnamed:
            warn("a second resource map differs from the first (capacity and allocatable?); "
                 "only the first was kept")
    warn("resource map(s) without their section: not known whether capacity or allocatable")
    return node


def _is_quantity_map(doc: Any) -> bool:
    return isinstance(doc, dict) and bool(doc) and all(
        isinstance(v, str | int) and _QUANTITY.match(str(v)) for v in doc.values()
    )


def _from_data(doc: Any, line: Line) -> KubeNode:
    if isinstance(doc, dict) and doc.get("kind") == "List":
        items = doc.get("items") or []
        if len(items) != 1:
            raise fail(SOURCE, f"a List of {len(items)} nodes; give one node "
                       "(`kubectl get node NAME -o yaml`)", line)
        doc = items[0]
    if not isinstance(doc, dict) or doc.get("kind") not in (None, "Node"):
        kind = doc.get("kind") if isinstance(doc, dict) else type(doc).__name__
        raise fail(SOURCE, f"expected a Node object, got {kind}", line)
    meta = doc.get("metadata") or {}
    status = doc.get("status") or {}
    if not isinstance(meta, dict) or not isinstance(status, dict):
        raise fail(SOURCE, "metadata and status must be objects", line)
    conditions: dict[str, str] = {}
    for cond in status.get("conditions") or []:
        if isinstance(cond, dict) and "type" in cond:
            conditions[str(cond["type"])] = str(cond.get("status", ""))
    return KubeNode(
        name=meta.get("name"),
        labels=_strings(meta.get("labels"), "metadata.labels", line),
        capacity=_strings(status.get("capacity"), "status.capacity", line),
        allocatable=_strings(status.get("allocatable"), "status.allocatable", line),
        conditions=conditions,
    )


def _strings(value: Any, where: str, line: Line) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise fail(SOURCE, f"{where} must be a map", line)
    return {str(k): str(v) for k, v in value.items()}


def _from_describe(lines: list[Line]) -> KubeNode:
    node = KubeNode()
    section: str | None = None
    seen = 0
    for line in lines:
        s = line.stripped
        head = _HEADER.match(s)
        if head and head.group(1).lower() in _SECTIONS and not line.text[:1].isspace():
            section = head.group(1).lower()
            seen += 1
            value = head.group(2).strip()
            if section == "name":
                node.name = value or None
            elif section == "labels" and value and value != "<none>":
                _label(node, value, line)
            continue
        if section is None:
            warn("skipped a line before the first section of `kubectl describe node`", line)
            continue
        if section == "labels":
            _label(node, s, line)
        elif section in ("capacity", "allocatable"):
            kv = _KEY_VALUE.match(s)
            if kv is None:
                warn(f"skipped a line in {section.capitalize()} that is no 'resource: amount'",
                     line)
                continue
            getattr(node, section)[kv.group(1)] = kv.group(2)
        elif section == "conditions":
            words = s.split()
            if len(words) >= 2 and words[1] in ("True", "False", "Unknown"):
                node.conditions[words[0]] = words[1]
        elif section == "allocated resources":
            words = s.split()
            if len(words) >= 2 and words[0] not in ("Resource", "--------") and not \
                    s.startswith("("):
                node.allocated[words[0]] = words[1]
    if seen == 0:
        raise fail(SOURCE, "no `kubectl describe node` section (Capacity:, Allocatable:, ...) "
                   "and no YAML/JSON Node", lines[0])
    return node


def _label(node: KubeNode, text: str, line: Line) -> None:
    key, sep, value = text.partition("=")
    if not sep or not key or " " in key:
        warn("skipped a line in Labels that is no 'key=value'", line)
        return
    node.labels[key] = value
