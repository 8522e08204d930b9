"""Shared test policy.

Under CI=true a test that needs a real component (root, network namespaces, CNI plugin binaries)
must run or fail; it may never skip silently. `require()` encodes that rule: use it instead of
`pytest.skip` for every real-component precondition.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, what: str) -> None:
    """Skip locally when `condition` is false; fail under CI so nothing is skipped silently."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true and a real component is missing: {what}")
    pytest.skip(f"missing real component: {what}")


def have_root_netns() -> bool:
    return os.geteuid() == 0 and shutil.which("ip") is not None


CNI_BIN_DIRS = ("/usr/lib/cni", "/opt/cni/bin")


def cni_bin_dir() -> str | None:
    for d in CNI_BIN_DIRS:
        if (Path(d) / "macvlan").is_file():
            return d
    return None
