"""Round trips: discover a sample tree, print it with dualnet.host.views, parse it back."""

from __future__ import annotations

from pathlib import Path

import pytest

from dualnet.host import views
from dualnet.host.discover import discover
from dualnet.host.models import HostReport
from dualnet.host.samples import build_sample
from dualnet.parse.errors import ParseError
from dualnet.parse.ibdev2netdev import parse_ibdev2netdev_rows
from dualnet.parse.nvidia_smi_topo import parse_nvidia_smi_topo
from dualnet.parse.show_gids import parse_show_gids

SAMPLES = ["gh200", "dgx_h100_ib", "roce_sriov"]


@pytest.fixture(scope="module", params=SAMPLES)
def report(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> HostReport:
    root = build_sample(request.param, tmp_path_factory.mktemp(request.param))
    return discover(Path(root))


def test_show_gids_round_trip(report: HostReport) -> None:
    parsed = {d.name: d for d in parse_show_gids(views.show_gids_text(report))}
    for dev in report.rdma_devices:
        for port in dev.ports:
            shown = [g for g in port.gids if not g.gid.endswith("0000:0000:0000:0000")]
            if not shown:
                continue
            back = next(p for p in parsed[dev.name].ports if p.number == port.number)
            assert [(g.index, g.gid, g.ipv4, g.roce_version) for g in back.gids] == [
                (g.index, g.gid, g.ipv4, g.roce_version) for g in shown
            ]
            assert back.roce_v2_ipv4_gid_index == port.roce_v2_ipv4_gid_index


@pytest.mark.parametrize("verbose", [False, True])
def test_ibdev2netdev_round_trip(report: HostReport, verbose: bool) -> None:
    rows = parse_ibdev2netdev_rows(views.ibdev2netdev_text(report, verbose=verbose))
    expected = [
        (d.name, p.number, p.netdev)
        for d in sorted(report.rdma_devices, key=lambda d: d.name)
        for p in d.ports
        if p.netdev
    ]
    assert [(r.ibdev, r.port, r.netdev) for r in rows] == expected
    if verbose:
        for row in rows:
            dev = report.rdma_device(row.ibdev)
            assert dev is not None
            assert row.pci_address == dev.pci_address
            assert row.fw_ver == dev.fw_ver
            assert row.hca_type == f"MT{dev.vendor_part_id}"
            assert row.port_state == dev.ports[0].state


def test_topo_round_trip(report: HostReport) -> None:
    text = views.topo_text(report)
    if not report.gpus and not any(d.pci_address for d in report.rdma_devices):
        with pytest.raises(ParseError):
            parse_nvidia_smi_topo(text)
        return
    topo = parse_nvidia_smi_topo(text)
    assert topo.unresolved_nics == []
    assert {(e.gpu, e.nic, e.relation) for e in topo.topology} == {
        (e.gpu, e.nic, e.relation) for e in report.topology
    }
    assert [(g.index, g.numa_node, g.local_cpulist) for g in topo.gpus] == [
        (g.index, g.numa_node, g.local_cpulist) for g in report.gpus
    ]
