"""Writers: kustomize directory and YAML stream; byte-identical output; backups, never silent
overwrites; the CLI end to end."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dualnet.errors import UsageError
from dualnet.host.dump import jsonable
from dualnet.render import render, stream_text, write_kustomize, write_stream
from tests.render.cases import EXAMPLES, plan_for


def dualnet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from dualnet.cli import main; main()", *args],
                          capture_output=True, text=True, check=False)


def test_stream_round_trips_to_the_same_objects() -> None:
    objects = render(plan_for("sriov-rdma-cni-whereabouts"))
    buf = io.StringIO()
    write_stream(objects, buf)
    assert buf.getvalue() == stream_text(objects)
    assert list(yaml.safe_load_all(buf.getvalue())) == objects
    # configs are literal blocks, readable as in the guide
    assert "config: |\n" in buf.getvalue()


def test_kustomize_layout_and_listing(tmp_path: Path) -> None:
    objects = render(plan_for("gh200-shared-roce"))
    files = write_kustomize(objects, tmp_path)
    kust = yaml.safe_load((tmp_path / "kustomization.yaml").read_text())
    assert kust["kind"] == "Kustomization"
    assert len(kust["resources"]) == len(objects)
    assert kust["resources"][0].startswith("components/01-customresourcedefinition-")
    assert "networks/10-networkattachmentdefinition-rdma-net.yaml" in kust["resources"]
    assert "workloads/11-configmap-rdma-dualnet-pod.yaml" in kust["resources"]
    assert "workloads/12-pod-rdma-test.yaml" in kust["resources"]
    for rel, obj in zip(kust["resources"], objects, strict=True):
        assert yaml.safe_load((tmp_path / rel).read_text()) == obj
    assert files[-1] == tmp_path / "kustomization.yaml"


def test_existing_files_are_backed_up_not_overwritten(tmp_path: Path) -> None:
    objects = render(plan_for("gh200-shared-roce"))
    write_kustomize(objects, tmp_path)
    nad = tmp_path / "networks/10-networkattachmentdefinition-rdma-net.yaml"
    nad.write_text("# my own edit\n")
    backups: list[Path] = []
    write_kustomize(objects, tmp_path, backups)
    assert backups == [nad.with_name(nad.name + ".bak")]
    assert backups[0].read_text() == "# my own edit\n"
    assert yaml.safe_load(nad.read_text())["kind"] == "NetworkAttachmentDefinition"
    # identical content: nothing to back up
    again: list[Path] = []
    write_kustomize(objects, tmp_path, again)
    assert again == []
    # a second edit keeps the first backup too
    nad.write_text("# second edit\n")
    write_kustomize(objects, tmp_path, again)
    assert again == [nad.with_name(nad.name + ".bak.1")]


def test_stream_file_backup(tmp_path: Path) -> None:
    out = tmp_path / "all.yaml"
    out.write_text("user content\n")
    backups: list[Path] = []
    write_stream(render(plan_for("gh200-shared-roce")), out, backups)
    assert backups == [tmp_path / "all.yaml.bak"]
    assert (tmp_path / "all.yaml.bak").read_text() == "user content\n"


def _report(tmp_path: Path) -> Path:
    from tests.plan.hosts import gh200

    path = tmp_path / "gh200.json"
    path.write_text(json.dumps(jsonable(gh200())))
    return path


def test_cli_render_out_dir_matches_golden(tmp_path: Path) -> None:
    report = _report(tmp_path)
    out = tmp_path / "out"
    r = dualnet("render", str(EXAMPLES / "gh200-shared-roce.yaml"), "--report", str(report),
                "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "14 objects validated" in r.stderr
    assert "[shared-management-port]" in r.stderr
    assert (out / "PLAN.md").read_text().startswith("# Training network `rdma-net`")
    golden = Path(__file__).parent / "golden" / "gh200-shared-roce.yaml"
    docs = list(yaml.safe_load_all(golden.read_text()))
    kust = yaml.safe_load((out / "kustomization.yaml").read_text())
    assert [yaml.safe_load((out / f).read_text()) for f in kust["resources"]] == docs


def test_cli_render_stream_stdout_and_target(tmp_path: Path) -> None:
    report = _report(tmp_path)
    r = dualnet("render", str(EXAMPLES / "gh200-shared-roce.yaml"), "--report", str(report),
                "--target", "network-operator", "--k8s-version", "1.30")
    assert r.returncode == 0, r.stderr
    kinds = [d["kind"] for d in yaml.safe_load_all(r.stdout)]
    assert kinds[:2] == ["NicClusterPolicy", "MacvlanNetwork"]
    bad = dualnet("render", str(EXAMPLES / "gh200-shared-roce.yaml"), "--report", str(report),
                  "--target", "helm")
    assert bad.returncode == 2 and "--target" in bad.stderr


def test_cli_plan_json_and_refusal(tmp_path: Path) -> None:
    report = _report(tmp_path)
    r = dualnet("plan", str(EXAMPLES / "gh200-shared-roce.yaml"), "--report", str(report),
                "--output", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["shared_dp_config"]["configList"][0]["selectors"]["deviceIDs"] == ["1021"]
    refused = dualnet("plan", str(EXAMPLES / "host-device-whereabouts.yaml"), "--report",
                      str(report))
    assert refused.returncode == 2
    assert "ens1f0np0" in refused.stderr and "Traceback" not in refused.stderr


def test_cli_render_from_a_discovered_root(tmp_path: Path) -> None:
    from dualnet.host.samples import build_sample

    root = build_sample("gh200", tmp_path / "gh200")
    out = tmp_path / "all.yaml"
    r = dualnet("render", str(EXAMPLES / "gh200-shared-roce.yaml"), "--root", str(root),
                "--stream", str(out))
    assert r.returncode == 0, r.stderr
    golden = Path(__file__).parent / "golden" / "gh200-shared-roce.yaml"
    assert out.read_text() == golden.read_text()
    missing = dualnet("plan", str(EXAMPLES / "gh200-shared-roce.yaml"), "--root",
                      str(tmp_path / "nope"))
    assert missing.returncode == 2 and "--root" in missing.stderr


def test_unwritable_out_dir_is_a_usage_error(tmp_path: Path) -> None:
    # the parent of --out is a file: mkdir fails; the user gets exit 2 naming the path
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    objects = render(plan_for("gh200-shared-roce"))
    with pytest.raises(UsageError, match="cannot write it") as info:
        write_kustomize(objects, blocker / "out")
    assert info.value.exit_code == 2
    assert str(blocker / "out") in info.value.message


def test_a_rerender_backs_up_its_own_stale_files_and_leaves_others_alone(tmp_path: Path) -> None:
    # Render one network, then another into the same directory: the first render's objects
    # would otherwise sit beside the new ones (colliding number prefixes) while kustomization.yaml
    # lists only the new.
    first = render(plan_for("gh200-shared-roce"))
    second = render(plan_for("sriov-rdma-cni-whereabouts"))
    write_kustomize(first, tmp_path)
    mine = tmp_path / "networks" / "99-my-own.yaml"
    mine.write_text("# not dualnet's\n")
    old = set(json.loads((tmp_path / ".dualnet-files.json").read_text())["files"])
    backups: list[Path] = []
    write_kustomize(second, tmp_path, backups)
    kust = yaml.safe_load((tmp_path / "kustomization.yaml").read_text())
    on_disk = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.yaml")}
    assert on_disk == {*kust["resources"], "kustomization.yaml", "networks/99-my-own.yaml"}
    stale = old - set(kust["resources"]) - {"kustomization.yaml"}
    assert stale and {str(b.relative_to(tmp_path)) for b in backups} >= {
        f"{s}.bak" for s in stale}
    assert mine.read_text() == "# not dualnet's\n"
    manifest = json.loads((tmp_path / ".dualnet-files.json").read_text())["files"]
    assert set(manifest) == {*kust["resources"], "kustomization.yaml"}


def test_a_directory_without_a_manifest_is_not_cleaned(tmp_path: Path) -> None:
    # Files there before dualnet's first render are not known to be dualnet's: left alone.
    (tmp_path / "networks").mkdir()
    other = tmp_path / "networks" / "10-networkattachmentdefinition-old.yaml"
    other.write_text("kind: NetworkAttachmentDefinition\n")
    write_kustomize(render(plan_for("gh200-shared-roce")), tmp_path)
    assert other.read_text() == "kind: NetworkAttachmentDefinition\n"


def test_a_manifest_cannot_point_outside_the_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    outside = tmp_path / "precious.yaml"
    outside.write_text("keep\n")
    out.mkdir()
    (out / ".dualnet-files.json").write_text(json.dumps(
        {"files": {"../precious.yaml": "x", str(outside): "x"}}))
    write_kustomize(render(plan_for("gh200-shared-roce")), out)
    assert outside.read_text() == "keep\n" and not (tmp_path / "precious.yaml.bak").exists()


def test_cli_missing_parent_of_out_or_stream_is_a_usage_error(tmp_path: Path) -> None:
    report = _report(tmp_path)
    spec = str(EXAMPLES / "gh200-shared-roce.yaml")
    for flag, target in (("--out", tmp_path / "typo" / "manifests"),
                         ("--stream", tmp_path / "typo" / "all.yaml")):
        r = dualnet("render", spec, "--report", str(report), flag, str(target))
        assert r.returncode == 2, r.stderr
        assert flag in r.stderr and "does not exist" in r.stderr and "Traceback" not in r.stderr
        assert not (tmp_path / "typo").exists()
    r = dualnet("sample", "--out", str(tmp_path / "typo" / "sample"))
    assert r.returncode == 2 and "--out" in r.stderr and not (tmp_path / "typo").exists()
