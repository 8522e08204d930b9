"""Interface and RDMA device names go into the printed commands shell-quoted: the kernel takes
`a;b` or `a$(x)` as a netdev name (dev_valid_name refuses only '/', ':', whitespace, '.', '..'),
and a fix line or plan step pasted into a shell must not run what follows the `;`."""

from __future__ import annotations

import json
import shlex

import pytest

from dualnet.doctor import diagnose
from dualnet.host.dump import jsonable
from dualnet.host.models import HostReport
from dualnet.host.schema import adapter
from dualnet.modes import Mode
from dualnet.plan.steps import CreateVfs, SetMtu, SetVfMacs
from dualnet.render.markdown import step_commands
from tests.doctor.reports import switchdev
from tests.gh200_report import P1, gh200_report

ODD = ["a;b", "x$(id)", "n`id`", "q'r", "e&f|g"]


def _renamed(report: HostReport, old: str, new: str) -> HostReport:
    text = json.dumps(jsonable(report)).replace(f'"{old}"', f'"{new}"')
    return adapter(HostReport).validate_json(text)


def _assert_quoted(lines: list[str], name: str) -> None:
    hits = [line for line in lines if name in line or shlex.quote(name) in line]
    assert hits, f"no command names {name!r}: {lines}"
    for line in hits:
        assert shlex.quote(name) in line, line
        # outside the quoted form the name never appears bare
        assert name not in line.replace(shlex.quote(name), ""), line


@pytest.mark.parametrize("name", ODD)
def test_doctor_fix_lines_quote_a_down_ports_netdev(name: str) -> None:
    # the guide's second port is DOWN: the port rule tells the user to bring its netdev up
    report = _renamed(gh200_report(), P1, name)
    lines = [line for f in diagnose(report, Mode.SHARED_ROCE) for line in f.fix]
    _assert_quoted(lines, name)


def test_doctor_fix_lines_quote_switchdev_names() -> None:
    report = _renamed(switchdev(), "enp8s0f0np0", "up;link")
    lines = [line for f in diagnose(report, Mode.SRIOV, ovs_offload=True) for line in f.fix]
    _assert_quoted(lines, "up;link")


def _words(line: str) -> list[str]:
    """The words a POSIX shell sees, with ; & | ( ) < > split out as it splits them."""
    return list(shlex.shlex(line, posix=True, punctuation_chars=True))


@pytest.mark.parametrize("name", ODD)
def test_plan_step_commands_quote_interface_names(name: str) -> None:
    whole = {name, f"/sys/class/net/{name}/device/sriov_numvfs"}
    for step in (SetMtu(interface=name, mtu=9000), CreateVfs(pf=name, num_vfs=4),
                 SetVfMacs(pf=name)):
        lines = step_commands(step)
        named = [w for line in lines for w in _words(line) if name in w]
        assert named and set(named) <= whole, (lines, named)
