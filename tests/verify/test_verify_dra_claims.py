"""`verify` on a DRA pod: claim status (conditions as dranet writes them) against the pod's
`ip addr` (the real capture ip_addr-pod-eth0-net1-sriov-openshift.txt: net1 192.168.2.2/24).

The claims are constructed in the resource.k8s.io/v1 ResourceClaim shape
(status.allocation.devices.results[], status.devices[] with conditions and networkData), with
the condition types and event reasons found in dranet's RunPodSandbox hook.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import kmock
import pytest
from testsupport.apiserver import PodApiEmulator, Reply, write_kubeconfig

from dualnet.verify.dra_claims import check_claim
from dualnet.verify.dra_run import verify_dra_pod
from dualnet.verify.models import Status
from tests.helpers import Harness, dualnet_async, run_cli

IP_ADDR = (Path(__file__).resolve().parent / "outputs"
           / "ip_addr-pod-eth0-net1-sriov-openshift.txt").read_text()
POD = "default/rdma-test-0"


def _cond(kind: str, status: str = "True") -> dict[str, str]:
    return {"type": kind, "status": status, "reason": kind,
            "lastTransitionTime": "2026-11-30T10:00:00Z"}


GOOD: dict[str, Any] = {
    "apiVersion": "resource.k8s.io/v1",
    "kind": "ResourceClaim",
    "metadata": {"name": "rdma-test-0-nic-x7k2p", "namespace": "default"},
    "status": {
        "allocation": {"devices": {"results": [
            {"request": "nic", "driver": "dra.net", "pool": "gpu-node-1",
             "device": "enp1s0f1np1"},
        ]}},
        "devices": [{
            "driver": "dra.net", "pool": "gpu-node-1", "device": "enp1s0f1np1",
            "conditions": [_cond("Ready"), _cond("NetworkReady"), _cond("RDMALinkReady")],
            "networkData": {"interfaceName": "net1", "ips": ["192.168.2.2/24"],
                            "hardwareAddress": "22:3e:02:c9:d0:87"},
        }],
    },
}
EVENTS = [
    {"type": "Normal", "reason": "Scheduled", "message": "Successfully assigned"},
    {"type": "Warning", "reason": "RDMADeviceAttachFailed",
     "message": "failed to attach RDMA device mlx5_1 to pod default/rdma-test-0: error moving"},
]


def _claim() -> dict[str, Any]:
    return copy.deepcopy(GOOD)


def test_good_claim_passes() -> None:
    rows = check_claim(POD, GOOD, IP_ADDR, exclusive_rdma=True)
    assert [(r.check, r.status) for r in rows] == [
        ("dra-claim", Status.PASS), ("dra-interface", Status.PASS)]
    assert rows[0].summary == "Ready=True, NetworkReady=True, RDMALinkReady=True"


def test_missing_rdma_link_condition_fails_with_the_events() -> None:
    claim = _claim()
    claim["status"]["devices"][0]["conditions"] = [_cond("Ready"), _cond("NetworkReady")]
    row = check_claim(POD, claim, IP_ADDR, EVENTS, exclusive_rdma=True)[0]
    assert row.status is Status.FAIL
    assert "RDMALinkReady (missing)" in row.summary
    assert any("RDMADeviceAttachFailed" in e for e in row.evidence)
    # shared RDMA mode: dranet does not move the link, so the condition is not required
    assert check_claim(POD, claim, IP_ADDR, EVENTS)[0].status is Status.PASS


def test_ready_false_fails() -> None:
    claim = _claim()
    claim["status"]["devices"][0]["conditions"][0]["status"] = "False"
    assert check_claim(POD, claim, IP_ADDR)[0].status is Status.FAIL


def test_no_device_status_and_no_allocation_fail() -> None:
    claim = _claim()
    claim["status"]["devices"] = []
    (row,) = check_claim(POD, claim, IP_ADDR, EVENTS)
    assert row.status is Status.FAIL and "wrote no status" in row.summary
    claim["status"] = {}
    (row,) = check_claim(POD, claim, IP_ADDR, EVENTS)
    assert row.status is Status.FAIL and "not allocated" in row.summary


def test_interface_and_address_mismatch_fail() -> None:
    claim = _claim()
    claim["status"]["devices"][0]["networkData"]["ips"] = ["192.168.2.9/24"]
    row = check_claim(POD, claim, IP_ADDR)[1]
    assert row.status is Status.FAIL and "192.168.2.9/24" in row.summary
    claim["status"]["devices"][0]["networkData"]["interfaceName"] = "net2"
    row = check_claim(POD, claim, IP_ADDR)[1]
    assert row.status is Status.FAIL and "no such interface" in row.summary


def test_ip_addr_not_taken_is_could_not_measure() -> None:
    rows = check_claim(POD, GOOD, None)
    assert rows[1].status is Status.UNMEASURED
    rows = check_claim(POD, GOOD, "this is not ip addr output\n")
    assert rows[1].status is Status.UNMEASURED


# --- against the API server emulator (kmock) and the exec endpoint of tests/verify/pod_api ---

CLAIMS = kmock.resource("resource.k8s.io", "v1", "resourceclaims")
EVENTS_RES = kmock.resource("", "v1", "events")


@pytest.fixture()
def kmock_options() -> dict[str, Any]:
    return {"cls": PodApiEmulator}


async def _seed(h: Harness, claim: dict[str, Any], ip_addr: Reply) -> PodApiEmulator:
    emu: PodApiEmulator = h.emulator
    server: Any = h.server  # kinds kmock serves once declared, as the harness declares pods
    server.resources["resource.k8s.io/v1/resourceclaims"] = {}
    server.resources["v1/events"] = {}
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "rdma-test-0", "namespace": "default"},
           "spec": {"nodeName": "gpu-node-1", "containers": [{"name": "t", "image": "img"}]},
           "status": {"phase": "Running", "resourceClaimStatuses": [
               {"name": "nic", "resourceClaimName": "rdma-test-0-nic-x7k2p"}]}}
    await h.seed(pod)
    emu.objects[CLAIMS, "default", "rdma-test-0-nic-x7k2p"] = claim
    for i, e in enumerate(EVENTS):
        emu.objects[EVENTS_RES, "default", f"rdma-test-0.{i}"] = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"rdma-test-0.{i}", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "rdma-test-0", "namespace": "default"},
            **e}
    emu.exec_table["rdma-test-0", ("ip", "addr")] = ip_addr
    return emu


async def test_kmock_good_claim(harness: Harness) -> None:
    await _seed(harness, _claim(), Reply(stdout=IP_ADDR))
    rows = await verify_dra_pod(harness.client, "rdma-test-0", "default", exclusive_rdma=True)
    assert [r.status for r in rows] == [Status.PASS, Status.PASS]


async def test_kmock_failing_claim_shows_the_pods_events(harness: Harness) -> None:
    claim = _claim()
    claim["status"]["devices"][0]["conditions"] = [_cond("Ready")]
    await _seed(harness, claim, Reply(stdout=IP_ADDR))
    rows = await verify_dra_pod(harness.client, "rdma-test-0", "default", exclusive_rdma=True)
    assert rows[0].status is Status.FAIL
    assert "NetworkReady (missing)" in rows[0].summary
    assert any("RDMADeviceAttachFailed" in e for e in rows[0].evidence)


async def test_kmock_no_ip_tool_is_could_not_measure(harness: Harness) -> None:
    await _seed(harness, _claim(), Reply(stderr="exec: ip: not found", exit_code=127))
    rows = await verify_dra_pod(harness.client, "rdma-test-0", "default")
    assert [r.status for r in rows] == [Status.PASS, Status.UNMEASURED]


async def test_cli_verify_dra_table_and_exit(harness: Harness, tmp_path: Path) -> None:
    claim = _claim()
    claim["status"]["devices"][0]["conditions"] = [_cond("Ready"), _cond("NetworkReady")]
    await _seed(harness, claim, Reply(stdout=IP_ADDR))
    kc = write_kubeconfig(tmp_path / "kc", str(harness.emulator.url).rstrip("/"))
    base = ("verify", "--dra", "--pods", "rdma-test-0", "--kubeconfig", str(kc), "-o", "json")
    rc, out, _ = await dualnet_async(*base)
    assert rc == 0, out
    assert [c["status"] for c in json.loads(out)["checks"]] == ["pass", "pass"]
    rc, out, _ = await dualnet_async(*base, "--rdma-exclusive")
    assert rc == 1
    assert "RDMALinkReady (missing)" in out


def test_cli_verify_dra_needs_pods(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run_cli(capsys, "verify", "--dra")
    assert rc == 2 and "--dra needs --pods" in err
