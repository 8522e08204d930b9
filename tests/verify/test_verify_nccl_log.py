"""NCCL's log read back: every real log in tests/corpus/nccl_debug, each transport outcome, and a
Socket result mapped to its cause from the pod's facts."""

from __future__ import annotations

from pathlib import Path

import pytest

from dualnet.parse.errors import ParseError
from dualnet.parse.nccl_debug import parse_nccl_debug
from dualnet.verify.models import Status
from dualnet.verify.nccl_log import PodFacts, nccl_checks, socket_cause

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "nccl_debug"


def read(name: str) -> str:
    return (CORPUS / name).read_text(encoding="utf-8")


# file -> (transport outcome, transports, HCAs NCCL listed, GDR state)
EXPECTED: dict[str, tuple[Status, list[str], list[str], bool | None]] = {
    "ib-gdrdma-a100-6hca.txt": (Status.PASS, ["IB"], [], True),
    "ib-k8s-pod-eth0-oob-nccl2.2x.txt": (Status.PASS, ["IB"], ["mlx5_0:1"], None),
    "ib-k8s-single-hca-bond-socket-ifname.txt": (Status.PASS, ["IB"], ["mlx5_0:1"], None),
    "ib-roce-gdr-disabled-2hca.txt": (Status.PASS, ["IB"], ["mlx5_0:1", "mlx5_1:1"], False),
    "ib-roce-macvlan-net1-k8s.txt": (Status.PASS, ["IB"], ["mlx5_4:1"], None),
    "ibext-plugin-channels-no-gdr.txt": (Status.PASS, ["IBext_v8"], [], False),
    "socket-ib-disabled-by-env.txt": (Status.FAIL, ["Socket"], [], None),
    "socket-ib-no-device-aws-ens3.txt": (Status.FAIL, ["Socket"], [], None),
    "socket-ib-zero-devices-nccl2.3.txt": (Status.FAIL, ["Socket"], [], None),
    "socket-open-device-failed-docker-roce.txt": (Status.FAIL, ["Socket"], [], None),
    "socket-ring-old-format.txt": (Status.FAIL, ["Socket"], [], None),
}


def test_every_corpus_log_is_listed_and_cites_its_source() -> None:
    names = {p.name for p in CORPUS.glob("*.txt")}
    assert names == set(EXPECTED)
    for n in names:
        assert read(n).startswith("# source: https://github.com/"), n


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_transport_hcas_and_gdr_of_each_real_log(name: str) -> None:
    status, transports, hcas, gdr = EXPECTED[name]
    log = parse_nccl_debug(read(name))
    assert log.transports == transports
    assert [h.ref for h in log.hcas] == hcas
    assert log.gdr is gdr
    assert nccl_checks("rank0", read(name))[0].status is status


def test_roce_link_layer_oob_and_version() -> None:
    log = parse_nccl_debug(read("ib-roce-macvlan-net1-k8s.txt"))
    assert log.version == "2.13.4"
    assert [(h.name, h.link_layer) for h in log.hcas] == [("mlx5_4", "RoCE")]
    assert log.oob == ["net1"]


def test_connections_carry_device_index_and_gdr_flag() -> None:
    log = parse_nccl_debug(read("ib-gdrdma-a100-6hca.txt"))
    c = log.connections[0]
    assert (c.channel, c.src, c.dst, c.direction, c.transport, c.device, c.gdr) == (
        1, 2, 0, "receive", "IB", 5, True)
    assert sorted({c.device for c in log.connections}) == [0, 2, 4, 5]


def test_communicators_and_env_echoes() -> None:
    log = parse_nccl_debug(read("ib-roce-gdr-disabled-2hca.txt"))
    (comm,) = log.communicators
    assert (comm.rank, comm.nranks, comm.comm_id, comm.complete) == (
        0, 16, "0x65e0bd6ee7449db4", False)
    log = parse_nccl_debug(read("ib-k8s-single-hca-bond-socket-ifname.txt"))
    assert log.env == {"NCCL_SOCKET_IFNAME": "bond1,bond0,eth0", "NCCL_IB_DISABLE": "0",
                       "NCCL_IB_HCA": "mlx5"}


def test_hca_list_against_the_expected_one() -> None:
    text = read("ib-roce-gdr-disabled-2hca.txt")
    ok = nccl_checks("r", text, expected_hcas=["=mlx5_0:1", "mlx5_1"])
    assert [(c.check, c.status) for c in ok] == [("nccl-transport", Status.PASS),
                                                ("nccl-hcas", Status.PASS)]
    bad = nccl_checks("r", text, expected_hcas=["mlx5_0:1"])[1]
    assert bad.status is Status.FAIL and "unexpected mlx5_1:1" in bad.summary
    missing = nccl_checks("r", text, expected_hcas=["mlx5_0", "mlx5_1", "mlx5_2"])[1]
    assert missing.status is Status.FAIL and "missing mlx5_2" in missing.summary


