"""Preconditions of the lab on this machine: root, iproute2, ping, and the CNI plugin binaries."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

from dualnet.errors import HostError
from dualnet.lab import where

DEFAULT_CNI_DIRS = (Path("/usr/lib/cni"), Path("/opt/cni/bin"))
INSTALL_HINT = ("Debian/Ubuntu: apt-get install containernetworking-plugins (binaries land in "
                "/usr/lib/cni); or pass --cni-bin DIR")


def find_cni_bin(cni_bin: Path | str | None = None) -> Path:
    if cni_bin is not None:
        cni_bin = Path(cni_bin)
        if not (cni_bin / "bridge").is_file():
            raise HostError(f"--cni-bin {cni_bin}: no CNI plugins there (no `bridge` binary)",
                            hint=INSTALL_HINT)
        return cni_bin
    for d in DEFAULT_CNI_DIRS:
        if (d / "bridge").is_file():
            return d
    raise HostError("CNI plugins not found in "
                    + " or ".join(str(d) for d in DEFAULT_CNI_DIRS), hint=INSTALL_HINT)


def preflight(cni_bin: Path | str | None, plugins: Iterable[str]) -> Path:
    """The CNI bin dir to use; HostError naming what is missing and how to get it."""
    if not where.current().is_root():
        raise HostError("dualnet lab needs root: it creates network namespaces and runs CNI "
                        "plugins in them", hint="run it as root, e.g. `sudo dualnet lab ...`")
    if shutil.which("ip") is None:
        raise HostError("`ip` (iproute2) is not installed", hint="apt-get install iproute2")
    if shutil.which("ping") is None:
        raise HostError("`ping` is not installed (the lab pings between pods over net1)",
                        hint="apt-get install iputils-ping")
    bin_dir = find_cni_bin(cni_bin)
    missing = sorted({p for p in plugins if not (bin_dir / p).is_file()})
    if missing:
        raise HostError(f"CNI plugin binaries missing from {bin_dir}: {', '.join(missing)}",
                        hint=INSTALL_HINT)
    return bin_dir
