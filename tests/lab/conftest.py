"""Fixtures of the lab tests: preconditions for real plugins and a leak check around each test."""

from __future__ import annotations

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
