"""Unknown facts are said at info level, never turned into verdicts."""

from __future__ import annotations

from dualnet.doctor import Severity, diagnose, exit_code_for
from dualnet.host.models import HostReport, ReadProblem
from dualnet.modes import Mode
from tests.doctor.helpers import ids, only
from tests.doctor.reports import gh200


def test_complete_report_has_no_unknowns() -> None:
    assert "doctor.facts-unknown" not in ids(diagnose(gh200(), Mode.SHARED_ROCE))


def test_empty_pasted_report_is_all_unknown_and_exits_zero() -> None:
    r = HostReport(source="tool-outputs")
    for mode in (None, *Mode):
        found = diagnose(r, mode)
        assert exit_code_for(found) == 0, [f.id for f in found if f.severity is not Severity.INFO]
    f = only(diagnose(r, Mode.SHARED_ROCE), "doctor.facts-unknown")
    assert f.evidence["unknown"] == [
        "kernel modules",
        "RDMA devices",
        "management interface",
        "CNI plugins and configs",
    ]
    assert "lsmod.txt" in " ".join(f.evidence["would_come_from"])  # type: ignore[arg-type]


def test_read_problems_listed() -> None:
    r = gh200(
        problems=[ReadProblem(path="/sys/class/infiniband/mlx5_0/ports/1/gids/5", error="EINVAL")]
    )
    f = only(diagnose(r), "doctor.read-problems")
    assert f.severity is Severity.INFO
    assert f.evidence["problems"] == ["/sys/class/infiniband/mlx5_0/ports/1/gids/5: EINVAL"]
    assert "doctor.read-problems" not in ids(diagnose(gh200()))


def test_netns_unknown_only_matters_with_rdma_devices() -> None:
    f = only(diagnose(gh200(netns_mode=None)), "doctor.facts-unknown")
    assert f.evidence["unknown"] == ["RDMA netns mode"]
    none = gh200(netns_mode=None, rdma_devices=[], topology=[])
    assert "doctor.facts-unknown" not in ids(diagnose(none))


def test_gpus_without_topology_is_unknown() -> None:
    f = only(diagnose(gh200(topology=[])), "doctor.facts-unknown")
    assert f.evidence["unknown"] == ["GPU-NIC topology"]


def test_read_problems_title_names_the_paths() -> None:
    # the table shows the title: "1 source(s) could not be read" alone said nothing of which
    paths = [f"/sys/class/net/eth{i}/speed" for i in range(5)]
    f = only(diagnose(gh200(problems=[ReadProblem(path=p, error="EINVAL") for p in paths])),
             "doctor.read-problems")
    assert f.title == ("5 source(s) could not be read: /sys/class/net/eth0/speed, "
                       "/sys/class/net/eth1/speed, /sys/class/net/eth2/speed (+2 more)")
