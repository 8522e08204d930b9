"""Shared mode: the RoCE GID follows the pod's own net1 address, never one node-wide index."""

from __future__ import annotations

from pathlib import Path

import pytest

from dualnet.errors import UsageError
from dualnet.host.discover import discover
from dualnet.host.models import Gid, HostReport
from dualnet.host.roce import pod_roce_v2_gid
from dualnet.modes import Mode
from dualnet.plan.nccl import nccl_settings, pod_nccl_env
from tests.fixtures.gid_tables import (
    HOST_IP,
    MASTER,
    MLX5_PAIRS,
    POD1_IP,
    POD2_IP,
    SOFT_ROCE_SHARED,
    GidRow,
    write_device,
)


def discovered(rows: list[GidRow], tmp_path: Path) -> tuple[HostReport, list[Gid]]:
    write_device(tmp_path, rows)
    report = discover(tmp_path)
    dev = report.rdma_device("rxe0")
    assert dev is not None
    return report, dev.ports[0].gids


@pytest.mark.parametrize(("rows", "pod1", "pod2", "host"), [
    (SOFT_ROCE_SHARED, 1, 3, 2), (MLX5_PAIRS, 5, 7, 3)])
def test_each_pod_gets_the_gid_of_its_own_address(
        rows: list[GidRow], pod1: int, pod2: int, host: int, tmp_path: Path) -> None:
    report, gids = discovered(rows, tmp_path)
    assert pod_nccl_env(gids, POD1_IP)["NCCL_IB_GID_INDEX"] == str(pod1)
    assert pod_nccl_env(gids, POD2_IP) == {
        "NCCL_IB_GID_INDEX": str(pod2), "NCCL_IB_ROCE_VERSION_NUM": "2",
        "NCCL_IB_ADDR_FAMILY": "AF_INET", "NCCL_IB_ADDR_RANGE": f"{POD2_IP}/32"}
    # what a node-wide index (derived from the host's table) would have given every pod
    node_wide = nccl_settings(report, [MASTER], mode=Mode.HOST_DEVICE).env["NCCL_IB_GID_INDEX"]
    assert node_wide == str(min(pod1, host))
    wrong_for = [ip for ip, right in ((POD1_IP, pod1), (POD2_IP, pod2)) if str(right) != node_wide]
    assert POD2_IP in wrong_for
    # the host's own GID is wrong for both pods
    own = pod_roce_v2_gid(gids, HOST_IP, MASTER)
    assert own is not None and own.index not in (pod1, pod2)


def test_shared_mode_writes_no_node_wide_index(tmp_path: Path) -> None:
    report, _ = discovered(SOFT_ROCE_SHARED, tmp_path)
    for mode in (None, Mode.SHARED_ROCE):
        s = nccl_settings(report, [MASTER], mode=mode)
        assert "NCCL_IB_GID_INDEX" not in s.env and s.per_pod_gid
        assert s.env["NCCL_IB_ADDR_FAMILY"] == "AF_INET"
        assert any("dualnet-pod nccl-exec" in n for n in s.notes)
    assert not nccl_settings(report, [MASTER], mode=Mode.SRIOV).per_pod_gid


def test_v1_entry_and_other_netdev_do_not_match(tmp_path: Path) -> None:
    _, gids = discovered(MLX5_PAIRS, tmp_path)
    g = pod_roce_v2_gid(gids, POD1_IP)
    assert g is not None and g.type == "RoCE v2" and g.index == 5
    assert pod_roce_v2_gid(gids, POD1_IP, netdev="net2") is None
    assert pod_roce_v2_gid(gids, POD1_IP, netdev=None) == g
    with pytest.raises(UsageError, match=r"no RoCE v2 GID holds net1.s address 10\.56\.0\.99"):
        pod_nccl_env(gids, "10.56.0.99")
