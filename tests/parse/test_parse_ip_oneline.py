"""`ip -o addr` / `ip -o link` (one-line form) and the properties verify reads, on real outputs:
the captures in tests/parse/outputs and a live `ip` run inside a throw-away network namespace."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dualnet.parse.errors import ParseError
from dualnet.parse.ip import parse_ip_addr, parse_ip_link
from tests.helpers import require

OUT = Path(__file__).parent / "outputs"


def test_ip_o_addr_merges_one_line_per_address() -> None:
    ifaces = parse_ip_addr((OUT / "ip_o_addr-veth-netns.txt").read_text())
    assert [(i.ifindex, i.name) for i in ifaces] == [(1, "lo"), (2, "dnco-b"), (3, "dnco-a")]
    a = ifaces[2]
    assert a.ipv4 == ["192.168.50.2/24"]
    assert a.ipv6 == ["fd00:50::2/64", "fe80::8cf1:abff:fee8:826/64"]
    assert a.ips == ["192.168.50.2", "fd00:50::2", "fe80::8cf1:abff:fee8:826"]
    # `ip -o addr` prints no flags: nothing says the link is up
    assert a.flags == [] and not a.lower_up


def test_ip_o_link_splits_the_folded_lines() -> None:
    ifaces = parse_ip_link((OUT / "ip_o_link-veth-netns.txt").read_text())
    b = ifaces[1]
    assert (b.name, b.link, b.mtu, b.state) == ("dnco-b", "dnco-a", 1500, "UP")
    assert (b.link_type, b.mac) == ("ether", "aa:e0:ea:51:b6:8c")
    assert b.lower_up and ifaces[0].link_type == "loopback"


def test_ip_o_link_then_o_addr_fills_one_interface() -> None:
    text = (OUT / "ip_o_addr-veth-netns.txt").read_text() + (
        OUT / "ip_o_link-veth-netns.txt").read_text().split("\n", 1)[1]
    a = next(i for i in parse_ip_addr(text) if i.name == "dnco-a")
    assert a.lower_up and a.mac == "8e:f1:ab:e8:08:26"
    assert a.ipv4 == ["192.168.50.2/24"]


def test_full_form_interface_listed_twice_is_refused() -> None:
    block = "2: eth0: <UP,LOWER_UP> mtu 1500 state UP\n    inet 10.0.0.1/24\n"
    with pytest.raises(ParseError, match="eth0 listed twice"):
        parse_ip_addr(block + block)


@pytest.fixture
def netns() -> Iterator[str]:
    require(shutil.which("ip") is not None, "iproute2 `ip`")
    name = f"dnco{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True)
    require(made.returncode == 0, "root and `ip netns` (network namespaces)")
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def _ip(ns: str, *args: str) -> str:
    return subprocess.run(["ip", "-n", ns, *args], check=True, capture_output=True,
                          text=True).stdout


def test_live_full_and_one_line_forms_agree(netns: str) -> None:
    _ip(netns, "link", "add", "dnco-a", "type", "veth", "peer", "name", "dnco-b")
    for dev in ("lo", "dnco-a", "dnco-b"):
        _ip(netns, "link", "set", dev, "up")
    _ip(netns, "addr", "add", "192.168.50.2/24", "dev", "dnco-a")
    _ip(netns, "addr", "add", "fd00:50::2/64", "dev", "dnco-a", "nodad")
    _ip(netns, "addr", "add", "10.42.0.9/24", "dev", "dnco-b")
    full = {i.name: i for i in parse_ip_addr(_ip(netns, "addr"))}
    oneline = {i.name: i for i in parse_ip_addr(_ip(netns, "-o", "addr"))}
    assert set(full) == set(oneline) == {"lo", "dnco-a", "dnco-b"}
    for name, iface in full.items():
        assert oneline[name].addresses == iface.addresses
        assert oneline[name].ifindex == iface.ifindex
    assert "192.168.50.2" in full["dnco-a"].ips and "fd00:50::2/64" in full["dnco-a"].ipv6
    assert full["dnco-b"].ipv4 == ["10.42.0.9/24"] and full["dnco-b"].link == "dnco-a"
    links = {i.name: i for i in parse_ip_link(_ip(netns, "-o", "link"))}
    assert {n: (i.mac, i.flags) for n, i in links.items()} == {
        n: (i.mac, i.flags) for n, i in full.items()}
