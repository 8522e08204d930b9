from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def samples_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the bundled sample nodes' sysfs trees are built, once per run."""
    return tmp_path_factory.mktemp("report-samples")
