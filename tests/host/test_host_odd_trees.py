"""Partial and odd trees: discovery reports what it could not read and never raises."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from dualnet.host.discover import discover, pci_relation
from dualnet.host.models import HostReport, PciRelation
from dualnet.host.roce import roce_active_mtu
from dualnet.host.samples import build_sample
from dualnet.host.schema import adapter


@pytest.fixture
def gh200(tmp_path: Path) -> Path:
    return build_sample("gh200", tmp_path / "gh200")


@pytest.fixture
def sriov(tmp_path: Path) -> Path:
    return build_sample("roce_sriov", tmp_path / "sriov")


def _problem_paths(root: Path) -> dict[str, str]:
    return {p.path: p.error for p in discover(root).problems}


def _as_dir(path: Path) -> None:
    """Make a file unreadable for root too: a directory where a file should be (EISDIR)."""
    path.unlink()
    path.mkdir()


def test_host_unreadable_mtu_is_a_problem(gh200: Path) -> None:
    mtu = gh200 / "sys/class/net/enp1s0f0np0/mtu"
    _as_dir(mtu.resolve())
    report = discover(gh200)
    nic = report.nic_by_netdev("enp1s0f0np0")
    assert nic is not None and nic.mtu is None
    probs = {p.path: p.error for p in report.problems}
    assert probs == {"/sys/devices/pci0000:00/0000:00:00.0/0000:01:00.0/net/enp1s0f0np0/mtu":
                     "EISDIR"}
    port = report.rdma_device("mlx5_0").ports[0]  # type: ignore[union-attr]
    assert port.active_mtu is None  # unknown netdev MTU -> unknown RoCE MTU, not a guess


def test_host_dangling_pci_link(gh200: Path) -> None:
    link = gh200 / "sys/bus/pci/devices/0000:01:00.1"
    target = link.resolve()
    shutil.rmtree(target)
    report = discover(gh200)
    assert report.nic_by_pci("0000:01:00.1") is None
    assert {"path": "/sys/bus/pci/devices/0000:01:00.1", "error": "dangling symlink"} in [
        {"path": p.path, "error": p.error} for p in report.problems]
    # the class/infiniband link of the vanished function dangles too
    assert any(p.path == "/sys/class/infiniband/mlx5_1" for p in report.problems)
    assert report.rdma_device("mlx5_0") is not None


def test_host_empty_gid_slots_absent_or_einval_are_not_problems(gh200: Path) -> None:
    types = gh200 / "sys/class/infiniband/mlx5_0/ports/1/gid_attrs/types"
    # A non-empty GID whose type cannot be read (as EINVAL would): no type, no traceback.
    (types / "3").unlink()
    report = discover(gh200)
    port = report.rdma_device("mlx5_0").ports[0]  # type: ignore[union-attr]
    g3 = next(g for g in port.gids if g.index == 3)
    assert g3.type is None and g3.ipv4 == "66.42.90.253"
    assert port.roce_v2_ipv4_gid_index is None  # no RoCE v2 IPv4 GID is known any more
    assert report.problems == []


def test_host_unreadable_gid_file(gh200: Path) -> None:
    gid = (gh200 / "sys/class/infiniband/mlx5_0/ports/1/gids/7").resolve()
    _as_dir(gid)
    probs = _problem_paths(gh200)
    assert list(probs.values()) == ["EISDIR"]
    assert next(iter(probs)).endswith("/infiniband/mlx5_0/ports/1/gids/7")


def test_host_garbage_gid_is_a_problem_not_a_gid(gh200: Path) -> None:
    # a GID file holding something other than 8 groups of 4 hex digits must not reach
    # show-gids or the RoCE v2 GID index
    gid = (gh200 / "sys/class/infiniband/mlx5_0/ports/1/gids/3").resolve()
    gid.write_bytes(b"\xff\xfe garbage\n")
    report = discover(gh200)
    dev = report.rdma_device("mlx5_0")
    assert dev is not None
    assert 3 not in [g.index for g in dev.ports[0].gids]
    assert dev.ports[0].roce_v2_ipv4_gid_index is None
    probs = {p.path: p.error for p in report.problems}
    assert len(probs) == 1
    path, error = next(iter(probs.items()))
    assert path.endswith("/infiniband/mlx5_0/ports/1/gids/3") and error.startswith("not a GID")


def test_host_vf_without_netdev(sriov: Path) -> None:
    vf = (sriov / "sys/bus/pci/devices/0000:3b:00.3").resolve()
    shutil.rmtree(vf / "net")
    (sriov / "sys/class/net/enp59s0f0v1").unlink()
    for ndev in (vf / "infiniband/mlx5_3/ports/1/gid_attrs/ndevs").iterdir():
        ndev.unlink()
    report = discover(sriov)
    nic = report.nic_by_pci("0000:3b:00.3")
    assert nic is not None and nic.is_vf and nic.netdev is None and nic.netdevs == []
    dev = report.rdma_device("mlx5_3")
    assert dev is not None and dev.netdevs == [] and dev.ports[0].netdev is None
    assert dev.ports[0].active_mtu is None
    assert report.problems == []


def test_host_missing_route_and_modules(gh200: Path) -> None:
    (gh200 / "proc/net/route").unlink()
    (gh200 / "proc/modules").unlink()
    report = discover(gh200)
    assert report.management is None and report.routes == []
    assert not report.module_loaded("mlx5_core")
    assert set(_problem_paths(gh200)) == {"/proc/net/route", "/proc/modules"}


def test_host_garbage_values(gh200: Path) -> None:
    (gh200 / "sys/bus/pci/devices/0000:01:00.0/numa_node").resolve().write_text("abc\n")
    (gh200 / "proc/net/route").write_text("Iface\tDestination\nbroken line\n")
    (gh200 / "etc/cni/net.d/05-bad.conflist").write_text("{not json")
    report = discover(gh200)
    nic = report.nic_by_pci("0000:01:00.0")
    assert nic is not None and nic.numa_node is None
    assert any("not a number" in p.error for p in report.problems)
    assert report.management is None
    assert report.cni is not None
    bad = next(f for f in report.cni.conf_files if f.name == "05-bad.conflist")
    assert bad.error is not None and bad.error.startswith("invalid JSON")
    assert report.cni.conf_files[0].name == "00-multus.conf"


def test_host_empty_and_bare_roots(tmp_path: Path) -> None:
    report = discover(tmp_path)
    assert report.nics == [] and report.rdma_devices == []
    assert {p.path for p in report.problems} >= {"/sys/bus/pci/devices", "/proc/modules"}
    (tmp_path / "sys/bus/pci/devices").mkdir(parents=True)
    (tmp_path / "sys/bus/pci/devices/0000:05:00.0").symlink_to("../../../devices/nowhere")
    report = discover(tmp_path)
    assert any(p.error == "dangling symlink" for p in report.problems)


def test_host_real_root_never_raises() -> None:
    report = discover(Path("/"))
    assert report.root == "/"
    assert report.kernel == Path("/proc/sys/kernel/osrelease").read_text().strip()


@pytest.mark.parametrize(
    ("mtu", "want"),
    [(1500, 1024), (9000, 4096), (4200, 4096), (4191, 2048), (2144, 2048), (2143, 1024),
     (1120, 1024), (1119, 512), (352, 256), (351, None)],
)
def test_host_roce_active_mtu(mtu: int, want: int | None) -> None:
    assert roce_active_mtu(mtu) == want


def test_host_pci_relation_rules() -> None:
    hb = "pci0000:00"
    assert pci_relation([hb, "a", "x"], 0, [hb, "a", "y"], 0) is PciRelation.PIX
    assert pci_relation([hb, "a", "s", "d1", "x"], 0, [hb, "a", "s", "d2", "y"], 0) is (
        PciRelation.PIX)
    assert pci_relation([hb, "a", "s", "d1", "s2", "d3", "x"], 0, [hb, "a", "s", "d2", "y"], 0) is (
        PciRelation.PXB)
    assert pci_relation([hb, "a", "x"], 0, [hb, "b", "y"], 0) is PciRelation.PHB
    assert pci_relation([hb, "a", "x"], 0, ["pci0000:40", "b", "y"], 0) is PciRelation.NODE
    assert pci_relation([hb, "a", "x"], None, ["pci0000:40", "b", "y"], 1) is PciRelation.NODE
    assert pci_relation([hb, "a", "x"], 0, ["pci0000:80", "b", "y"], 1) is PciRelation.SYS


@pytest.mark.parametrize("mode", ["garbage", "empty", "delete", "dir", "dangle"])
@pytest.mark.parametrize("seed", [0, 1])
def test_host_random_damage_never_raises(tmp_path: Path, mode: str, seed: int) -> None:
    """Damage a fifth of all files of a tree at random: discovery still returns a report."""
    import random

    root = build_sample("roce_sriov", tmp_path / "t")
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    rng = random.Random(seed)
    victims = rng.sample(files, len(files) // 5)
    for f in victims:
        if mode == "garbage":
            f.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40))))
        elif mode == "empty":
            f.write_bytes(b"")
        elif mode == "delete":
            f.unlink()
        elif mode == "dir":
            f.unlink()
            f.mkdir()
        else:
            f.unlink()
            f.symlink_to(f.parent / "does-not-exist")
    report = discover(root)
    assert adapter(HostReport).validate_python(dataclasses.asdict(report)) == report
    if mode in ("dir", "dangle"):
        assert report.problems


def test_host_pci_paths_from_sys_devices_and_none_for_a_flattened_tree(gh200: Path) -> None:
    report = discover(gh200)
    nic = report.nic_by_pci("0000:01:00.0")
    assert nic is not None and nic.pci_path == ["0000:00:00.0"]  # its root port
    assert report.gpus[0].pci_path == ["0009:00:00.0"]
    # a fixture that copies the function as a plain directory knows no root complex
    link = gh200 / "sys/bus/pci/devices/0000:01:00.1"
    target = link.resolve()
    link.unlink()
    shutil.copytree(target, link, symlinks=True)
    flat = discover(gh200).nic_by_pci("0000:01:00.1")
    assert flat is not None and flat.pci_path is None
