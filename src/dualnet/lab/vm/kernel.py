"""The guest kernel: Debian's trixie-backports kernel, fetched with `apt-get download` through a
private apt configuration (the host's sources, lists and package state are never touched, and
nothing is installed), unpacked into a cache, with `depmod` run once on the unpacked tree.

Exactly these packages are fetched (both from `trixie-backports main` on deb.debian.org):
`linux-binary-7.3.4+deb13-amd64` (the `vmlinuz`) and `linux-modules-7.3.4+deb13-amd64` (its
modules, `.ko.xz`). The 7.x kernel is needed: Debian 12's 6.1 rxe predates network-namespace
support, so no RDMA transfer between two namespaces completes on it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dualnet.errors import HostError, UsageError

KERNEL_RELEASE = "7.3.4+deb13-amd64"
PACKAGES = (f"linux-binary-{KERNEL_RELEASE}", f"linux-modules-{KERNEL_RELEASE}")
MIRROR = "http://deb.debian.org/debian"
SUITE = "trixie-backports"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dualnet" / "kernels"


@dataclass(frozen=True)
class Kernel:
    """A bootable kernel: its image, and (for the cached Debian one) a module tree that
    `modprobe -d modules_base` finds as `<modules_base>/lib/modules/<release>`."""

    vmlinuz: Path
    release: str
    modules_base: Path | None = None
    initrd: Path | None = None  # a user's own initramfs, used instead of the built one

    @property
    def modules_dir(self) -> Path | None:
        return self.modules_base / "lib" / "modules" / self.release if self.modules_base else None


def cached_kernel(release: str = KERNEL_RELEASE) -> Kernel | None:
    """The fetched kernel, when the cache holds a complete one (image + modules + depmod)."""
    base = cache_dir() / release / "root" / "usr"
    mods = base / "lib" / "modules" / release
    if (mods / "vmlinuz").is_file() and (mods / "modules.dep.bin").is_file():
        return Kernel(vmlinuz=mods / "vmlinuz", release=release, modules_base=base)
    return None


def user_kernel(vmlinuz: Path, initrd: Path | None, modules: Path | None) -> Kernel:
    """`--kernel`/`--initrd`/`--modules`: the user's own. Without an initrd dualnet builds its
    busybox one, which needs the kernel's module tree (`--modules` DIR holding
    lib/modules/<release>) for 9p and the lab's modules."""
    if not vmlinuz.is_file():
        raise UsageError(f"--kernel {vmlinuz}: no such file", hint="a bzImage/vmlinuz to boot")
    if initrd is not None and not initrd.is_file():
        raise UsageError(f"--initrd {initrd}: no such file")
    release = ""
    if modules is not None:
        found = sorted(p.name for p in (modules / "lib" / "modules").glob("*") if p.is_dir())
        if not found:
            raise UsageError(f"--modules {modules}: no lib/modules/<release> below it",
                             hint="the root of an unpacked linux-modules package")
        release = found[0]
    elif initrd is None:
        raise UsageError("--kernel without --initrd needs --modules DIR",
                         hint="the built initramfs loads 9p from the kernel's own modules")
    return Kernel(vmlinuz=vmlinuz, release=release, modules_base=modules, initrd=initrd)


def apt_options(state: Path) -> list[str]:
    """A private apt: its own sources list, lists, cache and an empty dpkg status, so the
    host's configuration is neither read for sources nor written."""
    return [
        "-o", f"Dir::Etc::SourceList={state / 'sources.list'}",
        "-o", "Dir::Etc::SourceParts=/nonexistent",
        "-o", f"Dir::State={state / 'state'}",
        "-o", f"Dir::Cache={state / 'cache'}",
        "-o", "Dir::State::status=/dev/null",
        "-o", "APT::Architecture=amd64",
        "-o", "APT::Sandbox::User=root",
    ]


def sources_line() -> str:
    return f"deb [signed-by={KEYRING}] {MIRROR} {SUITE} main\n"


def _run(argv: list[str], cwd: Path | None = None, timeout: float = 900) -> None:
    try:
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              check=False)
    except FileNotFoundError as exc:
        raise HostError(f"{argv[0]} is not installed", hint="apt-get install apt kmod") from exc
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise HostError(f"{' '.join(argv[:3])} failed: {' | '.join(tail)}",
                        hint=f"the kernel packages come from {MIRROR} {SUITE}")


def fetch_kernel(release: str = KERNEL_RELEASE, *, log: object = None) -> Kernel:
    """Download, unpack and depmod the Debian kernel into the cache; a no-op when cached."""
    have = cached_kernel(release)
    if have is not None:
        return have
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise HostError("--fetch-kernel needs apt-get and dpkg-deb (a Debian/Ubuntu host)",
                        hint="or pass --kernel/--initrd with your own")
    target = cache_dir() / release
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dualnet-apt-") as tmp:
        state = Path(tmp)
        (state / "sources.list").write_text(sources_line())
        for d in ("state/lists/partial", "cache/archives/partial", "debs"):
            (state / d).mkdir(parents=True)
        opts = apt_options(state)
        _run(["apt-get", *opts, "update"])
        pkgs = [f"linux-binary-{release}", f"linux-modules-{release}"]
        _run(["apt-get", *opts, "download", *pkgs], cwd=state / "debs")
        staging = Path(tempfile.mkdtemp(prefix=f".{release}-", dir=target.parent))
        try:
            for deb in sorted((state / "debs").glob("*.deb")):
                _run(["dpkg-deb", "-x", str(deb), str(staging / "root")])
            base = staging / "root" / "usr"
            # Debian runs depmod in postinst; the unpacked tree needs it done here, once
            _run(["depmod", "-b", str(base), release])
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    kernel = cached_kernel(release)
    if kernel is None:
        raise HostError(f"the fetched packages hold no {release} kernel in {target}")
    return kernel
