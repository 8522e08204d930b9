"""What `dualnet render` writes, rehearsed by `dualnet lab` on the real CNI plugins.

The other lab tests use hand-written NADs; these close the loop: every example spec is planned,
rendered and written as a YAML stream exactly as `dualnet render --stream` does, and the NAD in that
stream goes through the lab. Modes this kernel can do must pass end to end; the rest must come back
as "unsupported" (kernel or hardware), never as a failure of the NAD.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from dualnet.lab.nad import load_nad
from dualnet.lab.run import run_lab
from dualnet.plan import build_plan
from dualnet.render import render, write_stream
from dualnet.spec import parse_spec
from tests.helpers import kernel_can_link
from tests.render.cases import CASES, EXAMPLES, LAB_VERDICTS, lab_verdicts, plan_for


def _expected() -> dict[str, str]:
    """The verdict each example must get on the running kernel (tests/render/cases.py)."""
    return lab_verdicts(ipvlan=kernel_can_link("ipvlan"))


def _rendered_stream(objects: list[dict[str, Any]], tmp_path: Path) -> Path:
    out = tmp_path / "rendered.yaml"
    write_stream(objects, out)
    return out


def test_every_example_has_an_expected_lab_verdict() -> None:
    assert sorted(LAB_VERDICTS) == sorted(CASES)


@pytest.mark.netns
@pytest.mark.cni
@pytest.mark.parametrize("case", sorted(LAB_VERDICTS))
def test_rendered_example_in_the_lab(real_lab: Path, tmp_path: Path, case: str) -> None:
    stream = _rendered_stream(render(plan_for(case)), tmp_path)
    report = run_lab(load_nad(stream), pods=2, cni_bin=real_lab)
    assert report.verdict == _expected()[case], report.reason
    if report.verdict == "pass":
        assert all(c.result in {"pass", "skipped"} for c in report.checks)
        net1 = {a for p in report.pods for i in p.interfaces if i.name == "net1"
                for a in i.addresses}
        assert len(net1) == 2


@pytest.mark.netns
@pytest.mark.cni
def test_rendered_macvlan_with_static_ipam_in_the_lab(real_lab: Path, tmp_path: Path) -> None:
    # The guide's macvlan NAD with static IPAM instead of host-local: pods name their address.
    data = yaml.safe_load((EXAMPLES / "gh200-shared-roce.yaml").read_text())
    data["spec"]["ipam"] = {"type": "static", "subnet": "192.168.50.0/24"}
    plan = build_plan(parse_spec(data), CASES["gh200-shared-roce"]())
    stream = _rendered_stream(render(plan), tmp_path)
    nad = load_nad(stream)
    assert nad.config.get("ipam", {}).get("type") == "static" or any(
        p.get("ipam", {}).get("type") == "static" for p in nad.config.get("plugins", [])
    )
    report = run_lab(nad, pods=2, cni_bin=real_lab)
    assert report.verdict == "pass", report.reason
    assert all(c.result in {"pass", "skipped"} for c in report.checks)


def test_a_rendered_directory_is_read_through_its_kustomization(tmp_path: Path) -> None:
    # `dualnet lab DIR` reads what `dualnet render --out DIR` wrote, as kubectl apply -k would:
    # a NAD file an earlier render left behind (not in kustomization.yaml) is not picked up.
    from dualnet.render import write_kustomize

    out = tmp_path / "manifests"
    write_kustomize(render(plan_for("gh200-shared-roce")), out)
    stale = out / "networks" / "99-networkattachmentdefinition-old-net.yaml"
    stale.write_text((out / "networks" / "10-networkattachmentdefinition-rdma-net.yaml")
                     .read_text().replace("name: rdma-net", "name: old-net"))
    nad = load_nad(out)
    assert nad.name == "rdma-net"
