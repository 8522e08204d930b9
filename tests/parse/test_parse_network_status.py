"""The Multus network-status annotation: spec variants in, Multus's exact bytes out."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dualnet.errors import UsageError
from dualnet.parse.errors import ParseError
from dualnet.parse.network_status import (
    DeviceInfo,
    Dns,
    NetworkStatus,
    PciDeviceInfo,
    dump_network_status,
    parse_network_status,
)
from tests.parse.corpus import read

# formats.md §3.4 example, in the byte layout Multus produces: each entry json.MarshalIndent'ed
# with 4 spaces, joined with "," inside "[...]".
MULTUS_WRITTEN = """[{
    "name": "cbr0",
    "interface": "eth0",
    "ips": [
        "10.244.1.7"
    ],
    "mac": "9a:3e:11:c2:00:01",
    "default": true,
    "dns": {},
    "gateway": [
        "10.244.1.1"
    ]
},{
    "name": "rdma-ns/roce-p0",
    "interface": "roce0",
    "ips": [
        "192.168.50.10"
    ],
    "mac": "52:54:00:aa:bb:01",
    "mtu": 9000,
    "dns": {},
    "device-info": {
        "type": "pci",
        "version": "1.1.0",
        "pci": {
            "pci-address": "0000:3b:00.4",
            "rdma-device": "mlx5_4"
        }
    }
}]"""


def test_dump_is_byte_exact_multus_layout() -> None:
    entries = parse_network_status(MULTUS_WRITTEN)
    assert dump_network_status(entries) == MULTUS_WRITTEN


def test_dump_matches_the_published_corpus_block() -> None:
    # The YAML block scalar holds Multus's bytes indented by 8; undo the indent and compare.
    text = read("network-status/macvlan-yaml-both-network-status-and-networks-status.txt")
    block = text.split("k8s.v1.cni.cncf.io/network-status: |-\n", 1)[1]
    block = block.split("\n      k8s.v1.cni.cncf.io/networks:", 1)[0]
    original = "\n".join(line[8:] for line in block.splitlines())
    assert dump_network_status(parse_network_status(text)) == original


def test_spec_variants_are_accepted() -> None:
    spec_style = json.dumps(
        [
            {
                "name": "ns/net",
                "interface": "net1",
                "ips": ["10.1.0.5/24", "fd00::0005/64"],
                "default-route": ["10.1.0.1"],
                "dns": {"nameservers": ["10.1.0.53"]},
                "device-info": {"type": "pci", "version": "1.0.0", "pci": {"pci-address": "x"}},
            }
        ]
    )
    (entry,) = parse_network_status(spec_style)
    assert entry.ips == ["10.1.0.5", "fd00::5"]
    assert entry.gateway == ["10.1.0.1"]
    assert entry.default is False  # missing `default`
    assert entry.dns.nameservers == ["10.1.0.53"]
    dumped = json.loads(dump_network_status([entry]))
    assert dumped[0]["ips"] == ["10.1.0.5", "fd00::5"]
    assert "default" not in dumped[0] and "default-route" not in dumped[0]
    assert dumped[0]["gateway"] == ["10.1.0.1"]


def test_dump_omits_empty_and_false_but_keeps_dns() -> None:
    entry = NetworkStatus(name="ns/x", mtu=0, mac="")
    assert dump_network_status([entry]) == '[{\n    "name": "ns/x",\n    "dns": {}\n}]'


def test_go_html_escaping() -> None:
    entry = NetworkStatus(name="a<b>&c")
    assert '"a\\u003cb\\u003e\\u0026c"' in dump_network_status([entry])


@pytest.mark.parametrize(
    "text",
    [
        'k8s.v1.cni.cncf.io/network-status: \'[{"name":"a/b","ips":["10.0.0.1"]}]\'',
        json.dumps({"k8s.v1.cni.cncf.io/network-status": '[{"name":"a/b","ips":["10.0.0.1"]}]'}),
        '[{"name":"a/b","ips":["10.0.0.1"]}]',
        '{"name":"a/b","ips":["10.0.0.1/32"]}',
    ],
)
def test_paste_forms(text: str) -> None:
    (entry,) = parse_network_status(text)
    assert (entry.name, entry.ips) == ("a/b", ["10.0.0.1"])


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty input"),
        ("no json here", "no JSON list"),
        ('[{"name": "a", "ips": ["not-an-ip"]}]', "'ips"),
        ('[{"name": "a"},', "invalid JSON"),
        ("[1, 2]", "entry 0 is int"),
        ('"just a string"', "no JSON list"),
    ],
)
def test_errors_are_parse_errors(text: str, fragment: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_network_status(text)
    assert fragment in str(info.value)
    assert isinstance(info.value, UsageError) and info.value.exit_code == 2
    assert info.value.source == "network-status"


def test_truncated_head_names_the_line() -> None:
    text = read("network-status/TRUNCATED-head-two-vfs-same-network-describe-less.txt")
    with pytest.raises(ParseError) as info:
        parse_network_status(text)
    assert info.value.line_no == 2 and info.value.line.strip() == "},{"
    assert "truncated head" in info.value.reason


def test_prefers_current_key_over_deprecated() -> None:
    text = (
        'k8s.v1.cni.cncf.io/networks-status: \'[{"name":"old"}]\'\n'
        'k8s.v1.cni.cncf.io/network-status: \'[{"name":"new"}]\'\n'
    )
    assert [e.name for e in parse_network_status(text)] == ["new"]
    only_old = 'k8s.v1.cni.cncf.io/networks-status: \'[{"name":"old"}]\''
    assert [e.name for e in parse_network_status(only_old)] == ["old"]


_IPS = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str)
_WORD = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1)


@st.composite
def _entries(draw: st.DrawFn) -> NetworkStatus:
    pci = draw(
        st.none()
        | st.builds(
            PciDeviceInfo,
            pci_address=st.just("0000:3b:00.4"),
            rdma_device=st.none() | st.just("mlx5_4"),
        )
    )
    return NetworkStatus(
        name=draw(_WORD),
        interface=draw(st.none() | _WORD),
        ips=draw(st.lists(_IPS, max_size=3)),
        mac=draw(st.none() | st.just("52:54:00:aa:bb:01")),
        mtu=draw(st.none() | st.integers(min_value=1, max_value=65535)),
        default=draw(st.booleans()),
        dns=Dns(
            nameservers=draw(st.lists(_IPS, max_size=2)),
            domain=draw(st.none() | _WORD),
            search=draw(st.lists(_WORD, max_size=2)),
        ),
        device_info=None if pci is None else DeviceInfo(type="pci", pci=pci),
        gateway=draw(st.lists(_IPS, max_size=2)),
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(_entries(), min_size=1, max_size=4))
def test_dump_then_parse_round_trips(entries: list[NetworkStatus]) -> None:
    text = dump_network_status(entries)
    assert parse_network_status(text) == entries
    # what Go would accept: plain JSON, keys in struct order, dns always present
    for raw in json.loads(text):
        assert "dns" in raw
        assert next(iter(raw)) == "name"
