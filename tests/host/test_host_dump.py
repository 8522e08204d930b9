"""The host models are plain dataclasses that discovery builds without pydantic, and
`host.dump.jsonable` prints them without it; pydantic stays the authority on what a report is.
These tests hold the two equal, so the fast path cannot drift from the schema the CRD, the report
files and every other reader use:

* jsonable == pydantic's JSON-mode dump, in full and with exclude_defaults, on every sample
  tree, on reports merged from real pasted outputs, and on reports hypothesis makes up;
* every value discovery and the parsers put in a field has the field's type (pydantic in strict
  mode, which would refuse "ACTIVE" for a PortState or "1" for an int: the check pydantic made
  as the models were built, before they were dataclasses);
* the report pydantic reads back from that dump is the report.
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from dualnet.host import models
from dualnet.host.dump import jsonable
from dualnet.host.models import HostReport
from dualnet.host.samples import SAMPLES
from dualnet.host.schema import adapter
from dualnet.parse.errors import ParseError
from dualnet.parse.from_dir import report_from_dir
from tests.doctor.reports import gh200, switchdev
from tests.gh200_report import GH200_OUTPUTS, OTHER_OUTPUTS, outputs_dir
from tests.parse.corpus import CORPUS, PARSERS, corpus_files


def _same_dump(obj: Any) -> None:
    ta = adapter(type(obj))
    assert jsonable(obj) == ta.dump_python(obj, mode="json")
    assert jsonable(obj, exclude_defaults=True) == ta.dump_python(
        obj, mode="json", exclude_defaults=True)


_FIELD_TYPES: dict[tuple[type[Any], str], TypeAdapter[Any]] = {}


def _field_type(cls: type[Any], name: str) -> TypeAdapter[Any]:
    key = (cls, name)
    if key not in _FIELD_TYPES:
        _FIELD_TYPES[key] = TypeAdapter(typing.get_type_hints(cls)[name])
    return _FIELD_TYPES[key]


def _check_types(obj: Any) -> None:
    """Every field of `obj` and of the models in it holds a value of the field's type, as
    pydantic's strict mode judges it (a model inside passes as the instance it is, and is then
    checked in turn)."""
    if isinstance(obj, list | tuple):
        for v in obj:
            _check_types(v)
    elif isinstance(obj, dict):
        for v in obj.values():
            _check_types(v)
    elif isinstance(obj, models.Model):
        for f in dataclasses.fields(obj):  # type: ignore[arg-type]
            value = getattr(obj, f.name)
            _field_type(type(obj), f.name).validate_python(value, strict=True)
            _check_types(value)


def _typed_right(report: HostReport) -> None:
    _check_types(report)
    assert adapter(HostReport).validate_python(jsonable(report)) == report


def _host_models_in(value: Any) -> list[Any]:
    """The host-model objects in a parser's result (itself, or in lists, tuples, dicts)."""
    if isinstance(value, models.Model):
        return [value]
    if isinstance(value, list | tuple):
        return [m for v in value for m in _host_models_in(v)]
    if isinstance(value, dict):
        return [m for v in value.values() for m in _host_models_in(v)]
    return []


def test_every_sample_dumps_as_pydantic_does(reports: dict[str, HostReport]) -> None:
    assert set(reports) == set(SAMPLES)
    for name, report in reports.items():
        assert report.nics or name == "no_rdma", name
        _same_dump(report)
        _typed_right(report)


def test_reports_from_pasted_outputs_dump_as_pydantic_does(tmp_path: Path) -> None:
    for i, files in enumerate((GH200_OUTPUTS, OTHER_OUTPUTS)):
        report = report_from_dir(outputs_dir(tmp_path / str(i), files))
        assert report.rdma_devices
        _same_dump(report)
        _typed_right(report)
    for report in (gh200(), switchdev()):
        _same_dump(report)
        _typed_right(report)


def test_each_parsers_models_dump_as_pydantic_does() -> None:
    read = 0
    for rel in corpus_files():
        try:
            value = PARSERS[rel.split("/")[0]]((CORPUS / rel).read_text(encoding="utf-8"))
        except ParseError:
            continue  # a capture the parser refuses (tests/parse): no models to compare
        for model in _host_models_in(value):
            _same_dump(model)
            _check_types(model)
            read += 1
    assert read > 100


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.from_type(HostReport))
def test_any_report_dumps_as_pydantic_does(report: HostReport) -> None:
    _same_dump(report)
    if not _has_nan(report):  # nan != nan: a report holding one cannot equal itself
        assert adapter(HostReport).validate_python(jsonable(report)) == report


def _has_nan(report: HostReport) -> bool:
    return any(p.rate_gbps != p.rate_gbps for d in report.rdma_devices for p in d.ports)


def test_a_wrongly_typed_field_is_caught() -> None:
    """The strict check above can fail: a state given as the plain string it prints as."""
    report = gh200()
    report.rdma_devices[0].ports[0].state = "ACTIVE"  # type: ignore[assignment]
    with pytest.raises(ValidationError, match="PortState"):
        _typed_right(report)
