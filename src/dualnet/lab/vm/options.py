"""What `dualnet lab --vm` was asked for, checked once at the CLI edge."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from dualnet.errors import HostError, UsageError
from dualnet.lab.vm.kernel import KERNEL_RELEASE, PACKAGES, Kernel, cached_kernel, user_kernel

ACCELS = ("auto", "kvm", "tcg")
NETNS_MODES = ("shared", "exclusive")


class VmOptions(BaseModel):
    kernel: Path | None = None
    initrd: Path | None = None
    modules: Path | None = None
    accel: Literal["auto", "kvm", "tcg"] = "auto"
    netns_mode: Literal["shared", "exclusive"] = "shared"


def parse_accel(value: str) -> Literal["auto", "kvm", "tcg"]:
    if value == "auto":
        return "auto"
    if value == "kvm":
        return "kvm"
    if value == "tcg":
        return "tcg"
    raise UsageError(f"--accel: {value!r} is not an accelerator", hint="auto, kvm or tcg")


def parse_netns_mode(value: str) -> Literal["shared", "exclusive"]:
    if value == "shared":
        return "shared"
    if value == "exclusive":
        return "exclusive"
    raise UsageError(f"--netns-mode: {value!r} is not an RDMA netns mode",
                     hint="shared or exclusive (booted with ib_core.netns_mode=0)")


def resolve_kernel(opts: VmOptions) -> Kernel:
    """The user's --kernel, else the cached Debian kernel; a clear error when neither."""
    if opts.kernel is not None:
        return user_kernel(opts.kernel, opts.initrd, opts.modules)
    if opts.initrd is not None or opts.modules is not None:
        raise UsageError("--initrd/--modules need --kernel")
    kernel = cached_kernel()
    if kernel is None:
        raise HostError(f"no VM kernel: Debian's {KERNEL_RELEASE} is not in the cache",
                        hint=f"run `dualnet lab --vm --fetch-kernel` (apt-get download "
                        f"{' '.join(PACKAGES)} from trixie-backports; nothing is installed), "
                        "or pass --kernel/--initrd")
    return kernel
