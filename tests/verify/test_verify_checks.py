"""The step-7 checks over real captured outputs (corpus + tests/verify/outputs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dualnet.parse.errors import ParseError
from dualnet.parse.ip import parse_ip_addr
from dualnet.verify.checks import (
    check_dev_infiniband,
    check_ibv_devinfo,
    check_interfaces,
    check_network_status,
    check_ping,
    net1_ips,
)
from dualnet.verify.models import Status

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
OUT = Path(__file__).parent / "outputs"


def corpus(rel: str) -> str:
    return (CORPUS / rel).read_text()


def test_network_status_gh200_passes_with_both_addresses() -> None:
    r = check_network_status("default/rdma-test", corpus("network-status/gh200-macvlan.txt"))
    assert r.status is Status.PASS
    assert "eth0 10.42.0.9 (default)" in r.summary and "net1 192.168.50.2" in r.summary
    assert "net1 (default)" not in " ".join(r.evidence)
    assert r.evidence == ["eth0 (default): cbr0 ips=10.42.0.9",
                          "net1: default/rdma-net ips=192.168.50.2"]


def test_network_status_default_without_interface_name_is_taken_as_eth0() -> None:
    text = corpus("network-status/sriov-rdma-device-mlx5_4-tabs-nil-gateway.txt")
    r = check_network_status("default/p", text)
    assert r.status is Status.PASS
    assert "taken as eth0" in r.summary


def test_network_status_net1_without_address_fails() -> None:
    text = corpus("network-status/host-device-ovn-ipv6-no-ips-yaml.txt")
    r = check_network_status("sriramy/p", text)
    assert r.status is Status.FAIL
    assert "net1 (sriramy/net-a) has no IP address" in r.summary


def test_network_status_truncated_paste_fails_with_reason() -> None:
    text = corpus("network-status/TRUNCATED-head-two-vfs-same-network-describe-less.txt")
    r = check_network_status("x/p", text)
    assert r.status is Status.FAIL
    assert "does not parse" in r.summary


def test_network_status_missing_annotation_fails() -> None:
    r = check_network_status("x/p", None)
    assert r.status is Status.FAIL and "Multus did not handle this pod" in r.summary


def test_interfaces_from_real_pod_ip_a() -> None:
    ifaces = parse_ip_addr((OUT / "ip_addr-pod-eth0-net1-sriov-openshift.txt").read_text())
    r = check_interfaces("default/nvidiatools-29-workload", ifaces, ["192.168.2.2"])
    assert r.status is Status.PASS
    assert any(e.startswith("net1: <BROADCAST,MULTICAST,UP,LOWER_UP> state UP mtu 1500")
               for e in r.evidence)


def test_interfaces_guide_capture_and_network_status_agree() -> None:
    ifaces = parse_ip_addr((OUT / "ip_addr-gh200-pod-guide.txt").read_text())
    ips = net1_ips(corpus("network-status/gh200-macvlan.txt"))
    assert ips == ["192.168.50.2"]
    assert check_interfaces("default/rdma-test", ifaces, ips).status is Status.PASS
    r = check_interfaces("default/rdma-test", ifaces, ["192.168.50.3"])
    assert r.status is Status.FAIL and "net1 lacks 192.168.50.3" in r.summary


def test_interfaces_down_or_missing_fail() -> None:
    text = (OUT / "ip_addr-pod-eth0-net1-sriov-openshift.txt").read_text()
    down = text.replace("3: net1@if82: <BROADCAST,MULTICAST,UP,LOWER_UP>",
                        "3: net1@if82: <NO-CARRIER,BROADCAST,MULTICAST,UP>")
    r = check_interfaces("p", parse_ip_addr(down))
    assert r.status is Status.FAIL and "net1 not up" in r.summary
    only_eth0 = "\n".join(text.splitlines()[:13])
    r = check_interfaces("p", parse_ip_addr(only_eth0))
    assert r.status is Status.FAIL and "net1 missing" in r.summary


def test_ip_addr_garbage_names_the_line() -> None:
    with pytest.raises(ParseError, match="line 1"):
        parse_ip_addr("error: exec failed: ip: not found\n")


def test_dev_infiniband_guide_listing() -> None:
    listing = (OUT / "ls-dev-infiniband-gh200-pod.txt").read_text().splitlines()[1]
    r = check_dev_infiniband("default/rdma-test", listing, expected_uverbs=2)
    assert r.status is Status.PASS and r.summary == "uverbs0, uverbs1 and rdma_cm present"
    r = check_dev_infiniband("p", "umad0 uverbs0")
    assert r.status is Status.FAIL and "no rdma_cm" in r.summary
    r = check_dev_infiniband("p", "ls: cannot access '/dev/infiniband': No such file or directory")
    assert r.status is Status.FAIL and "did not request the RDMA resource" in r.summary


def test_ibv_devinfo_in_pod_expected_device_active() -> None:
    text = corpus("ibv_devinfo/gh200-cx7-in-pod.txt")
    r = check_ibv_devinfo("default/rdma-test", text, "mlx5_0")
    assert r.status is Status.PASS and r.summary == "ACTIVE: mlx5_0/1"
    assert "mlx5_1 port 1: DOWN (Ethernet)" in r.evidence
    r = check_ibv_devinfo("default/rdma-test", text, "mlx5_1")
    assert r.status is Status.FAIL and "no ACTIVE port on mlx5_1" in r.summary
    r = check_ibv_devinfo("default/rdma-test", text, "mlx5_7")
    assert r.status is Status.FAIL and "pod sees mlx5_0, mlx5_1" in r.summary


def test_ibv_devinfo_error_output_fails() -> None:
    text = corpus("ibv_devinfo/ERROR-list-no-userspace-driver-0-hcas.txt")
    r = check_ibv_devinfo("p", text)
    assert r.status is Status.FAIL


def test_ping_reply_and_no_reply() -> None:
    ok = check_ping("a", "b", "10.9.9.3", (OUT / "ping-reply-iputils.txt").read_text(), 0)
    assert ok.status is Status.PASS and ok.summary == "3/3 replies, avg rtt 0.093 ms"
    bad = check_ping("a", "b", "10.9.9.4", (OUT / "ping-no-reply-iputils.txt").read_text(), 1)
    assert bad.status is Status.FAIL and bad.summary.startswith("0/3 replies over net1")
    assert "3 packets transmitted, 0 received, 100% packet loss, time 2037ms" in bad.evidence
    none = check_ping("a", "b", "10.9.9.4", "ping: command not found", 127)
    assert none.status is Status.FAIL and "no summary" in none.summary
