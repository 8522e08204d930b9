"""Validation of names that come from input and end up in commands, sysfs paths or objects.

Kernel and Kubernetes limits are enforced here once, so no layer builds a path or an argument
list from an unchecked string."""

from __future__ import annotations

import re

from dualnet.errors import UsageError

IFNAMSIZ = 16  # including the trailing NUL: at most 15 visible characters
_IFNAME = re.compile(r"^[A-Za-z0-9_.:@-]{1,15}$")
_PCI = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_RDMA_DEV = re.compile(r"^[A-Za-z0-9_.-]{1,63}$")
_MODULE = re.compile(r"^[A-Za-z0-9_-]{1,55}$")
_SHARED_DP_RESOURCE = re.compile(r"^[a-zA-Z0-9_]+$")
_SRIOV_DP_RESOURCE = re.compile(r"^[a-zA-Z0-9_-]+$")


def is_ifname(name: str) -> bool:
    return bool(_IFNAME.match(name)) and name not in {".", ".."} and "/" not in name


def check_ifname(name: str, *, field: str = "interface") -> str:
    if not is_ifname(name):
        raise UsageError(
            f"{field}: {name!r} is not a valid interface name",
            hint="1-15 characters from A-Z a-z 0-9 _ . : @ - (Linux IFNAMSIZ is 16 with the NUL)",
        )
    return name


def is_pci_address(addr: str) -> bool:
    return bool(_PCI.match(addr))


def check_pci_address(addr: str, *, field: str = "pci address") -> str:
    if not is_pci_address(addr):
        raise UsageError(
            f"{field}: {addr!r} is not a PCI address",
            hint="use the full lowercase domain:bus:device.function form, e.g. 0000:01:00.0",
        )
    return addr


def check_dns1123_label(name: str, *, field: str = "name") -> str:
    if len(name) > 63 or not _DNS1123_LABEL.match(name):
        raise UsageError(
            f"{field}: {name!r} is not a valid Kubernetes name",
            hint="lowercase letters, digits and '-', starting and ending with a letter or digit, "
            "at most 63 characters",
        )
    return name


def check_rdma_device(name: str, *, field: str = "rdma device") -> str:
    if not _RDMA_DEV.match(name):
        raise UsageError(f"{field}: {name!r} is not a valid RDMA device name",
                         hint="e.g. mlx5_0, mlx5_bond_0, rocep1s0f0")
    return name


def check_module(name: str, *, field: str = "module") -> str:
    if not _MODULE.match(name):
        raise UsageError(f"{field}: {name!r} is not a valid kernel module name",
                         hint="letters, digits, '_' and '-'")
    return name


def check_shared_dp_resource(name: str, *, field: str = "resourceName") -> str:
    """The RDMA shared device plugin accepts `^[a-zA-Z0-9_]+$` only (no hyphen, no dot)."""
    if not _SHARED_DP_RESOURCE.match(name):
        raise UsageError(f"{field}: {name!r} is not accepted by the RDMA shared device plugin",
                         hint="use letters, digits and '_' only (no '-' or '.')")
    return name


def check_sriov_dp_resource(name: str, *, field: str = "resourceName") -> str:
    if not _SRIOV_DP_RESOURCE.match(name):
        raise UsageError(f"{field}: {name!r} is not accepted by the SR-IOV device plugin",
                         hint="use letters, digits, '_' and '-'")
    return name
