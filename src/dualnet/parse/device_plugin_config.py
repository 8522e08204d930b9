"""A device plugin's configuration -> the resources it advertises (DevicePluginResource).

Accepted, as JSON or YAML (one document or a `---` stream):
* the ConfigMaps: `kubectl -n kube-system get configmap sriovdp-config rdma-devices -o yaml`
  (one ConfigMap or a List; `data["config.json"]`);
* a NicClusterPolicy (`spec.sriovDevicePlugin.config`, `spec.rdmaSharedDevicePlugin.config`);
* a bare config.json (`resourceList` or `configList`);
* dualnet's own rendered copies of the above (`render --out DIR` files).
Other objects in a List or stream are skipped with a warning.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from dualnet.host.device_plugins import ConfigError, resources_from_config
from dualnet.host.models import DevicePluginResource
from dualnet.parse._text import fail, guarded, prepare, warn

SOURCE = "device plugin config"
_POLICY_KEYS = ("sriovDevicePlugin", "rdmaSharedDevicePlugin")


@guarded(SOURCE)
def parse_device_plugin_config(text: str) -> list[DevicePluginResource]:
    body = "\n".join(ln.text for ln in prepare(text, keep_blank=True, labels=False))
    try:
        docs = [d for d in yaml.safe_load_all(body) if d is not None]
    except yaml.YAMLError as exc:
        raise fail(SOURCE, f"neither JSON nor YAML: {str(exc).splitlines()[0]}") from None
    objects: list[Any] = []
    for doc in docs:
        if isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List"):
            objects.extend(doc.get("items") or [])
        else:
            objects.append(doc)
    out: list[DevicePluginResource] = []
    read = 0
    try:
        for obj in objects:
            found = _configs(obj)
            if found is None:
                kind = obj.get("kind") if isinstance(obj, dict) else type(obj).__name__
                warn(f"skipped an object of kind {kind!r}: no device plugin config in it")
                continue
            read += 1
            for config, source in found:
                out.extend(resources_from_config(config, source=source))
    except ConfigError as exc:
        raise fail(SOURCE, str(exc)) from None
    if read == 0:
        raise fail(SOURCE, "no device plugin config in the input",
                   hint="give `kubectl -n kube-system get configmap sriovdp-config rdma-devices "
                   "-o yaml`, a NicClusterPolicy, or the plugin's config.json")
    return out


def _decode(value: Any, where: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: not JSON: {exc.msg} (line {exc.lineno})") from None


def _configs(obj: Any) -> list[tuple[Any, str]] | None:
    """The config.json documents in one object, each with where it came from; None: none."""
    if not isinstance(obj, dict):
        return None
    if "resourceList" in obj or "configList" in obj:
        return [(obj, "config.json")]
    meta = _mapping(obj.get("metadata"))
    name = f"{obj.get('kind')} {meta.get('namespace') or ''}/{meta.get('name')}".replace(
        " /", " ")
    if obj.get("kind") == "ConfigMap":
        data = _mapping(obj.get("data"))
        if "config.json" not in data:
            return None
        return [(_decode(data["config.json"], f"{name} data.config.json"), name)]
    if obj.get("kind") == "NicClusterPolicy":
        spec = _mapping(obj.get("spec"))
        return [(_decode(_mapping(spec.get(k))["config"], f"{name} spec.{k}.config"),
                 f"{name} spec.{k}")
                for k in _POLICY_KEYS if _mapping(spec.get(k)).get("config")]
    return None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
