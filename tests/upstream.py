"""The upstream projects' own CRDs and manifests (`shared/upstream/`, copied unchanged at named
tags; its README names repo, path and commit), loaded at test time. Test data only: nothing of
it is copied into the repository.

Where it is: `shared/` beside the repository root (`../shared`, as in CI), or inside it, or
DUALNET_SHARED. Missing, the tests that need it skip locally and fail under CI=true.
"""

from __future__ import annotations

import copy
import functools
import json
import os
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import yaml

from tests.helpers import require

REPO = Path(__file__).resolve().parents[1]


def _candidates() -> list[Path]:
    env = os.environ.get("DUALNET_SHARED")
    out = [Path(env)] if env else []
    # ../shared in CI; a worktree under wt/ sees it one level further up
    return [*out, REPO.parent / "shared", REPO / "shared", REPO.parent.parent / "shared"]


def upstream_root() -> Path | None:
    return next((p / "upstream" for p in _candidates() if (p / "upstream" / "README.md")
                 .is_file()), None)


def _under_root(relative: str) -> Path:
    root = upstream_root()
    require(root is not None, "shared/upstream (../shared beside the repository, or "
            "DUALNET_SHARED): the upstream CRDs and manifests the conformance tests read")
    assert root is not None
    return root / relative


def upstream(relative: str) -> Path:
    """`shared/upstream/<relative>`; skip (fail under CI=true) when it is not there."""
    path = _under_root(relative)
    require(path.is_file(), f"upstream file {relative} under {path.parent}")
    return path


def upstream_dir(relative: str) -> Path:
    """`shared/upstream/<relative>`, a folder; skip (fail under CI=true) when it is not there."""
    path = _under_root(relative)
    require(path.is_dir(), f"upstream folder {relative} under {path.parent}")
    return path


def documents(relative: str) -> list[dict[str, Any]]:
    with upstream(relative).open(encoding="utf-8") as fh:
        return [d for d in yaml.safe_load_all(fh) if isinstance(d, dict)]


def json_file(relative: str) -> Any:
    return json.loads(upstream(relative).read_text(encoding="utf-8"))


def strict(schema: Any) -> Any:
    """A CRD's structural openAPIV3Schema as the API server applies it with
    `fieldValidation=Strict` (kubectl apply's default): unknown fields are errors, except under
    x-kubernetes-preserve-unknown-fields; int-or-string takes both."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items()
           if k not in ("description",) and not k.startswith("x-kubernetes-")}
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if (schema.get("type") == "object" and "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    if "properties" in out:
        out["properties"] = {k: strict(v) for k, v in schema["properties"].items()}
    return out


def without_descriptions(schema: Any) -> Any:
    if isinstance(schema, list):
        return [without_descriptions(s) for s in schema]
    if isinstance(schema, dict):
        return {k: without_descriptions(v) for k, v in schema.items() if k != "description"}
    return schema


class UpstreamCrd:
    def __init__(self, crd: dict[str, Any], source: str) -> None:
        self.crd = crd
        self.source = source
        spec = crd["spec"]
        self.group: str = spec["group"]
        self.kind: str = spec["names"]["kind"]
        self.scope: str = spec["scope"]
        self.versions = {v["name"]: v for v in spec["versions"]}
        self._validators: dict[str, Any] = {}

    def validator(self, version: str) -> Any:
        if version not in self._validators:
            schema = strict(copy.deepcopy(self.versions[version]["schema"]["openAPIV3Schema"]))
            self._validators[version] = jsonschema.Draft7Validator(schema)
        return self._validators[version]

    def problems(self, obj: dict[str, Any]) -> list[str]:
        version = str(obj["apiVersion"]).split("/")[-1]
        if version not in self.versions:
            return [f"{self.kind}: upstream serves {sorted(self.versions)}, not {version}"]
        where = f"{self.kind} {obj.get('metadata', {}).get('name')} ({self.source})"
        out = [f"{where}: {'.'.join(map(str, e.absolute_path)) or '(object)'}: {e.message}"
               for e in self.validator(version).iter_errors(obj)]
        namespaced = "namespace" in (obj.get("metadata") or {})
        if namespaced != (self.scope == "Namespaced"):
            out.append(f"{where}: scope is {self.scope}, metadata.namespace "
                       f"{'set' if namespaced else 'missing'}")
        return out


@functools.cache
def crds(*relatives: str) -> dict[tuple[str, str], UpstreamCrd]:
    """(group, kind) -> the CRD, from every CustomResourceDefinition in the files."""
    out: dict[tuple[str, str], UpstreamCrd] = {}
    for rel in relatives:
        for doc in documents(rel):
            if doc.get("kind") == "CustomResourceDefinition":
                c = UpstreamCrd(doc, rel)
                out[(c.group, c.kind)] = c
    return out
