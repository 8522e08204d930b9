"""Link steps for real: veth pairs inside `dnprep-*` network namespaces, changed with the real `ip`.

(A VF MAC cannot exist on a veth; the VF command is covered by test_prepare_sysfs with a recording
runner. Here: MTU and a plain netdev MAC, refusals from a real default route, and rollback.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from dualnet.plan.steps import HostStep, SetLinkMac, SetMtu
from dualnet.prepare import Host, StepStatus, prepare, render_dry_run
from tests.helpers import have_root_netns, require
from tests.prepare.fakes import ip, veth_netns

pytestmark = pytest.mark.netns


@pytest.fixture
def ns() -> Iterator[str]:
    require(have_root_netns(), "root and iproute2 for network namespaces")
    yield from veth_netns()


def link(ns: str, dev: str) -> dict[str, object]:
    out: list[dict[str, object]] = json.loads(ip("-n", ns, "-j", "link", "show", "dev", dev))
    return out[0]


def test_mtu_on_real_veth_then_unchanged(ns: str, tmp_path: Path) -> None:
    h = Host(tmp_path, netns=ns)
    rep = prepare([SetMtu(interface="dnpa", mtu=9000)], h)
    s = rep.steps[0]
    assert (s.status, s.checked, s.acted, s.verified) == (StepStatus.CHANGED, True, True, True)
    assert [a.argv for a in s.commands] == [["ip", "-n", ns, "link", "set", "dev", "dnpa",
                                             "mtu", "9000"]]
    assert link(ns, "dnpa")["mtu"] == 9000
    assert link(ns, "dnpb")["mtu"] == 1500
    again = prepare([SetMtu(interface="dnpa", mtu=9000)], Host(tmp_path, netns=ns))
    assert again.steps[0].status is StepStatus.UNCHANGED and again.journal == []


def test_link_address_on_real_veth(ns: str, tmp_path: Path) -> None:
    rep = prepare([SetLinkMac(interface="dnpb", mac="02:D4:1E:00:00:42")],
                  Host(tmp_path, netns=ns))
    assert rep.steps[0].status is StepStatus.CHANGED
    assert link(ns, "dnpb")["address"] == "02:d4:1e:00:00:42"
    again = prepare([SetLinkMac(interface="dnpb", mac="02:d4:1e:00:00:42")],
                    Host(tmp_path, netns=ns))
    assert again.steps[0].status is StepStatus.UNCHANGED


def test_default_route_interface_refused_for_real(ns: str, tmp_path: Path) -> None:
    ip("-n", ns, "addr", "add", "10.77.0.1/24", "dev", "dnpa")
    ip("-n", ns, "link", "set", "dnpa", "up")
    ip("-n", ns, "route", "add", "default", "via", "10.77.0.2")
    rep = prepare([SetMtu(interface="dnpb", mtu=9000), SetMtu(interface="dnpa", mtu=9000)],
                  Host(tmp_path, netns=ns))
    assert [s.status for s in rep.steps] == [StepStatus.SKIPPED, StepStatus.REFUSED]
    assert rep.protected_interfaces == ["dnpa"]
    assert link(ns, "dnpa")["mtu"] == 1500 and link(ns, "dnpb")["mtu"] == 1500


def test_failure_midway_rolls_back_real_links(ns: str, tmp_path: Path) -> None:
    old_mac = link(ns, "dnpb")["address"]
    steps: list[HostStep] = [SetMtu(interface="dnpa", mtu=4000), SetLinkMac(interface="dnpb",
                                                            mac="02:d4:1e:00:00:07"),
             SetMtu(interface="dnpb", mtu=4000), SetMtu(interface="dnpzz", mtu=4000)]
    rep = prepare(steps, Host(tmp_path, netns=ns))
    assert [s.status for s in rep.steps] == [StepStatus.CHANGED] * 3 + [StepStatus.FAILED]
    assert rep.rolled_back
    # Read back from the kernel: both links are as they were.
    assert link(ns, "dnpa")["mtu"] == 1500 and link(ns, "dnpb")["mtu"] == 1500
    assert link(ns, "dnpb")["address"] == old_mac
    rolled = [a.argv for a in rep.journal if a.phase == "rollback"]
    assert rolled == [["ip", "-n", ns, "link", "set", "dev", "dnpb", "mtu", "1500"],
                      ["ip", "-n", ns, "link", "set", "dev", "dnpb", "address", old_mac],
                      ["ip", "-n", ns, "link", "set", "dev", "dnpa", "mtu", "1500"]]


def test_dry_run_in_netns_is_exact_and_changes_nothing(ns: str, tmp_path: Path) -> None:
    rep = prepare([SetMtu(interface="dnpa", mtu=9000), SetLinkMac(interface="dnpa",
                                                                  mac="02:d4:1e:00:00:01")],
                  Host(tmp_path, netns=ns, dry_run=True))
    assert render_dry_run(rep) == (
        f"# dualnet prepare --dry-run: 2 steps, root {tmp_path}, netns {ns}\n"
        "# [1] mtu 9000 on dnpa: would-change (mtu 1500 -> 9000 on dnpa)\n"
        f"ip -n {ns} link set dev dnpa mtu 9000\n"
        f"#   note: dnpa lives in netns {ns}: MTU not persisted\n"
        f"# [2] address 02:d4:1e:00:00:01 on dnpa: would-change (dnpa: address "
        f"{link(ns, 'dnpa')['address']} -> 02:d4:1e:00:00:01)\n"
        f"ip -n {ns} link set dev dnpa address 02:d4:1e:00:00:01\n"
    )
    assert link(ns, "dnpa")["mtu"] == 1500
