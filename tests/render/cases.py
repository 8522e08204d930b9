"""The golden cases: one per mode and per IPAM type, each an example spec on realistic hosts."""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable
from pathlib import Path

from dualnet.host.discover import discover
from dualnet.host.models import HostReport
from dualnet.host.samples import build_sample
from dualnet.plan import Plan, build_plan
from dualnet.spec import load_spec
from tests.plan.hosts import gh200, gpu_node

REPO = Path(__file__).resolve().parents[2]
# The golden inputs: copies of the examples as they stood when the goldens were made, planned
# against the test hosts in tests/plan/hosts.py (examples/ itself now targets bundled samples).
EXAMPLES = Path(__file__).resolve().parent / "specs"
GOLDEN = Path(__file__).resolve().parent / "golden"


@functools.cache
def sample_host(node: str) -> HostReport:
    """A bundled sample node, read by the real discovery (the offload cases need a CX-6 Dx PF
    with VFs, which the hand-built test hosts do not have)."""
    with tempfile.TemporaryDirectory(prefix="dualnet-cases-") as tmp:
        return discover(build_sample(node, Path(tmp) / node))  # facts only: the tree can go


CASES: dict[str, Callable[[], list[HostReport]]] = {
    "gh200-shared-roce": lambda: [gh200()],
    "shared-roce-ipvlan-static": lambda: [gpu_node(1)],
    "shared-roce-dhcp": lambda: [gpu_node(1)],
    "host-device-whereabouts": lambda: [gpu_node(1), gpu_node(2)],
    "sriov-rdma-cni-whereabouts": lambda: [gpu_node(1), gpu_node(2)],
    "sriov-dpdk-host-local": lambda: [gpu_node(1)],
    "ipoib-whereabouts": lambda: [gpu_node(1), gpu_node(2)],
    "ib-sriov-static": lambda: [gpu_node(1)],
    "sriov-offload-ovn-kubernetes": lambda: [sample_host("roce_sriov")],
    "sriov-offload-antrea": lambda: [sample_host("roce_sriov")],
}

# The verdict `dualnet lab` gives each case's rendered NAD, in network namespaces and on the VM
# alike: with the Debian plugin set there is no sriov/ib-sriov/ipoib binary, dhcp is not
# rehearsed, and neither place has SR-IOV or InfiniBand hardware. The OVS offload NADs need the
# cluster CNI (OVN-Kubernetes, Antrea) and a switchdev NIC to plug the VF. ipvlan passes where
# the kernel can make an ipvlan link (`lab_verdicts`).
LAB_VERDICTS = {
    "gh200-shared-roce": "pass",
    "host-device-whereabouts": "pass",
    "shared-roce-ipvlan-static": "kernel-dependent",
    "shared-roce-dhcp": "unsupported",
    "sriov-rdma-cni-whereabouts": "unsupported",
    "sriov-dpdk-host-local": "unsupported",
    "ipoib-whereabouts": "unsupported",
    "ib-sriov-static": "unsupported",
    "sriov-offload-ovn-kubernetes": "unsupported",
    "sriov-offload-antrea": "unsupported",
}


def lab_verdicts(*, ipvlan: bool) -> dict[str, str]:
    """LAB_VERDICTS on a kernel that can (or cannot) make an ipvlan link."""
    return {**LAB_VERDICTS, "shared-roce-ipvlan-static": "pass" if ipvlan else "unsupported"}


def plan_for(case: str) -> Plan:
    return build_plan(load_spec(EXAMPLES / f"{case}.yaml"), CASES[case]())
