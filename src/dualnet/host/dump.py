"""Host models as JSON-ready data without pydantic: what `dualnet discover -o json` prints.

pydantic's adapter (host/schema.py) gives the same data, but importing pydantic costs more than
the rest of a `discover` run together (benchmarks/bench_cli.py). tests/host/test_host_dump.py
holds the two equal, in both forms below, on every sample, on reports from pasted outputs, on the
corpus parsers' models and on reports hypothesis makes up."""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

_NO_DEFAULT = object()
_FIELDS: dict[type[Any], list[tuple[str, Any]]] = {}


def _fields(cls: type[Any]) -> list[tuple[str, Any]]:
    """(name, default) of each field in declaration order; a factory's default is made once."""
    found = _FIELDS.get(cls)
    if found is None:
        found = []
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                default: Any = f.default
            elif f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            else:
                default = _NO_DEFAULT
            found.append((f.name, default))
        _FIELDS[cls] = found
    return found


def jsonable(obj: Any, *, exclude_defaults: bool = False) -> Any:
    """`obj` (a host model, or lists and dicts of them and of plain values) as JSON types:
    pydantic's `dump_python(obj, mode="json")`, and with `exclude_defaults` its
    `exclude_defaults=True` (a field equal to its default is left out, at every depth)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out: dict[str, Any] = {}
        for name, default in _fields(type(obj)):
            value = getattr(obj, name)
            if exclude_defaults and default is not _NO_DEFAULT and value == default:
                continue
            out[name] = jsonable(value, exclude_defaults=exclude_defaults)
        return out
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, list | tuple):
        return [jsonable(v, exclude_defaults=exclude_defaults) for v in obj]
    if isinstance(obj, dict):
        return {k: jsonable(v, exclude_defaults=exclude_defaults) for k, v in obj.items()}
    return obj
