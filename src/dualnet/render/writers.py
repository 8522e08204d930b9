"""Writing objects: one YAML stream, or a kustomize directory (one file per object).

Output is byte-identical for the same objects. A file that exists with different content is
renamed to `<file>.bak` (then `.bak.1`, ...) before the new one is written: nothing of the
user's is overwritten silently. A kustomize directory keeps a manifest of the files dualnet wrote
there (`.dualnet-files.json`): the next render backs up (renames) its own files that it no longer
writes, so old objects do not sit beside the new ones, and never touches a file it did not write.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, TextIO

import yaml

from dualnet.errors import UsageError
from dualnet.labels import ROLE

ROLE_DIRS = {"component": "components", "network": "networks"}


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # multi-line strings (CNI and plugin configs, scripts) as literal blocks, like the guide
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str)


def to_yaml(obj: dict[str, Any]) -> str:
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=100)


def stream_text(objects: list[dict[str, Any]]) -> str:
    return "".join(f"---\n{to_yaml(o)}" for o in objects)


def _backup_name(path: Path) -> Path:
    candidate = path.with_name(path.name + ".bak")
    n = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.bak.{n}")
        n += 1
    return candidate


def check_out_parent(path: Path, flag: str) -> None:
    """An output path whose parent directory is missing is a usage error: dualnet creates the
    directory it is told to write, never a chain of parents from a typo."""
    parent = path.absolute().parent
    if not parent.is_dir():
        raise UsageError(f"{flag}: {path}: the directory {parent} does not exist",
                         hint=f"create it first (mkdir -p {parent}) or choose another {flag}")


def write_file(path: Path, text: str, backups: list[Path] | None = None) -> Path:
    """Write `text` to `path`; an existing different file is kept as a backup first."""
    if path.is_dir():
        raise UsageError(f"{path}: is a directory, expected a file path")
    try:
        if path.exists():
            if path.read_bytes() == text.encode("utf-8"):
                return path
            bak = _backup_name(path)
            path.rename(bak)
            if backups is not None:
                backups.append(bak)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        # an output path the user gave that cannot be written: their mistake, not a traceback
        raise UsageError(f"{path}: cannot write it ({exc.strerror or exc})",
                         hint="choose a writable --out directory or --stream file") from None
    return path


def write_stream(
    objects: list[dict[str, Any]], out: Path | TextIO, backups: list[Path] | None = None
) -> None:
    """All objects as one multi-document YAML stream, to a file or an open text stream."""
    text = stream_text(objects)
    if isinstance(out, Path):
        write_file(out, text, backups)
    else:
        out.write(text)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.-]+", "-", text.lower()).strip("-")


def file_name(index: int, obj: dict[str, Any]) -> str:
    role = obj.get("metadata", {}).get("labels", {}).get(ROLE, "")
    folder = ROLE_DIRS.get(role, "workloads")
    name = obj.get("metadata", {}).get("name", "object")
    return f"{folder}/{index:02d}-{_slug(obj.get('kind', 'object'))}-{_slug(name)}.yaml"


MANIFEST = ".dualnet-files.json"


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _files_written_before(out_dir: Path) -> list[str]:
    """The relative paths the last render recorded in its manifest; none when there is no
    readable manifest (then nothing there is known to be dualnet's, and nothing is removed)."""
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        return []
    out = []
    for rel in files:
        # only plain relative paths inside out_dir: a manifest is never a way out of it
        parts = Path(str(rel)).parts
        if parts and not Path(str(rel)).is_absolute() and ".." not in parts:
            out.append(str(rel))
    return out


def write_kustomize(
    objects: list[dict[str, Any]], out_dir: Path, backups: list[Path] | None = None,
    flag: str = "--out",
) -> list[Path]:
    """One file per object under components/, networks/, workloads/ plus kustomization.yaml
    listing them in order, and the manifest of what was written. Files of an earlier render that
    this one no longer writes are backed up (renamed to .bak). Returns every file written."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{flag}: {out_dir} exists and is not a directory")
    names = [file_name(i + 1, o) for i, o in enumerate(objects)]
    texts = [to_yaml(o) for o in objects]
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": list(names),
    }
    names.append("kustomization.yaml")
    texts.append(to_yaml(kustomization))
    before = _files_written_before(out_dir)
    written = [write_file(out_dir / n, t, backups) for n, t in zip(names, texts, strict=True)]
    for rel in sorted(set(before) - set(names)):
        stale = out_dir / rel
        if stale.is_file() and not stale.is_symlink():
            bak = _backup_name(stale)
            try:
                stale.rename(bak)
            except OSError as exc:
                raise UsageError(f"{stale}: cannot move this earlier render's file aside "
                                 f"({exc.strerror or exc})") from None
            if backups is not None:
                backups.append(bak)
    manifest = {"writtenBy": "dualnet render",
                "files": {n: _digest(t) for n, t in zip(names, texts, strict=True)}}
    try:  # dualnet's own bookkeeping: replaced in place, no backup
        (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{out_dir / MANIFEST}: cannot write it ({exc.strerror or exc})") from None
    return written
