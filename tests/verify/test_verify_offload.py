"""Verify on OVS offload pods: the training VF is the pod's default network (eth0, from the NAD in
`v1.multus-cni.io/default-network`), so every check that looks at net1 looks at eth0 instead."""

from __future__ import annotations

import json
from pathlib import Path

from dualnet.cluster.pods import ExecResult
from dualnet.labels import DEFAULT_NETWORK_ANNOTATION, NETWORKS_ANNOTATION
from dualnet.verify.checks import check_network_status, net1_ips, training_interface
from dualnet.verify.models import Status
from dualnet.verify.run import PodCapture, evaluate_pod

OUT = Path(__file__).parent / "outputs"
# Multus' network-status for a pod whose default network is a NAD: one entry, default, eth0,
# with the VF's PCI address in device-info (the shape Multus writes; the address is the pod's)
STATUS = json.dumps([{"name": "default/offload-net", "interface": "eth0",
                      "ips": ["10.244.1.12"], "mac": "0a:58:0a:f4:01:0c", "default": True,
                      "dns": {}, "device-info": {"type": "pci", "version": "1.1.0",
                                                 "pci": {"pci-address": "0000:3b:00.2"}}}])


def test_an_offload_pod_trains_on_eth0() -> None:
    assert training_interface({DEFAULT_NETWORK_ANNOTATION: "default/offload-net"}) == "eth0"
    assert training_interface({NETWORKS_ANNOTATION: "rdma-net"}) == "net1"
    assert training_interface({DEFAULT_NETWORK_ANNOTATION: "x", NETWORKS_ANNOTATION: "y"}) \
        == "net1"


def test_network_status_of_an_offload_pod_passes_without_net1() -> None:
    assert check_network_status("default/p", STATUS).status is Status.FAIL  # net1 expected
    r = check_network_status("default/p", STATUS, "eth0")
    assert r.status is Status.PASS and "from default/offload-net" in r.summary
    assert net1_ips(STATUS, "eth0") == ["10.244.1.12"]


def test_interfaces_of_an_offload_pod_need_only_eth0() -> None:
    # eth0 alone: the first 13 lines of a real pod's `ip addr` (its net1 cut off)
    eth0_only = "\n".join((OUT / "ip_addr-pod-eth0-net1-sriov-openshift.txt").read_text()
                          .splitlines()[:13])
    ip_addr = ExecResult(command=["ip", "addr"], exit_code=0, stdout=eth0_only, stderr="")
    status = STATUS.replace("10.244.1.12", _eth0_ip(eth0_only))
    plain = PodCapture(target="default/p", network_status=status, ip_addr=ip_addr)
    assert {r.check: r.status for r in evaluate_pod(plain)}["interfaces"] is Status.FAIL
    offload = plain.model_copy(update={"training_if": "eth0"})
    results = {r.check: r for r in evaluate_pod(offload)}
    assert results["network-status"].status is Status.PASS
    assert results["interfaces"].status is Status.PASS, results["interfaces"].summary
    assert results["interfaces"].summary == "eth0 is UP,LOWER_UP with addresses"


def _eth0_ip(text: str) -> str:
    line = next(ln for ln in text.splitlines() if "inet " in ln and "eth0" in ln)
    return line.split()[1].split("/")[0]
