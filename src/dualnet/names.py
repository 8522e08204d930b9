"""Validation of names that come from input and end up in commands, sysfs paths or objects.

Kernel and Kubernetes limits are enforced here once, so no layer builds a path or an argument
list from an unchecked string."""

from __future__ import annotations

import re

from dualnet.errors import UsageError

IFNAMSIZ = 16  # the kernel's buffer, including the trailing NUL: at most 15 bytes of name
# The bytes the kernel's isspace() takes as space (lib/ctype.c: ASCII whitespace and 0xA0).
_KERNEL_SPACE = frozenset(b" \t\n\v\f\r\xa0")
IFNAME_RULE = (f"1-{IFNAMSIZ - 1} bytes, no '/', ':' or whitespace, and not '.' or '..' "
                "(the kernel's dev_valid_name)")
_PCI = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_RDMA_DEV = re.compile(r"^[A-Za-z0-9_.-]{1,63}$")
_MODULE = re.compile(r"^[A-Za-z0-9_-]{1,55}$")
_SHARED_DP_RESOURCE = re.compile(r"^[a-zA-Z0-9_]+$")
_SRIOV_DP_RESOURCE = re.compile(r"^[a-zA-Z0-9_-]+$")

def small_int(text: str, max_digits: int = 9) -> int | None:
    """`text` as a non-negative int when it is 1 to `max_digits` ASCII digits, else None.

    For numbers read out of names and tool outputs (an index, a port, a NUMA node): str.isdigit()
    and a regex's `\\d` also take "²" (which int() refuses) and "٣" (which it reads as 3), and
    int() refuses runs over 4300 digits; none of those is a number the kernel prints."""
    ok = 0 < len(text) <= max_digits and text.isascii() and text.isdigit()
    return int(text) if ok else None


def ifname_problem(name: str) -> str | None:
    """What makes `name` a netdev name the kernel refuses (net/core/dev.c dev_valid_name), or
    None. The kernel counts bytes, so the name is measured as the UTF-8 it is passed as."""
    try:
        raw = name.encode("utf-8")
    except UnicodeEncodeError:
        return "it is not valid UTF-8"
    if not raw:
        return "it is empty"
    if len(raw) >= IFNAMSIZ:
        return f"it is {len(raw)} bytes long (at most {IFNAMSIZ - 1})"
    if name in {".", ".."}:
        return f"{name!r} names a directory"
    bad = sorted({chr(b) for b in raw if b in _KERNEL_SPACE or b in b"/:\0"})
    if bad:
        return "it holds " + ", ".join(repr(c) for c in bad)
    return None


def is_ifname(name: str) -> bool:
    return ifname_problem(name) is None


def check_ifname(name: str, *, field: str = "interface") -> str:
    """An interface name from a flag or option: a UsageError naming `field` if the kernel would
    refuse it."""
    problem = ifname_problem(name)
    if problem is not None:
        raise UsageError(f"{field}: {name!r} is not a valid interface name: {problem}",
                         hint=f"an interface name is {IFNAME_RULE}")
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
