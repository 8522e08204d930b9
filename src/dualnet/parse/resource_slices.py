"""`kubectl get resourceslices -o json|yaml` -> the devices DRA drivers publish (DraDevice).

Accepted: a List of ResourceSlices or one slice, in the `resource.k8s.io/v1` shape
(`spec.devices[].attributes`) and the `v1beta1` one (`spec.devices[].basic.attributes`). An
attribute value is the one set member of `{bool, int, string, version}`; the driver's own
domain is dropped from attribute names (dranet writes `dra.net/rdma`, read as `rdma`), other
domains (`resource.kubernetes.io/pcieRoot`) stay qualified. An object of another kind in a
List is skipped with a warning.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from dualnet.host.models import DraDevice
from dualnet.parse._text import fail, guarded, prepare, warn

SOURCE = "kubectl get resourceslices"
_VALUE_KEYS = ("bool", "int", "string", "version")


@guarded(SOURCE)
def parse_resource_slices(text: str) -> list[DraDevice]:
    body = "\n".join(ln.text for ln in prepare(text, keep_blank=True, labels=False))
    doc = _load(body)
    items = doc.get("items") if doc.get("kind", "").endswith("List") else [doc]
    if not isinstance(items, list):
        raise fail(SOURCE, "a List without an `items` list")
    devices: list[DraDevice] = []
    slices = 0
    for item in items:
        if not isinstance(item, dict) or item.get("kind", "ResourceSlice") != "ResourceSlice":
            kind = item.get("kind") if isinstance(item, dict) else type(item).__name__
            warn(f"skipped an object of kind {kind!r}, not a ResourceSlice")
            continue
        slices += 1
        devices.extend(_devices(item))
    if slices == 0:
        raise fail(
            SOURCE,
            "no ResourceSlice in the input",
            hint="give the output of `kubectl get resourceslices -o json`",
        )
    return devices


def _load(body: str) -> dict[str, Any]:
    try:
        doc = json.loads(body) if body.lstrip().startswith("{") else yaml.safe_load(body)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise fail(SOURCE, f"neither JSON nor YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict):
        raise fail(SOURCE, "not a Kubernetes object (expected a mapping with `kind`)")
    return doc


def _devices(item: dict[str, Any]) -> list[DraDevice]:
    spec = item.get("spec")
    if not isinstance(spec, dict):
        spec = {}
    driver = str(spec.get("driver") or "")
    node = spec.get("nodeName")
    out: list[DraDevice] = []
    for dev in spec.get("devices") or []:
        if not isinstance(dev, dict) or not isinstance(dev.get("name"), str):
            warn("skipped a device without a name")
            continue
        holder = dev.get("basic") if isinstance(dev.get("basic"), dict) else dev  # v1beta1
        raw = holder.get("attributes") if isinstance(holder, dict) else None
        attributes: dict[str, str | int | bool] = {}
        for key, value in (raw or {}).items():
            picked = _value(value)
            if picked is not None:
                attributes[_short(str(key), driver)] = picked
        out.append(DraDevice(driver=driver, node=node if isinstance(node, str) else None,
                             name=dev["name"], attributes=attributes))
    return out


def _value(value: Any) -> str | int | bool | None:
    if not isinstance(value, dict):
        return None
    for key in _VALUE_KEYS:
        if key in value and isinstance(value[key], (str, int, bool)):
            picked: str | int | bool = value[key]
            return picked
    return None


def _short(key: str, driver: str) -> str:
    prefix = driver + "/"
    return key[len(prefix):] if driver and key.startswith(prefix) else key
