"""GPU <-> NIC placement rules (the guide's `nvidia-smi topo -m` reading)."""

from __future__ import annotations

from dualnet.doctor.context import DoctorOptions, rdma_device_numa
from dualnet.doctor.findings import EvidenceValue, Finding, Severity
from dualnet.host.models import HostReport, PciRelation, TopoEntry


def _gpu_numa(report: HostReport, gpu_name: str) -> int | None:
    for g in report.gpus:
        if f"GPU{g.index}" == gpu_name:
            return g.numa_node if g.numa_node is not None and g.numa_node >= 0 else None
    return None


def rule_gpu_nic_distance(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    by_gpu: dict[str, list[TopoEntry]] = {}
    for e in report.topology:
        by_gpu.setdefault(e.gpu, []).append(e)
    out: list[Finding] = []
    for gpu, entries in sorted(by_gpu.items(), key=lambda kv: (len(kv[0]), kv[0])):
        best_rank = min(e.relation.rank for e in entries)
        nearest = [e for e in entries if e.relation.rank == best_rank]
        relation = nearest[0].relation
        nics = [e.nic for e in nearest]
        gpu_numa = _gpu_numa(report, gpu)
        nic_numas: list[int] = []
        for name in nics:
            dev = report.rdma_device(name)
            numa = rdma_device_numa(report, dev) if dev is not None else None
            if numa is not None:
                nic_numas.append(numa)
        evidence: dict[str, EvidenceValue] = {
            "gpu": gpu,
            "nearest_nics": nics,
            "relation": str(relation),
            "gpu_numa": gpu_numa,
            "nic_numa": [str(n) for n in nic_numas],
        }
        if relation is PciRelation.SYS:
            out.append(
                Finding(
                    id="topology.gpu-nic-sys",
                    severity=Severity.WARNING,
                    title=f"{gpu}'s nearest RDMA NIC ({', '.join(nics)}) is only reachable "
                    "through SYS (across CPU sockets)",
                    subject=gpu,
                    evidence=evidence,
                    why="GPUDirect RDMA between this GPU and the NIC crosses the inter-socket "
                    "link (UPI/xGMI): bandwidth drops well below line rate, and NCCL's default "
                    "NCCL_NET_GDR_LEVEL does not use GPUDirect RDMA at SYS distance at all.",
                    fix=[
                        "# put a NIC under the same PCIe switch or root complex as the GPU "
                        "(PIX/PXB), or schedule pods with the kubelet Topology Manager "
                        "(single-numa-node) so GPU and NIC come from one NUMA node",
                        "nvidia-smi topo -m",
                    ],
                )
            )
            continue
        if gpu_numa is not None and nic_numas and gpu_numa not in nic_numas:
            out.append(
                Finding(
                    id="topology.gpu-nic-cross-numa",
                    severity=Severity.WARNING,
                    title=f"{gpu} is on NUMA node {gpu_numa}, its nearest RDMA NIC "
                    f"({', '.join(nics)}) on NUMA node {nic_numas[0]}",
                    subject=gpu,
                    evidence=evidence,
                    why="Traffic between a GPU and a NIC on different NUMA nodes crosses the "
                    "inter-socket link, which caps GPUDirect RDMA bandwidth and adds latency.",
                    fix=[
                        "# move the NIC to a slot on the GPU's NUMA node, or pair GPUs with NICs "
                        "of their own NUMA node (NCCL_IB_HCA per rank, Topology Manager policy "
                        "single-numa-node)",
                        "nvidia-smi topo -m",
                    ],
                )
            )
    return out
