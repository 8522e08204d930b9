"""Fixtures of the host tests: sample trees built once per session (they are read-only inputs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dualnet.host.discover import discover
from dualnet.host.models import HostReport
from dualnet.host.samples import SAMPLES, build_sample


@pytest.fixture(scope="session")
def sample_roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("samples")
    return {name: build_sample(name, base / name) for name in SAMPLES}


@pytest.fixture(scope="session")
def reports(sample_roots: dict[str, Path]) -> dict[str, HostReport]:
    return {name: discover(root) for name, root in sample_roots.items()}
