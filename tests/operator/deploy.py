"""deploy/ as the cluster receives it: each kustomization built by the real kustomize
(`kubectl kustomize`), and the RBAC rules read from that output."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import require

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def kustomizations() -> list[Path]:
    """Every directory under deploy/ that kustomize can build on its own (components are built
    through an overlay: see build_with_components)."""
    out = []
    for k in sorted(DEPLOY.rglob("kustomization.yaml")):
        if yaml.safe_load(k.read_text()).get("kind", "Kustomization") == "Kustomization":
            out.append(k.parent)
    return out


def components() -> list[Path]:
    return [k.parent for k in sorted(DEPLOY.rglob("kustomization.yaml"))
            if yaml.safe_load(k.read_text()).get("kind") == "Component"]


def kustomize(path: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize PATH`, parsed (the objects in the order kustomize emits them)."""
    require(shutil.which("kubectl") is not None, "kubectl (its built-in kustomize)")
    done = subprocess.run(["kubectl", "kustomize", str(path)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, f"kubectl kustomize {path} failed:\n{done.stderr}"
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def build_with_components(tmp: Path, base: Path, parts: list[Path]) -> list[dict[str, Any]]:
    """An overlay over `base` with the given components, as a user writes one."""
    overlay = tmp / "overlay"
    overlay.mkdir(parents=True, exist_ok=True)
    rel = os.path.relpath
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": [rel(base, overlay)],
        "components": [rel(p, overlay) for p in parts],
    }))
    return kustomize(overlay)


def rules_of(objs: list[dict[str, Any]], kind: str, name: str) -> list[dict[str, Any]]:
    return next(list(o["rules"]) for o in objs
                if o["kind"] == kind and o["metadata"]["name"] == name)


def allowed(rules: list[dict[str, Any]], group: str, resource: str, verb: str,
            name: str | None = None) -> bool:
    """Does some rule grant `verb` on group/resource (for object `name`, if given)? Rules with
    resourceNames grant only those names; None asks for the unnamed (any-object) grant."""
    for r in rules:
        if group not in r["apiGroups"] or resource not in r["resources"] or \
                verb not in r["verbs"]:
            continue
        names = r.get("resourceNames")
        if not names or (name is not None and name in names):
            return True
    return False
