"""What the node's Kubernetes object says (from `kubectl describe node` / `get node -o yaml`):
an RDMA resource the device plugin registered but advertises none of."""

from __future__ import annotations

from typing import Literal

from dualnet.doctor.context import DoctorOptions, node_subject
from dualnet.doctor.findings import Finding, Severity
from dualnet.host.models import HostReport

# Resource names RDMA device plugins register: the shared plugin's `rdma/<name>`, the legacy
# Mellanox plugin's `rdma/vhca`, SR-IOV pools named after their NICs.
_RDMA_HINTS = ("rdma", "hca", "sriov", "mlnx", "mellanox")


def is_rdma_resource(resource: str) -> bool:
    prefix, _, name = resource.partition("/")
    return prefix == "rdma" or any(h in name.lower() for h in _RDMA_HINTS)


def rule_rdma_resources(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    node = report.kubernetes_node
    if node is None:
        return []
    section: Literal["allocatable", "unnamed"] = "allocatable" if node.allocatable else "unnamed"
    out: list[Finding] = []
    for resource, printed in getattr(node, section).items():
        if not is_rdma_resource(resource) or node.amount(section, resource) != 0:
            continue
        out.append(
            Finding(
                id="kube.rdma-resource-zero",
                severity=Severity.WARNING,
                title=f"node advertises {resource} but 0 are allocatable",
                subject=node.name or node_subject(report),
                evidence={
                    "resource": resource,
                    "section": section,
                    "printed": printed,
                    "capacity": node.capacity.get(resource),
                },
                why="The device plugin registered the resource but found no device for it "
                "(a selector such as ifNames, vendors or deviceIDs matches nothing on this "
                "node, or the devices lack /dev/infiniband char devices): pods that request "
                "it stay Pending.",
                fix=[
                    "kubectl -n kube-system logs -l app=rdma-shared-dp --tail=50   # or the "
                    "network-operator namespace",
                    "# compare the plugin's selectors with `dualnet discover` on the node "
                    "(netdev names, vendor 15b3, device ids)",
                ],
            )
        )
    return out
