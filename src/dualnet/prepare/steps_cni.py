"""CNI plugin binaries into the kubelet's bin dir, from the distribution package or a given dir.

Each binary must be an ELF for the node's architecture; it is copied atomically (temp + rename, so
a kubelet never execs half a file) and an existing, different binary is backed up first.
"""

from __future__ import annotations

import platform
from pathlib import Path

from dualnet.plan.steps import InstallCniPlugins
from dualnet.prepare.context import StepContext, StepError
from dualnet.prepare.outcome import StepStatus

Result = tuple[StepStatus, str]

# Debian/Ubuntu containernetworking-plugins, then Fedora/RHEL.
DEFAULT_SOURCES = ("/usr/lib/cni", "/usr/libexec/cni")

# ELF e_machine values (elf.h) for the architectures a GPU node runs.
ELF_MACHINE = {"x86_64": 62, "amd64": 62, "aarch64": 183, "arm64": 183, "ppc64le": 21,
               "s390x": 22, "riscv64": 243}


def elf_machine(path: Path) -> int | None:
    try:
        with path.open("rb") as fh:
            head = fh.read(20)
    except OSError:
        return None
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return None
    return int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")


def node_arch(ctx: StepContext) -> str | None:
    if ctx.facts is not None and ctx.facts.arch:
        return ctx.facts.arch
    # The running machine is the node only when root is the real root.
    return platform.machine() if ctx.host.root == Path("/") else None


def install_cni_plugins(step: InstallCniPlugins, ctx: StepContext) -> Result:
    sources = [step.source_dir] if step.source_dir else list(DEFAULT_SOURCES)
    src_dir = next((s for s in sources if ctx.host.path(s).is_dir()), None)
    if src_dir is None:
        raise StepError(f"no CNI plugin source dir: {', '.join(sources)} (under "
                         f"{ctx.host.root})",
                         hint="install containernetworking-plugins, or give source_dir")
    arch = node_arch(ctx)
    want_machine = ELF_MACHINE.get(arch or "")
    if arch is None:
        ctx.notes.append("node architecture unknown: binaries not checked against it")
    todo: list[tuple[Path, str]] = []
    for name in step.plugins:
        src = ctx.host.path(f"{src_dir}/{name}")
        if not src.is_file():
            raise StepError(f"plugin {name!r} not found in {ctx.host.path(src_dir)}")
        machine = elf_machine(src)
        if want_machine is not None and machine != want_machine:
            raise StepError(f"{src} is not an ELF binary for {arch} (e_machine {machine})",
                             hint=f"use the plugins built for {arch} (cni-plugins-linux-"
                             f"{'arm64' if want_machine == 183 else 'amd64'}-*.tgz)")
        dst_rel = f"{step.bin_dir}/{name}"
        dst = ctx.host.path(dst_rel)
        if not (dst.is_file() and dst.read_bytes() == src.read_bytes()
                and dst.stat().st_mode & 0o111):
            todo.append((src, dst_rel))
    ctx.checked = True
    if not todo:
        return StepStatus.UNCHANGED, f"{len(step.plugins)} plugins in {step.bin_dir} already"
    for src, dst_rel in todo:
        ctx.acted = True
        ctx.push_undo(ctx.host.copy_file(src, dst_rel, mode=0o755))
    msg = f"install {', '.join(Path(d).name for _, d in todo)} into {step.bin_dir}"
    if ctx.dry_run:
        return StepStatus.WOULD_CHANGE, msg
    for src, dst_rel in todo:
        dst = ctx.host.path(dst_rel)
        if dst.read_bytes() != src.read_bytes() or not dst.stat().st_mode & 0o111:
            raise StepError(f"{dst} does not match {src} after the copy")
    ctx.verified = True
    return StepStatus.CHANGED, msg
