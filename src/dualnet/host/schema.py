"""pydantic at the edge of the host models (and of doctor's findings, built the same way):
checking a report someone gives (report files, fixtures, the operator's NodeReports) and the
JSON schema of one (the NodeReport CRD).

The models themselves are plain dataclasses (host/models.py, doctor/findings.py) that pydantic
validates as they are; this is the one place that builds their adapters, once per class."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import TypeAdapter

T = TypeVar("T")

_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def adapter(cls: type[T]) -> TypeAdapter[T]:
    """pydantic's TypeAdapter of a host model (built on first use: a few ms per model)."""
    found = _ADAPTERS.get(cls)
    if found is None:
        found = _ADAPTERS[cls] = TypeAdapter(cls)
    return found
