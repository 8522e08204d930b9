"""The real `dualnet sample` render output (the guide's GH200) applied to the API emulator:
everything is created, in order, and a second apply sends no write request."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from testsupport.apiserver import writes

from dualnet import labels
from dualnet.cluster.apply import Action, apply_objects
from dualnet.cluster.objects import load_objects
from dualnet.cluster.wait import targets_from_objects
from tests.helpers import Harness


def render_sample(out: Path) -> Path:
    from dualnet.cli import main

    old, sys.argv = sys.argv, ["dualnet", "sample", "--out", str(out)]
    try:
        main()
    except SystemExit as exc:  # typer exits 0 on success
        assert not exc.code, f"dualnet sample failed with {exc.code}"
    finally:
        sys.argv = old
    return out / "manifests"


async def test_sample_render_applies_idempotently(harness: Harness, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    objects = load_objects(render_sample(tmp_path / "sample"))
    capsys.readouterr()
    kinds = {o["kind"] for o in objects}
    assert {"DaemonSet", "NetworkAttachmentDefinition", "CustomResourceDefinition"} <= kinds
    first = await apply_objects(harness.client, objects)
    assert {o.action for o in first.outcomes} == {Action.CREATED}
    assert first.outcomes[0].kind == "CustomResourceDefinition"
    assert first.network == next(iter({o["metadata"]["labels"][labels.NETWORK]
                                       for o in objects}))
    before = len(writes(harness.server))
    second = await apply_objects(harness.client, load_objects(tmp_path / "sample" / "manifests"))
    assert {o.action for o in second.outcomes} == {Action.UNCHANGED}
    assert len(writes(harness.server)) == before
    target = targets_from_objects(objects)
    assert target.resources == ["rdma/rdma_shared_device"]
    assert len(target.daemonsets) >= 2 and len(target.nads) == 1
