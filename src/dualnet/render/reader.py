"""Reading `dualnet render` output back: a kustomize directory (following its `resources`, so
files an earlier render left behind are not picked up), a YAML stream, or stdin.

`apply` (cluster) and `lab` both consume what render wrote; this is the one reader they share.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dualnet.errors import UsageError
from dualnet.inputs import load_mapping, parse_yaml, read_text

Obj = dict[str, Any]


_EXPECT = "`dualnet render` output: a kustomize directory or a YAML stream of objects"


def _read(path: Path) -> str:
    return read_text(path, what="", expect=_EXPECT)


def _check(obj: Any, where: str) -> Obj:
    if not isinstance(obj, dict):
        raise UsageError(
            f"{where}: expected a Kubernetes object (a mapping), got {type(obj).__name__}"
        )
    for field in ("apiVersion", "kind"):
        if not isinstance(obj.get(field), str) or not obj[field]:
            raise UsageError(
                f"{where}: missing {field!r}", hint="every object needs apiVersion and kind"
            )
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        raise UsageError(f"{where}: {obj['kind']} without metadata.name")
    return obj


def parse_yaml_stream(text: str, source: str) -> list[Obj]:
    """All objects of a multi-document YAML stream; `kind: List` is flattened."""
    docs = parse_yaml(text, source, expect=_EXPECT)
    out: list[Obj] = []
    for i, doc in enumerate(docs, start=1):
        where = f"{source} (document {i})"
        if isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List") and "items" in doc:
            out.extend(_check(item, f"{where} item {j}") for j, item in enumerate(doc["items"], 1))
        else:
            out.append(_check(doc, where))
    return out


def _kustomization(directory: Path) -> Path | None:
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        if (directory / name).is_file():
            return directory / name
    return None


# kustomize fields that only a real kustomize can evaluate
_KUSTOMIZE_TRANSFORMS = (
    "patches",
    "patchesStrategicMerge",
    "patchesJson6902",
    "configMapGenerator",
    "secretGenerator",
    "replacements",
    "components",
    "helmCharts",
    "images",
    "namePrefix",
    "nameSuffix",
    "commonLabels",
    "labels",
    "commonAnnotations",
)


def _load_dir(directory: Path) -> list[Obj]:
    kfile = _kustomization(directory)
    if kfile is None:
        files = sorted(p for p in directory.iterdir() if p.suffix in {".yaml", ".yml"})
        if not files:
            raise UsageError(f"{directory}: no kustomization.yaml and no *.yaml files")
        return [o for f in files for o in parse_yaml_stream(_read(f), str(f))]
    kust = load_mapping(kfile, what="", expect="a kustomization (resources: [...])")
    used = [k for k in _KUSTOMIZE_TRANSFORMS if kust.get(k)]
    if used:
        raise UsageError(
            f"{kfile}: uses {', '.join(used)}, which needs kustomize itself",
            hint=f"run `kubectl kustomize {directory} > all.yaml` and apply all.yaml",
        )
    out: list[Obj] = []
    namespace = kust.get("namespace")
    for entry in kust.get("resources") or []:
        target = (directory / str(entry)).resolve()
        if target.is_dir():
            out.extend(_load_dir(target))
        elif target.is_file():
            out.extend(parse_yaml_stream(_read(target), str(target)))
        else:
            raise UsageError(f"{kfile}: resource {entry!r} not found")
    if isinstance(namespace, str) and namespace:
        for obj in out:
            obj.setdefault("metadata", {})["namespace"] = namespace
    return out


def load_objects(path: Path) -> list[Obj]:
    """Objects from `dualnet render` output: a kustomize directory, a YAML file, or `-` (stdin)."""
    if str(path) == "-":
        return parse_yaml_stream(read_text(path, what="", expect=_EXPECT, allow_stdin=True),
                                 "<stdin>")
    if path.is_dir():
        return _load_dir(path)
    if path.exists():
        return parse_yaml_stream(_read(path), str(path))
    raise UsageError(
        f"{path}: no such file or directory", hint="give the output of `dualnet render`"
    )
