"""ib_write_bw and all_reduce_perf parsers on real published outputs (tests/verify/outputs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dualnet.parse.errors import ParseError
from dualnet.verify.nccl_tests import parse_all_reduce_perf
from dualnet.verify.perftest import parse_ib_write_bw

OUT = Path(__file__).parent / "outputs"


def read(name: str) -> str:
    text = (OUT / name).read_text()
    assert text.startswith("# source: ")
    return text


def test_every_fixture_names_its_source() -> None:
    for f in OUT.iterdir():
        assert f.read_text().startswith("# source: "), f.name


def test_ib_write_bw_ndr_infiniband() -> None:
    r = parse_ib_write_bw(read("ib_write_bw-cx7-ndr-ib-report-gbits.txt"))
    assert (r.test, r.device, r.link_type, r.qps, r.mtu, r.units, r.cuda) == (
        "RDMA_Write BW Test", "mlx5_0", "IB", 1, 4096, "Gb/sec", False)
    assert len(r.rows) == 1
    row = r.rows[0]
    assert (row.bytes, row.iterations, row.bw_peak_gbps, row.bw_avg_gbps) == (65536, 5000,
                                                                               392.38, 392.34)
    assert r.best_avg_gbps == 392.34


def test_ib_write_bw_gpudirect_roce_duration_mode() -> None:
    r = parse_ib_write_bw(read("ib_write_bw-use-cuda-a40-roce-16qp-duration.txt"))
    assert r.cuda and r.gpu == "NVIDIA A40"
    assert (r.device, r.link_type, r.qps, r.gid_index, r.exchange) == ("mlx5_1", "Ethernet", 16,
                                                                       3, "rdma_cm")
    assert r.rows[0].bw_peak_gbps == 0.0  # -D mode measures no peak
    assert r.best_avg_gbps == 181.46


def test_ib_write_bw_mib_units_are_converted_to_gbps() -> None:
    r = parse_ib_write_bw(read("ib_write_bw-use-cuda-rtx4080-mib-units.txt"))
    assert r.units == "MiB/sec" and r.cuda
    assert r.best_avg_gbps == pytest.approx(14948.67 * 1048576 * 8 / 1e9)


def test_ib_write_bw_all_sizes_bidirectional_indented() -> None:
    r = parse_ib_write_bw(read("ib_write_bw-roce-bidir-all-sizes-indented.txt"))
    assert r.bidirectional and len(r.rows) == 23
    assert [x.bytes for x in r.rows][:3] == [2, 4, 8]
    assert r.best_avg_gbps == 204.59


def test_ib_write_bw_cut_row_names_the_line() -> None:
    text = read("ib_write_bw-cx7-ndr-ib-report-gbits.txt").replace(
        " 65536      5000             392.38             392.34 \t\t     0.748336",
        " 65536      5000             392.38")
    want = text.splitlines().index(" 65536      5000             392.38") + 1
    with pytest.raises(ParseError) as err:
        parse_ib_write_bw(text)
    assert err.value.line_no == want and "5 numbers" in err.value.message
    assert err.value.exit_code == 2


def test_ib_write_bw_without_table_is_an_error() -> None:
    with pytest.raises(ParseError, match="no result table"):
        parse_ib_write_bw(" Couldn't connect to 10.0.0.2:18515\nUnable to open file descriptor\n")


def test_all_reduce_perf_two_nodes() -> None:
    r = parse_all_reduce_perf(read("all_reduce_perf-2node-16xh100-mpirun.txt"))
    assert r.ranks == 16 and r.hosts == ["ztan-mig-235z", "ztan-mig-gq73"]
    assert r.ranks_per_host == 8
    assert len(r.rows) == 31
    last = r.rows[-1]
    assert (last.size_bytes, last.dtype, last.redop, last.root) == (8589934592, "float", "sum", -1)
    assert (last.out_of_place.algbw_gbs, last.out_of_place.busbw_gbs) == (180.71, 338.82)
    assert last.in_place.busbw_gbs == 337.35
    assert r.peak_busbw_gbs == 338.82 and r.avg_busbw_gbs == 70.742
    assert r.out_of_bounds == 0 and r.errors == 0
    assert set(r.gpus) == {"NVIDIA H100 80GB HBM3"}


def test_all_reduce_perf_short_row_names_the_line() -> None:
    text = read("all_reduce_perf-2node-16xh100-mpirun.txt").replace(
        "    16777216       4194304     float     sum      -1    977.6   17.16   32.18      0",
        "    16777216       4194304     float     sum      -1    977.6   17.16")
    want = text.splitlines().index("    16777216       4194304     float     sum      -1    977.6"
                                   "   17.16    951.6   17.63   33.06      0") + 1
    with pytest.raises(ParseError) as err:
        parse_all_reduce_perf(text)
    assert "has 13 columns, this one 11" in err.value.message and err.value.line_no == want


def test_all_reduce_perf_validation_off_reads_na() -> None:
    text = read("all_reduce_perf-2node-16xh100-mpirun.txt").replace(
        "338.82      0    47743  179.92  337.35      0",
        "338.82    N/A    47743  179.92  337.35    N/A")
    r = parse_all_reduce_perf(text)
    assert r.rows[-1].out_of_place.wrong is None


def test_all_reduce_perf_failed_run_is_an_error() -> None:
    text = "# nThread 1 nGpus 1 minBytes 8\nhost:1:1 [0] NCCL WARN NET/IB : No device found.\n"
    with pytest.raises(ParseError, match="no result rows"):
        parse_all_reduce_perf(text)
