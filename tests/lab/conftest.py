"""Fixtures of the lab tests: this session's run id prefix, preconditions for real plugins and a
leak check around each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dualnet.lab.topology import RUN_PREFIX_ENV
from tests.helpers import (
    LAB_RUN_PREFIX,
    cni_bin_dir,
    have_root_netns,
    own_lab_namespaces,
    require,
)


@pytest.fixture(scope="session", autouse=True)
def lab_run_prefix() -> Iterator[str]:
    """Every lab run of this session, in-process or a `dualnet lab` subprocess, names its
    namespaces dnlab-<LAB_RUN_PREFIX>…, so the leak check below sees this session's only."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(RUN_PREFIX_ENV, LAB_RUN_PREFIX)
        yield LAB_RUN_PREFIX


@pytest.fixture
def real_lab() -> Iterator[Path]:
    """Root, iproute2 and the CNI plugins; after the test no namespace of this session's lab runs
    may remain that was not there before (another suite's runs are not this test's leaks)."""
    require(have_root_netns(), "root and iproute2 (ip netns)")
    bin_dir = cni_bin_dir()
    require(bin_dir is not None, "CNI plugins in /usr/lib/cni (containernetworking-plugins)")
    before = own_lab_namespaces()
    yield Path(str(bin_dir))
    assert own_lab_namespaces() - before == set(), "lab namespaces left behind"
