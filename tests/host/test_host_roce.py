"""The RoCE facts discovery, the parsers and doctor all take from dualnet.host.roce."""

from __future__ import annotations

from pathlib import Path

from dualnet.host.discover import discover
from dualnet.host.models import Gid
from dualnet.host.roce import gid_ipv4, roce_active_mtu, roce_v2_ipv4_gid_index
from dualnet.host.samples import build_sample
from dualnet.parse.show_gids import parse_show_gids

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def test_active_mtu_follows_the_netdev_mtu_and_the_port_max() -> None:
    assert roce_active_mtu(1500) == 1024
    assert roce_active_mtu(4191) == 2048 and roce_active_mtu(4192) == 4096
    assert roce_active_mtu(9000, max_mtu=2048) == 2048
    assert roce_active_mtu(300) is None


def test_gid_ipv4_reads_ipv4_mapped_gids_in_any_spelling() -> None:
    assert gid_ipv4("0000:0000:0000:0000:0000:ffff:422a:5afd") == "66.42.90.253"
    assert gid_ipv4("::ffff:192.168.50.2") == "192.168.50.2"
    assert gid_ipv4("fe80:0000:0000:0000:a288:c2ff:fea7:5cd4") is None
    assert gid_ipv4("0000:0000:0000:0000:0000:0000:0000:0000") is None
    assert gid_ipv4("0000:0000:0000:0000:0000:ffff:zzzz:0000") is None


def test_v2_ipv4_index_is_the_lowest_v2_gid_with_an_address() -> None:
    gids = [
        Gid(index=2, gid="::ffff:10.0.0.1", ipv4="10.0.0.1", type="IB/RoCE v1"),
        Gid(index=5, gid="::ffff:10.0.0.2", ipv4="10.0.0.2", type="RoCE v2"),
        Gid(index=3, gid="::ffff:10.0.0.1", ipv4="10.0.0.1", type="RoCE v2"),
        Gid(index=1, gid="fe80::1", type="RoCE v2"),
    ]
    assert roce_v2_ipv4_gid_index(gids) == 3
    assert roce_v2_ipv4_gid_index(gids[:1]) is None


def test_discovery_and_show_gids_agree_with_it(tmp_path: Path) -> None:
    report = discover(build_sample("gh200", tmp_path / "gh200"))
    port = report.rdma_devices[0].ports[0]
    assert port.roce_v2_ipv4_gid_index == roce_v2_ipv4_gid_index(port.gids) == 3
    assert all(g.ipv4 == gid_ipv4(g.gid) for g in port.gids)
    # hiroce3 numbers its v2-only table from 0, so its IPv4 GID sits at 1, not mlx5's 3
    text = (CORPUS / "show_gids/huawei-hrn3-bond-plus-mlx5-bond-mixed-vendor-tabs.txt").read_text()
    assert [(d.name, d.ports[0].roce_v2_ipv4_gid_index) for d in parse_show_gids(text)] == [
        ("hrn3_bond_0", 1), ("mlx5_bond_0", None)]
