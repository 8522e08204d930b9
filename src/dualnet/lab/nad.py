"""Load a NetworkAttachmentDefinition from YAML: a single object, a multi-document stream as
`dualnet render` writes it, or a `List`. `spec.config` is a CNI conf or conflist as a JSON
string; a missing name is taken from `metadata.name`, as Multus does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dualnet.errors import UsageError
from dualnet.inputs import parse_yaml, read_text
from dualnet.lab.models import NetworkAttachmentDefinition
from dualnet.names import check_dns1123_label
from dualnet.render.reader import load_objects

NAD_KIND = "NetworkAttachmentDefinition"
NAD_API = "k8s.cni.cncf.io/v1"


_EXPECT = "a NetworkAttachmentDefinition (apiVersion k8s.cni.cncf.io/v1) in YAML"


def _documents(text: str, source: str) -> list[Any]:
    docs = parse_yaml(text, source, expect=_EXPECT)
    out: list[Any] = []
    for doc in docs:
        if isinstance(doc, dict) and doc.get("kind") == "List":
            out.extend(doc.get("items") or [])
        elif doc is not None:
            out.append(doc)
    return out


def parse_cni_config(raw: Any, *, field: str, nad_name: str) -> dict[str, Any]:
    """`spec.config` text -> dict, with the NAD name injected when the config has none."""
    if isinstance(raw, dict):
        raise UsageError(f"{field}: is a YAML mapping, but the CRD wants a JSON string",
                         hint="write it as `config: '{\"cniVersion\": \"1.0.0\", ...}'` "
                         "or with a `|` block scalar")
    if not isinstance(raw, str) or not raw.strip():
        raise UsageError(f"{field}: missing or empty",
                         hint="the lab needs the CNI config inline in spec.config (Multus would "
                         "otherwise look for a file in /etc/cni/multus/net.d)")
    try:
        conf = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{field}: not valid JSON at line {exc.lineno}, column {exc.colno}: "
                         f"{exc.msg}", hint="spec.config is a JSON string holding a CNI config "
                         "or conflist") from exc
    if not isinstance(conf, dict):
        raise UsageError(f"{field}: is a JSON {type(conf).__name__}, not an object",
                         hint="a CNI config is an object with `type`, or a conflist with "
                         "`plugins`")
    if "plugins" in conf:
        plugins = conf["plugins"]
        if not isinstance(plugins, list) or not plugins:
            raise UsageError(f"{field}.plugins: must be a non-empty list of plugin objects")
        for i, plugin in enumerate(plugins):
            if not isinstance(plugin, dict) or not isinstance(plugin.get("type"), str) \
                    or not plugin.get("type"):
                raise UsageError(f"{field}.plugins[{i}].type: missing",
                                 hint="every plugin object names its binary in `type`")
    elif not isinstance(conf.get("type"), str) or not conf.get("type"):
        raise UsageError(f"{field}.type: missing",
                         hint="a CNI config names its plugin binary in `type` "
                         "(e.g. macvlan, host-device), or is a conflist with `plugins`")
    if not conf.get("name"):
        conf["name"] = nad_name
    return conf


def _from_object(doc: dict[str, Any], source: str) -> NetworkAttachmentDefinition:
    api = doc.get("apiVersion")
    if api != NAD_API:
        raise UsageError(f"{source}: apiVersion: {api!r} is not {NAD_API!r}")
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not meta.get("name"):
        raise UsageError(f"{source}: metadata.name: missing")
    name = check_dns1123_label(str(meta["name"]), field=f"{source}: metadata.name")
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        raise UsageError(f"{source}: spec: missing (NAD {name!r})",
                         hint="a NAD needs spec.config holding the CNI config as JSON")
    conf = parse_cni_config(spec.get("config"), field=f"{source}: NAD {name!r} spec.config",
                            nad_name=name)
    annotations = meta.get("annotations") or {}
    return NetworkAttachmentDefinition(
        name=name, namespace=str(meta.get("namespace") or "default"),
        annotations={str(k): str(v) for k, v in annotations.items()},
        config=conf, source=source)


def load_nads_text(text: str, source: str = "<input>") -> list[NetworkAttachmentDefinition]:
    """Every NAD in a YAML text. A bare CNI conf/conflist (JSON is YAML) is accepted too."""
    return _nads_in(_documents(text, source), source)


def _nads_in(docs: list[Any], source: str) -> list[NetworkAttachmentDefinition]:
    nads: list[NetworkAttachmentDefinition] = []
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        if doc.get("kind") == NAD_KIND:
            nads.append(_from_object(doc, source))
        elif "kind" not in doc and ("type" in doc or "plugins" in doc):
            stem = Path(source).stem.lower().replace("_", "-") or "lab"
            conf = parse_cni_config(json.dumps(doc), field=f"{source}", nad_name=stem)
            nads.append(NetworkAttachmentDefinition(
                name=check_dns1123_label(str(conf["name"]).lower(), field=f"{source}: name"),
                config=conf, source=source))
    if not nads:
        kinds = sorted({str(d.get("kind")) for d in docs if isinstance(d, dict)})
        raise UsageError(f"{source}: no NetworkAttachmentDefinition found"
                         + (f" (kinds present: {', '.join(kinds)})" if kinds else ""),
                         hint="pass a NAD YAML (kind: NetworkAttachmentDefinition, apiVersion "
                         "k8s.cni.cncf.io/v1), e.g. one written by `dualnet render`")
    return nads


def load_nad(path: str | Path, name: str | None = None) -> NetworkAttachmentDefinition:
    """The NAD in `path`; when it holds several, `name` picks one.

    `path` may be a directory such as `dualnet render --out` writes (read through its
    kustomization.yaml), so the rendered NAD is found without naming its file.
    """
    p = Path(path)
    if p.is_dir():
        # render's own reader: follows kustomization.yaml, so stale files are not picked up
        nads = _nads_in(list(load_objects(p)), str(p))
    else:
        text = read_text(p, what="", expect=_EXPECT)
        nads = load_nads_text(text, str(p))
    if name is not None:
        for nad in nads:
            if nad.name == name:
                return nad
        raise UsageError(f"--nad: {name!r} is not in {p}",
                         hint=f"NADs there: {', '.join(n.name for n in nads)}")
    if len(nads) > 1:
        raise UsageError(f"{p}: holds {len(nads)} NetworkAttachmentDefinitions; pick one",
                         hint=f"--nad NAME, one of: {', '.join(n.name for n in nads)}")
    return nads[0]
