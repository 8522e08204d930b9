"""`dualnet sample`, the README's first command: the whole node-side path on the bundled GH200."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.helpers import run_cli


def test_sample_runs_the_path_and_writes_what_the_guide_shows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code, stdout, _ = run_cli(capsys, "sample", "--out", str(out))
    assert code == 0
    for step in ("1. discover", "2. doctor", "3. plan", "4. render"):
        assert step in stdout
    # discover read the tree; doctor gave the guide node's three warnings
    assert "enp1s0f0np0" in stdout and "a0:88:c2:a7:5c:d4" in stdout
    for finding in ("port.not-active", "port.only-active-is-management", "roce.mtu-low"):
        assert finding in stdout
    assert (out / "PLAN.md").is_file() and (out / "manifests" / "kustomization.yaml").is_file()
    nad = yaml.safe_load(
        (out / "manifests" / "networks" / "10-networkattachmentdefinition-rdma-net.yaml")
        .read_text()
    )
    assert nad["metadata"]["annotations"]["k8s.v1.cni.cncf.io/resourceName"] == (
        "rdma/rdma_shared_device"
    )
    assert '"master": "enp1s0f0np0"' in nad["spec"]["config"]


def test_sample_rerun_keeps_what_the_user_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert run_cli(capsys, "sample", "--out", str(out))[0] == 0
    plan = out / "PLAN.md"
    plan.write_text(plan.read_text() + "\nmy notes\n")
    assert run_cli(capsys, "sample", "--out", str(out))[0] == 0
    backup = out / "PLAN.md.bak"
    assert backup.read_text().endswith("my notes\n")
    assert "my notes" not in plan.read_text()
    assert not (out / "report.html.bak").exists()  # an unchanged page is not backed up


def test_sample_unknown_node_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "sample", "--node", "dgx9000", "--out", str(tmp_path))
    assert code == 2
    assert "unknown sample" in err and "gh200" in err


@pytest.mark.parametrize(("node", "rendered"), [
    ("dgx_h100_ib", True),   # CNI errors only: the rendered components install what is missing
    ("roce_sriov", True),
    ("no_mlx5_ib", False),   # mlx5_ib missing: no plan until the node can carry RDMA
    ("no_rdma", False),      # no bundled spec
])
def test_every_bundled_node_goes_as_far_as_it_should(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], node: str, rendered: bool
) -> None:
    out = tmp_path / node
    code, stdout, _ = run_cli(capsys, "sample", "--node", node, "--out", str(out))
    assert code == 0
    assert "2. doctor" in stdout
    assert (out / "manifests" / "kustomization.yaml").is_file() is rendered
    assert ("plan and render skipped" in stdout) is not rendered
    # every node gets its page, with the pod picture only where there is a plan
    page = (out / "report.html").read_text()
    assert str(out / "report.html") in stdout.replace("\n", "")
    assert ('class="podnet"' in page) is rendered
    if node == "no_mlx5_ib":
        assert "rdma.mlx5_ib-missing" in stdout and "rollout cannot fix" in stdout
