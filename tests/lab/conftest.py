"""Fixtures of the lab tests: preconditions for real plugins and a leak check around each test."""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import cni_bin_dir, have_root_netns, require

NADS = Path(__file__).parent / "nads"


@pytest.fixture
def real_lab() -> Iterator[Path]:
    """Root, iproute2 and the CNI plugins; after the test no dnlab- namespace may remain."""
    require(have_root_netns(), "root and iproute2 (ip netns)")
    bin_dir = cni_bin_dir()
    require(bin_dir is not None, "CNI plugins in /usr/lib/cni (containernetworking-plugins)")
    from dualnet.lab.checks import stale_namespaces

    before = set(stale_namespaces())
    yield Path(str(bin_dir))
    assert set(stale_namespaces()) - before == set(), "lab namespaces left behind"


@functools.cache
def kernel_can_link(kind: str, *extra: str) -> bool:
    """Whether the running kernel can make a `kind` link (ipvlan, vlan, macvlan) on a veth: asked
    of the kernel itself in a throwaway namespace, so expected verdicts follow the machine."""
    from dualnet.lab import netns

    if not have_root_netns():
        return False
    probe = f"dnlab-probe{os.getpid()}"
    netns.create_netns(probe)
    try:
        ip = ["ip", "-n", probe, "link", "add"]
        subprocess.run([*ip, "dnprobe0", "type", "veth", "peer", "name", "dnprobe1"],
                       check=True, capture_output=True)
        made = subprocess.run([*ip, "link", "dnprobe0", "name", "dnprobe2", "type", kind, *extra],
                              capture_output=True, check=False)
        return made.returncode == 0
    finally:
        netns.delete_netns(probe)
