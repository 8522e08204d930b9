"""The text views: exact layout of the real tools (checked against the corpus), and round trips
through the parsers of `dualnet.parse`."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

from dualnet.host.models import HostReport, PciRelation
from dualnet.host.views import ibdev2netdev_text, show_gids_text, topo_text

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def _corpus_lines(rel: str) -> list[str]:
    return (CORPUS / rel).read_text().splitlines()[1:]  # drop the `# source:` line


def test_host_show_gids_layout_matches_real_output(reports: dict[str, HostReport]) -> None:
    real = _corpus_lines("show_gids/huawei-hrn3-bond-plus-mlx5-bond-mixed-vendor-tabs.txt")
    text = show_gids_text(reports["gh200"])
    lines = text.splitlines()
    assert lines[:2] == real[:2]  # header and separator, byte for byte
    # row shapes: same number of TAB fields and the same IPv4 cell padding as the real rows
    real_v4 = next(x for x in real if "ffff" in x)
    ours_v4 = next(x for x in lines if "ffff" in x)
    assert real_v4.count("\t") == ours_v4.count("\t")
    assert ours_v4.split("\t")[4] == "66.42.90.253  "
    real_ll = next(x for x in real[2:] if "fe80" in x)
    ours_ll = next(x for x in lines if "fe80" in x)
    assert real_ll.count("\t") == ours_ll.count("\t")
    assert lines[-1] == "n_gids_found=6"
    assert lines[5] == ("mlx5_0\t1\t3\t0000:0000:0000:0000:0000:ffff:422a:5afd\t66.42.90.253  "
                       "\tv2\tenp1s0f0np0")


def test_host_show_gids_one_device_and_skips(reports: dict[str, HostReport]) -> None:
    r = copy.deepcopy(reports["gh200"])
    port = r.rdma_devices[1].ports[0]
    port.gids.append(dataclasses.replace(
        port.gids[0], index=9, gid="fe80:0000:0000:0000:0000:0000:0000:0000"))
    text = show_gids_text(r, "mlx5_1")
    assert "mlx5_0" not in text and ":0000:0000:0000:0000\t" not in text
    assert text.endswith("n_gids_found=2\n")


def test_host_show_gids_dgx_ib_rows_have_no_netdev(reports: dict[str, HostReport]) -> None:
    text = show_gids_text(reports["dgx_h100_ib"], "mlx5_0")
    row = text.splitlines()[2]
    assert row.split("\t")[-2:] == ["v1", ""]


def test_host_ibdev2netdev_layout(reports: dict[str, HostReport]) -> None:
    assert ibdev2netdev_text(reports["gh200"]) == (
        "mlx5_0 port 1 ==> enp1s0f0np0 (Up)\nmlx5_1 port 1 ==> enp1s0f1np1 (Down)\n")
    verbose = ibdev2netdev_text(reports["gh200"], verbose=True).splitlines()
    assert verbose[1] == ("0000:01:00.1 mlx5_1 (MT4129 - NA)  fw 28.40.1000 port 1 (DOWN  ) "
                          "==> enp1s0f1np1 (Down)")
    # the same shape as a real VF line of `ibdev2netdev -v` (no VPD: part NA, empty description)
    real = _corpus_lines("ibdev2netdev/verbose-cx4-eth-pf-plus-4vfs-down-sriov-cni-docs.txt")[2]
    assert real.replace("MT4116", "MT4129").replace("12.23.1020", "28.40.1000").replace(
        "0000:02:00.5 mlx5_2", "0000:01:00.1 mlx5_1").replace("enp2s0f2", "enp1s0f1np1") == (
        verbose[1])


def test_host_topo_layout(reports: dict[str, HostReport]) -> None:
    lines = topo_text(reports["gh200"]).splitlines()
    assert lines[0] == "\tGPU0\tNIC0\tNIC1\tCPU Affinity\tNUMA Affinity\tGPU NUMA ID"
    assert lines[1] == "GPU0\t X \tNODE\tNODE\t0-71\t0\t\tN/A"
    assert lines[2] == "NIC0\tNODE\t X \tPIX\t\t\t\t"
    assert lines[3] == "NIC1\tNODE\tPIX\t X \t\t\t\t"
    real = _corpus_lines("nvidia-smi_topo/h100-8gpu-12nic-ib-plus-cx6dx-container-cpuset.txt")
    legend_real = real[real.index("Legend:"):]
    legend_ours = lines[lines.index("Legend:"):]
    assert legend_ours[:9] == legend_real[:9]
    assert legend_ours[-4:] == ["NIC Legend:", "", "  NIC0: mlx5_0", "  NIC1: mlx5_1"]


def test_host_views_round_trip_through_parsers(reports: dict[str, HostReport]) -> None:
    from dualnet.parse.ibdev2netdev import parse_ibdev2netdev
    from dualnet.parse.nvidia_smi_topo import parse_nvidia_smi_topo
    from dualnet.parse.show_gids import parse_show_gids

    for name in ("gh200", "dgx_h100_ib", "roce_sriov"):
        r = reports[name]
        parsed = {d.name: d for d in parse_show_gids(show_gids_text(r))}
        for dev in r.rdma_devices:
            want = [(g.index, g.gid, g.netdev) for p in dev.ports for g in p.gids]
            got = [(g.index, g.gid, g.netdev) for p in parsed[dev.name].ports for g in p.gids]
            assert got == want, (name, dev.name)
        by_dev = {d.name: d for d in parse_ibdev2netdev(ibdev2netdev_text(r))}
        for dev in r.rdma_devices:
            assert [p.netdev for p in by_dev[dev.name].ports] == [p.netdev for p in dev.ports]
        topo = parse_nvidia_smi_topo(topo_text(r))
        assert {(t.gpu, t.nic, t.relation) for t in topo.topology} == {
            (t.gpu, t.nic, t.relation) for t in r.topology}
    assert PciRelation.NODE in {t.relation for t in reports["gh200"].topology}


def test_host_topo_marks_gpu_pairs_as_pci_only(reports: dict[str, HostReport]) -> None:
    # sysfs cannot see NVLink: GPU x GPU cells carry the PCI-only mark and the legend says so,
    # rather than read like nvidia-smi's NV# answer. GPU x NIC cells stay unmarked.
    from dualnet.parse.nvidia_smi_topo import parse_nvidia_smi_topo

    report = reports["dgx_h100_ib"]
    text = topo_text(report)
    lines = text.splitlines()
    n = len(report.gpus)
    assert n > 1
    row = lines[1].split("\t")
    assert row[1] == " X " and all(c.endswith("*") for c in row[2:n + 1])
    assert not any(c.endswith("*") for c in row[n + 1:])
    assert any("PCI path only" in x and "NVLink" in x for x in lines if x.startswith("  *"))
    assert {(t.gpu, t.nic, t.relation) for t in parse_nvidia_smi_topo(text).topology} == {
        (t.gpu, t.nic, t.relation) for t in report.topology}
