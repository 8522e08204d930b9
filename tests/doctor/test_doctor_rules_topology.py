"""GPU <-> nearest NIC: SYS and cross-NUMA placements."""

from __future__ import annotations

from dualnet.doctor import Severity, diagnose
from dualnet.host.models import Gpu, PciRelation, TopoEntry
from tests.doctor.helpers import ids, only
from tests.doctor.reports import gh200

TOPO = {"topology.gpu-nic-sys", "topology.gpu-nic-cross-numa"}


def test_gh200_node_relation_same_numa_is_fine() -> None:
    assert not ids(diagnose(gh200())) & TOPO


def test_nearest_nic_only_through_sys() -> None:
    r = gh200(
        topology=[
            TopoEntry(gpu="GPU0", nic="mlx5_0", relation=PciRelation.SYS),
            TopoEntry(gpu="GPU0", nic="mlx5_1", relation=PciRelation.SYS),
        ]
    )
    f = only(diagnose(r), "topology.gpu-nic-sys", "GPU0")
    assert f.severity is Severity.WARNING
    assert f.evidence["relation"] == "SYS"
    assert f.evidence["nearest_nics"] == ["mlx5_0", "mlx5_1"]
    assert "topology.gpu-nic-cross-numa" not in ids(diagnose(r))  # implied by SYS


def test_one_near_nic_is_enough() -> None:
    r = gh200(
        topology=[
            TopoEntry(gpu="GPU0", nic="mlx5_0", relation=PciRelation.SYS),
            TopoEntry(gpu="GPU0", nic="mlx5_1", relation=PciRelation.PIX),
        ]
    )
    assert not ids(diagnose(r)) & TOPO


def test_nearest_nic_on_other_numa_node() -> None:
    r = gh200(gpus=[Gpu(index=0, pci_address="0009:01:00.0", numa_node=1)])
    f = only(diagnose(r), "topology.gpu-nic-cross-numa", "GPU0")
    assert f.evidence["gpu_numa"] == 1
    assert f.evidence["nic_numa"] == ["0", "0"]


def test_unknown_numa_is_not_judged() -> None:
    r = gh200(gpus=[Gpu(index=0, pci_address="0009:01:00.0", numa_node=-1)])
    assert not ids(diagnose(r)) & TOPO
    r2 = gh200(gpus=[Gpu(index=0, numa_node=1)])
    for n in r2.nics:
        n.numa_node = None
    assert not ids(diagnose(r2)) & TOPO


def test_eight_gpus_each_judged_on_its_own() -> None:
    topo = []
    for g in range(8):
        for n in range(2):
            rel = PciRelation.PIX if (g < 4) == (n == 0) else PciRelation.SYS
            topo.append(TopoEntry(gpu=f"GPU{g}", nic=f"mlx5_{n}", relation=rel))
    topo = [t for t in topo if not (t.gpu == "GPU7" and t.relation is PciRelation.PIX)]
    found = diagnose(gh200(topology=topo, gpus=[Gpu(index=i) for i in range(8)]))
    assert [f.subject for f in found if f.id == "topology.gpu-nic-sys"] == ["GPU7"]