def test_gdrdma_asked_for() -> None:
    assert nccl_checks("r", read("ib-gdrdma-a100-6hca.txt"), gpudirect=True)[-1].status \
        is Status.PASS
    off = nccl_checks("r", read("ib-roce-gdr-disabled-2hca.txt"), gpudirect=True)[-1]
    assert off.status is Status.FAIL and "disabled it per HCA" in off.summary
    no_peermem = nccl_checks("r", read("ibext-plugin-channels-no-gdr.txt"), gpudirect=True,
                             facts=PodFacts(peermem_loaded=False))[-1]
    assert no_peermem.status is Status.FAIL and "nvidia_peermem" in no_peermem.summary
    unknown = nccl_checks("r", read("ib-roce-macvlan-net1-k8s.txt"), gpudirect=True)[-1]
    assert unknown.status is Status.UNMEASURED


def test_gid_settings_nccl_echoed() -> None:
    text = read("ib-roce-macvlan-net1-k8s.txt")
    none = nccl_checks("r", text, expected_gid={"NCCL_IB_GID_INDEX": "5"})[-1]
    assert none.status is Status.UNMEASURED and "ENV" in none.summary
    echoed = text + ("alg-test-master-0:46312:46318 [0] NCCL INFO NCCL_IB_GID_INDEX set by "
                     "environment to 7.\n")
    wrong = nccl_checks("r", echoed, expected_gid={"NCCL_IB_GID_INDEX": "5"})[-1]
    assert wrong.status is Status.FAIL and "NCCL_IB_GID_INDEX=7 (expected 5)" in wrong.summary
    right = nccl_checks("r", echoed, expected_gid={"NCCL_IB_GID_INDEX": "7"})[-1]
    assert right.status is Status.PASS


@pytest.mark.parametrize(("name", "facts", "expected", "cause"), [
    ("socket-ib-disabled-by-env.txt", PodFacts(), [], "NCCL_IB_DISABLE=1"),
    ("socket-open-device-failed-docker-roce.txt", PodFacts(), [],
     "could not open mlx5_bond_0"),
    ("socket-open-device-failed-docker-roce.txt", PodFacts(dev_infiniband=["rdma_cm"]), [],
     "/dev/infiniband has no uverbs device"),
    ("socket-ib-no-device-aws-ens3.txt", PodFacts(), [], "No device found"),
    ("socket-ib-no-device-aws-ens3.txt", PodFacts(rdma_devices=[]), [],
     "no RDMA device is visible"),
    ("socket-ib-no-device-aws-ens3.txt",
     PodFacts(dev_infiniband=["uverbs0", "rdma_cm"], rdma_devices=["mlx5_1"]), ["mlx5_0:1"],
     "HCA mlx5_0:1 is not in the pod"),
    ("socket-ib-no-device-aws-ens3.txt",
     PodFacts(dev_infiniband=["uverbs0"], rdma_devices=["mlx5_0"], ipc_lock=False), [],
     "lacks IPC_LOCK"),
    ("socket-ring-old-format.txt", PodFacts(), [], "neither its log nor the pod's facts"),
])
def test_socket_result_names_its_cause(name: str, facts: PodFacts, expected: list[str],
                                       cause: str) -> None:
    log = parse_nccl_debug(read(name))
    assert cause in socket_cause(log, facts, expected)
    check = nccl_checks("r", read(name), facts=facts, expected_hcas=expected)[0]
    assert check.status is Status.FAIL and cause in check.summary


def test_libibverbs_missing_and_wrong_socket_ifname() -> None:
    base = read("socket-ib-disabled-by-env.txt").replace("set by environment to 1.",
                                                        "set by environment to 0.")
    no_verbs = base + "ml3:1:1 [0] misc/ibvwrap.cc:63 NCCL WARN Failed to open libibverbs.so[.1]\n"
    assert "libibverbs is not in the image" in socket_cause(
        parse_nccl_debug(no_verbs), PodFacts(), [])
    ifname = base + "user:1:1 [0] NCCL INFO NCCL_SOCKET_IFNAME set by environment to net9\n"
    assert "NCCL_SOCKET_IFNAME=net9 names no interface" in socket_cause(
        parse_nccl_debug(ifname), PodFacts(interfaces=["lo", "eth0", "net1"]), [])


def test_unreadable_log_could_not_measure() -> None:
    with pytest.raises(ParseError):
        parse_nccl_debug("mpirun: command not found\n")
    (c,) = nccl_checks("r", "mpirun: command not found\n")
    assert c.status is Status.UNMEASURED and "could not be read" in c.summary
    (c,) = nccl_checks("r", "host:1:1 [0] NCCL INFO cudaDriverVersion 12020\n")
    assert c.status is Status.UNMEASURED
