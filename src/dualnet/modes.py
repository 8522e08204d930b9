"""The network modes dualnet supports, named once for spec, plan, render, doctor and lab.

They follow the seeds: the GH200 guide's shared RoCE (macvlan/ipvlan on a shared RDMA device),
its production host-device variant, and the Network Operator notes' SR-IOV legacy (optionally
namespace-aware with RDMA CNI), SR-IOV DPDK, and the InfiniBand equivalents.
"""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    SHARED_ROCE = "shared-roce"
    HOST_DEVICE = "host-device"
    SRIOV = "sriov"
    SRIOV_DPDK = "sriov-dpdk"
    IPOIB = "ipoib"
    IB_SRIOV = "ib-sriov"


# Which RDMA netns mode each mode needs. None: either works. SR-IOV with RDMA CNI chained
# ("namespace-aware") needs exclusive; that choice is a spec flag, see `required_netns_mode`.
# ib-sriov needs exclusive either way: without RDMA CNI the NAD sets rdmaIsolation, and
# ib-sriov-cni refuses every attach unless the RDMA subsystem is exclusive (pkg/utils/rdma.go).
def required_netns_mode(mode: Mode, *, rdma_cni: bool = False) -> str | None:
    if mode in (Mode.SHARED_ROCE, Mode.IPOIB):
        return "shared"
    if mode is Mode.IB_SRIOV:
        return "exclusive"
    if mode in (Mode.SRIOV, Mode.HOST_DEVICE) and rdma_cni:
        return "exclusive"
    return None


# CNI plugin binaries each mode needs on the node (besides Multus and the primary CNI).
MODE_CNI_PLUGINS: dict[Mode, tuple[str, ...]] = {
    Mode.SHARED_ROCE: ("macvlan", "host-local"),
    Mode.HOST_DEVICE: ("host-device", "host-local"),
    Mode.SRIOV: ("sriov", "host-local"),
    Mode.SRIOV_DPDK: ("sriov",),
    Mode.IPOIB: ("ipoib", "host-local"),
    Mode.IB_SRIOV: ("ib-sriov", "host-local"),
}
