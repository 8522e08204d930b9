"""Kernel-module rules, on the GH200 guide's values with one fact changed per test."""

from __future__ import annotations

import dataclasses

from dualnet.doctor import Severity, diagnose
from dualnet.host.models import KernelModule
from dualnet.modes import Mode
from tests.doctor.helpers import ids, only
from tests.doctor.reports import GH200_MODULES, gh200

MODULE_RULES = {
    "rdma.mlx5_ib-missing",
    "rdma.ib_uverbs-missing",
    "rdma.rdma_ucm-missing",
    "rdma.ib_umad-missing",
    "gpudirect.nvidia_peermem-missing",
}


def _no_ib() -> list[KernelModule]:
    return [
        KernelModule(name="mlx5_core", loaded=True, refcount=0),
        KernelModule(name="mlxfw", loaded=True, used_by=["mlx5_core"]),
    ]


def test_gh200_modules_are_complete_peermem_seen_in_used_by() -> None:
    # nvidia_peermem, rdma_ucm and ib_umad only appear in the used-by column of the guide's lsmod.
    assert not ids(diagnose(gh200(), Mode.SHARED_ROCE)) & MODULE_RULES


def test_mlx5_core_without_mlx5_ib_fires_with_evidence() -> None:
    r = gh200(modules=_no_ib(), rdma_devices=[], topology=[], infiniband_char_devices=[])
    f = only(diagnose(r), "rdma.mlx5_ib-missing")
    assert f.severity is Severity.ERROR
    assert f.evidence["mlx5_ib"] == "not loaded"
    assert f.evidence["mlx5_core_nics"] == ["enp1s0f0np0", "enp1s0f1np1"]
    assert f.fix[0] == "modprobe mlx5_ib"
    assert "echo mlx5_ib > /etc/modules-load.d/mlx5_ib.conf" in f.persist
    # It is the cause; the userspace-module and no-RDMA rules must not pile on.
    assert not ids(diagnose(r)) & {"rdma.ib_uverbs-missing", "rdma.none-found"}


def test_mlx5_ib_builtin_is_not_missing() -> None:
    # No mlx5_ib line, but mlx5 RDMA devices exist: it is built in (or lsmod was filtered).
    r = gh200(modules=_no_ib())
    assert "rdma.mlx5_ib-missing" not in ids(diagnose(r))


def test_unknown_modules_give_no_module_findings() -> None:
    r = gh200(modules=[], infiniband_char_devices=[])
    r.rdma_devices[0].char_devices = []
    r.rdma_devices[1].char_devices = []
    found = diagnose(r, Mode.SHARED_ROCE)
    assert not ids(found) & MODULE_RULES
    unknown = only(found, "doctor.facts-unknown")
    assert "kernel modules" in unknown.evidence["unknown"]  # type: ignore[operator]


def _without(*names: str) -> list[KernelModule]:
    out = []
    for m in GH200_MODULES:
        if m.name in names:
            continue
        out.append(dataclasses.replace(m, used_by=[u for u in m.used_by if u not in names]))
    return out


def test_userspace_modules_missing() -> None:
    r = gh200(
        modules=_without("ib_uverbs", "rdma_ucm", "ib_umad", "nvidia_peermem"),
        infiniband_char_devices=[],
    )
    for d in r.rdma_devices:
        d.char_devices = []
    found = diagnose(r)
    assert only(found, "rdma.ib_uverbs-missing").severity is Severity.ERROR
    # Without a shared-device-plugin mode these two are warnings ...
    assert only(found, "rdma.rdma_ucm-missing").severity is Severity.WARNING
    assert only(found, "rdma.ib_umad-missing").severity is Severity.WARNING
    # ... and with one they are errors: the plugin drops devices lacking umad/rdma_cm.
    shared = diagnose(r, Mode.SHARED_ROCE)
    assert only(shared, "rdma.rdma_ucm-missing").severity is Severity.ERROR
    umad = only(shared, "rdma.ib_umad-missing")
    assert umad.severity is Severity.ERROR
    assert "0 resources" in umad.why
    assert umad.fix[0] == "modprobe ib_umad"


def test_char_devices_prove_modules_present() -> None:
    # Modules missing from (filtered) lsmod, but /dev/infiniband has their nodes.
    mods = [
        *_without("ib_uverbs", "rdma_ucm", "ib_umad"),
        KernelModule(name="nvidia_peermem", loaded=True),
    ]
    r = gh200(modules=mods)
    assert not ids(diagnose(r, Mode.SHARED_ROCE)) & MODULE_RULES


def test_peermem_missing_fires_only_with_gpus_and_rdma() -> None:
    r = gh200(modules=_without("nvidia_peermem"))
    f = only(diagnose(r), "gpudirect.nvidia_peermem-missing")
    assert f.severity is Severity.WARNING
    assert f.evidence == {
        "gpus": 1,
        "rdma_devices": ["mlx5_0", "mlx5_1"],
        "nvidia_peermem": "not loaded",
    }
    assert f.fix[0] == "modprobe nvidia_peermem"
    no_gpu = gh200(modules=_without("nvidia_peermem"), gpus=[], topology=[])
    assert "gpudirect.nvidia_peermem-missing" not in ids(diagnose(no_gpu))


def test_legacy_nv_peer_mem_counts() -> None:
    mods = [*_without("nvidia_peermem"), KernelModule(name="nv_peer_mem", loaded=True)]
    assert "gpudirect.nvidia_peermem-missing" not in ids(diagnose(gh200(modules=mods)))


def test_ipoib_module_for_ipoib_mode() -> None:
    r = gh200(modules=_without("ib_ipoib"))
    f = only(diagnose(r, Mode.IPOIB), "ipoib.ib_ipoib-missing")
    assert f.fix[0] == "modprobe ib_ipoib"
    assert "ipoib.ib_ipoib-missing" not in ids(diagnose(r, Mode.SHARED_ROCE))
    assert "ipoib.ib_ipoib-missing" not in ids(diagnose(gh200(), Mode.IPOIB))


def test_no_rdma_at_all() -> None:
    r = gh200(
        nics=[],
        rdma_devices=[],
        topology=[],
        gpus=[],
        infiniband_char_devices=[],
        modules=[KernelModule(name="i40e", loaded=True)],
        management=None,
    )
    assert only(diagnose(r), "rdma.none-found").severity is Severity.INFO
    assert only(diagnose(r, Mode.SHARED_ROCE), "rdma.none-found").severity is Severity.ERROR
    assert "rdma.none-found" not in ids(diagnose(gh200()))
    # From pasted outputs an empty list is "not given", not "none".
    pasted = dataclasses.replace(r, source="tool-outputs")
    assert "rdma.none-found" not in ids(diagnose(pasted, Mode.SHARED_ROCE))
