"""Doctor on real captured tool outputs (tests/corpus), read through the parsers."""

from __future__ import annotations

from pathlib import Path

from dualnet.doctor import RULE_IDS, Severity, diagnose, exit_code_for
from dualnet.modes import Mode
from dualnet.parse.from_dir import classify, report_from_dir
from tests.doctor.corpus_dirs import CORPUS, GH200_FILES, make_from_dir
from tests.doctor.helpers import ids, only


def test_gh200_guide_outputs(tmp_path: Path) -> None:
    r = report_from_dir(make_from_dir(tmp_path, GH200_FILES))
    found = diagnose(r, Mode.SHARED_ROCE)
    # nvidia_peermem shows only in ib_uverbs' used-by column of the guide's filtered lsmod.
    assert "gpudirect.nvidia_peermem-missing" not in ids(found)
    assert not {i for i in ids(found) if i.startswith(("netns.", "rdma.", "topology."))}
    down = only(found, "port.not-active", "mlx5_1/1")
    assert (down.evidence["state"], down.evidence["phys_state"]) == ("DOWN", "DISABLED")
    mtu = only(found, "roce.mtu-low", "mlx5_0/1")
    assert (mtu.evidence["netdev_mtu"], mtu.evidence["active_mtu"]) == (1500, 1024)
    # No `ip route` was pasted: the management port and CNI are unknown, not judged.
    unknown = only(found, "doctor.facts-unknown")
    assert unknown.evidence["unknown"] == ["management interface", "CNI plugins and configs"]
    assert "port.only-active-is-management" not in ids(found)
    assert exit_code_for(found) == 1


def test_all_ports_down_capture(tmp_path: Path) -> None:
    files = {"ibv_devinfo.txt": "ibv_devinfo/asus-esc8000a-2x-cx7-all-ports-down-eth.txt"}
    found = diagnose(report_from_dir(make_from_dir(tmp_path, files)))
    assert only(found, "port.none-active").severity is Severity.ERROR
    assert len([f for f in found if f.id == "port.not-active"]) == 4


def test_flapping_ib_port_judged_on_its_last_state(tmp_path: Path) -> None:
    files = {"rdma_link.txt": "rdma_link/ib-mlx5_7-down-polling-flapping.txt"}
    found = diagnose(report_from_dir(make_from_dir(tmp_path, files)))
    assert not ids(found) & {"port.not-active", "port.none-active", "port.no-subnet-manager"}


def test_two_ports_disabled_on_bluefield3(tmp_path: Path) -> None:
    files = {"rdma_link.txt": "rdma_link/bf3-4port-2-disabled-xfusion.txt"}
    found = diagnose(report_from_dir(make_from_dir(tmp_path, files)))
    assert {f.subject for f in found if f.id == "port.not-active"} == {"mlx5_0/1", "mlx5_2/1"}
    assert "port.none-active" not in ids(found)


def test_empty_lsmod_grep_is_unknown_not_missing(tmp_path: Path) -> None:
    # `lsmod | grep nvidia_peermem` printed nothing: that says nothing about other modules.
    files = {
        "lsmod.txt": "lsmod/EMPTY-no-peermem-module-a100.txt",
        "rdma_link.txt": "rdma_link/gh200-cx7.txt",
    }
    found = diagnose(report_from_dir(make_from_dir(tmp_path, files)), Mode.SHARED_ROCE)
    assert not {i for i in ids(found) if i.endswith("-missing") and i != "cni.multus-missing"}
    assert "kernel modules" in only(found, "doctor.facts-unknown").evidence["unknown"]  # type: ignore[operator]


def test_truncated_peermem_grep_counts_as_loaded(tmp_path: Path) -> None:
    files = {
        "lsmod.txt": "lsmod/peermem-grep-TRUNCATED-mofed-23.10-kernel-6.6.txt",
        "rdma_link.txt": "rdma_link/gh200-cx7.txt",
        "nvidia-smi_topo.txt": "nvidia-smi_topo/gh200-1gpu-2nic.txt",
    }
    found = diagnose(report_from_dir(make_from_dir(tmp_path, files)))
    assert "gpudirect.nvidia_peermem-missing" not in ids(found)
    # ib_uverbs/rdma_ucm/ib_umad appear in ib_core's used-by column of that capture.
    assert not ids(found) & {"rdma.ib_uverbs-missing", "rdma.rdma_ucm-missing"}


def test_every_capture_in_the_corpus_diagnoses_in_every_mode(tmp_path: Path) -> None:
    # Garbage, truncated and mixed-up real outputs (read leniently) must still give findings
    # from the catalogue and never an exception.
    captures = sorted(
        p
        for p in CORPUS.glob("*/*")
        if p.is_file() and p.suffix == ".txt" and classify(f"{p.parent.name}.txt") is not None
    )
    assert len(captures) > 40
    for i, capture in enumerate(captures):
        folder = tmp_path / str(i)
        folder.mkdir()
        (folder / f"{capture.parent.name}.txt").write_bytes(capture.read_bytes())
        report = report_from_dir(folder, strict=False)
        for mode in (None, *Mode):
            for rdma_cni in (False, True):
                found = diagnose(report, mode, rdma_cni=rdma_cni, dpdk=True, vfs=4)
                assert {f.id for f in found} <= RULE_IDS, capture.name
