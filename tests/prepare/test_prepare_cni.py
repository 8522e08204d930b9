"""CNI plugin binaries: real binaries from the distribution package copied into a fixture root."""

from __future__ import annotations

import shutil
from pathlib import Path

from dualnet.host.models import HostReport
from dualnet.plan.steps import InstallCniPlugins
from dualnet.prepare import Host, StepStatus, prepare
from dualnet.prepare.steps_cni import elf_machine
from tests.helpers import require
from tests.prepare.fakes import FakeKernel

SRC = Path("/usr/lib/cni")
TS = "20261123T190000Z"


def _root(tmp_path: Path) -> Path:
    require((SRC / "macvlan").is_file(), "containernetworking-plugins in /usr/lib/cni")
    root = tmp_path / "node"
    (root / "usr/lib").mkdir(parents=True)
    shutil.copytree(SRC, root / "usr/lib/cni")
    (root / "proc/net").mkdir(parents=True)
    return root


def test_plugins_copied_atomically_with_backup_and_idempotent(tmp_path: Path) -> None:
    root = _root(tmp_path)
    arch = {62: "x86_64", 183: "aarch64"}[elf_machine(SRC / "macvlan") or 0]
    facts = HostReport(arch=arch)
    bin_dir = root / "opt/cni/bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "macvlan").write_bytes(b"old macvlan")
    step = InstallCniPlugins(plugins=["macvlan", "host-device", "static"])
    rep = prepare([step], Host(root, FakeKernel(root), timestamp=TS), facts)
    assert rep.steps[0].status is StepStatus.CHANGED and rep.steps[0].verified
    for name in step.plugins:
        assert (bin_dir / name).read_bytes() == (SRC / name).read_bytes()
        assert (bin_dir / name).stat().st_mode & 0o777 == 0o755
    assert (bin_dir / f"macvlan.dualnet-bak.{TS}").read_bytes() == b"old macvlan"
    assert not list(bin_dir.glob(".*dualnet-tmp"))  # no temp file left behind
    again = prepare([step], Host(root, FakeKernel(root), timestamp=TS), facts)
    assert again.steps[0].status is StepStatus.UNCHANGED and again.journal == []


def test_wrong_architecture_fails_and_copies_nothing(tmp_path: Path) -> None:
    root = _root(tmp_path)
    other = "aarch64" if elf_machine(SRC / "macvlan") == 62 else "x86_64"
    rep = prepare([InstallCniPlugins(plugins=["macvlan"])], Host(root, FakeKernel(root)),
                  HostReport(arch=other))
    assert rep.steps[0].status is StepStatus.FAILED
    assert f"not an ELF binary for {other}" in (rep.steps[0].error or "")
    assert not (root / "opt/cni/bin").exists()


def test_missing_plugin_fails_check(tmp_path: Path) -> None:
    root = _root(tmp_path)
    rep = prepare([InstallCniPlugins(plugins=["rdma"])], Host(root, FakeKernel(root)))
    assert rep.steps[0].status is StepStatus.FAILED and not rep.steps[0].acted
