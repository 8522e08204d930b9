from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from dualnet.doctor import Finding, Severity, exit_code_for, sort_findings, worst_severity
from dualnet.host.dump import jsonable
from dualnet.host.schema import adapter


def _f(sev: Severity, fid: str = "x.y", subject: str = "node") -> Finding:
    return Finding(id=fid, severity=sev, title="t", subject=subject, why="w")


@pytest.mark.parametrize(
    ("severities", "code"),
    [
        ([], 0),
        ([Severity.INFO, Severity.INFO], 0),
        ([Severity.INFO, Severity.WARNING], 1),
        ([Severity.WARNING, Severity.ERROR, Severity.INFO], 4),
        ([Severity.ERROR], 4),
    ],
)
def test_exit_code_follows_worst_severity(severities: list[Severity], code: int) -> None:
    assert exit_code_for([_f(s) for s in severities]) == code


def test_exit_code_never_uses_usage_status() -> None:
    assert 2 not in {exit_code_for([_f(s)]) for s in Severity}


def test_sort_worst_first_then_id_then_subject() -> None:
    fs = [
        _f(Severity.INFO, "a.a"),
        _f(Severity.ERROR, "z.z", "b"),
        _f(Severity.ERROR, "z.z", "a"),
        _f(Severity.WARNING, "m.m"),
    ]
    out = sort_findings(fs)
    assert [(f.severity, f.subject) for f in out][:2] == [
        (Severity.ERROR, "a"),
        (Severity.ERROR, "b"),
    ]
    assert [f.severity for f in out] == [
        Severity.ERROR,
        Severity.ERROR,
        Severity.WARNING,
        Severity.INFO,
    ]
    assert worst_severity(fs) is Severity.ERROR
    assert worst_severity([]) is None


def test_finding_rejects_unknown_keys_and_severities() -> None:
    with pytest.raises(ValidationError):
        adapter(Finding).validate_python(
            {"id": "a", "severity": "fatal", "title": "t", "subject": "s", "why": "w"}
        )
    with pytest.raises(ValidationError):
        adapter(Finding).validate_python(
            {
                "id": "a",
                "severity": "info",
                "title": "t",
                "subject": "s",
                "why": "w",
                "colour": "red",
            }
        )


def test_finding_json_round_trip() -> None:
    f = Finding(
        id="rdma.mlx5_ib-missing",
        severity=Severity.ERROR,
        title="t",
        subject="node",
        evidence={"mlx5_ib": "not loaded", "nics": ["enp59s0f0np0"], "mtu": 1500},
        why="w",
        fix=["modprobe mlx5_ib"],
        persist=["echo mlx5_ib > /etc/x"],
    )
    again = adapter(Finding).validate_json(json.dumps(jsonable(f)))
    assert again == f
    assert jsonable(again)["severity"] == "error"
    assert jsonable(again) == adapter(Finding).dump_python(again, mode="json")


def test_doctor_result_for_the_node_agent() -> None:
    from dualnet.doctor import DoctorOptions, doctor_result
    from dualnet.modes import Mode
    from tests.doctor.reports import gh200

    res = doctor_result(gh200(), DoctorOptions(mode=Mode.SHARED_ROCE))
    assert (res.hostname, res.source, res.mode) == ("guest", "synthetic", "shared-roce")
    assert res.worst is Severity.WARNING and res.exit_code == 1
    assert res.findings == sort_findings(res.findings)
    assert doctor_result(gh200()).mode is None
