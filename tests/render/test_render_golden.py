"""Golden files: every example renders byte for byte what is committed under golden/.

Regenerate after an intended change with DUALNET_UPDATE_GOLDENS=1 and review the diff."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from dualnet.render import plan_markdown, render, stream_text, validate_objects, write_kustomize
from tests.render.cases import CASES, EXAMPLES, GOLDEN, plan_for

UPDATE = os.environ.get("DUALNET_UPDATE_GOLDENS") == "1"
TARGETS = ("plain", "network-operator")


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden {path}; run with DUALNET_UPDATE_GOLDENS=1"
    assert path.read_text(encoding="utf-8") == text, f"{name} differs from the golden file"


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_render_matches_golden(case: str, target: str) -> None:
    plan = plan_for(case)
    objects = render(plan, target=target)  # type: ignore[arg-type]
    validate_objects(objects)
    suffix = "" if target == "plain" else ".network-operator"
    _golden(f"{case}{suffix}.yaml", stream_text(objects))


@pytest.mark.parametrize("case", sorted(CASES))
def test_plan_markdown_matches_golden(case: str) -> None:
    _golden(f"{case}.plan.md", plan_markdown(plan_for(case)))


def _by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def test_gh200_renders_what_the_guide_shows() -> None:
    objects = render(plan_for("gh200-shared-roce"))
    cm = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"]
              == "rdma-devices")
    assert cm["metadata"]["namespace"] == "kube-system"
    config = yaml.safe_load(cm["data"]["config.json"])  # JSON is YAML
    assert config == {"configList": [{
        "resourceName": "rdma_shared_device", "rdmaHcaMax": 100,
        # the guide's selectors, plus ifNames: the GH200's second port is the same model
        "selectors": {"vendors": ["15b3"], "deviceIDs": ["1021"], "drivers": ["mlx5_core"],
                      "ifNames": ["enp1s0f0np0"]}}]}
    (nad,) = _by_kind(objects, "NetworkAttachmentDefinition")
    assert nad["metadata"]["name"] == "rdma-net"
    assert nad["metadata"]["annotations"] == {
        "k8s.v1.cni.cncf.io/resourceName": "rdma/rdma_shared_device"}
    cni = yaml.safe_load(nad["spec"]["config"])
    assert cni == {"cniVersion": "0.3.1", "name": "rdma-net", "type": "macvlan",
                   "master": "enp1s0f0np0", "mode": "bridge",
                   "ipam": {"type": "host-local", "subnet": "192.168.50.0/24"}}
    pod = next(o for o in objects if o["kind"] == "Pod" and o["metadata"]["name"] == "rdma-test")
    assert pod["metadata"]["annotations"] == {"k8s.v1.cni.cncf.io/networks": "rdma-net"}
    (c,) = pod["spec"]["containers"]
    assert c["image"] == "ubuntu:24.04"
    assert c["command"] == ["sleep", "infinity"]
    assert c["securityContext"] == {"capabilities": {"add": ["IPC_LOCK"]}}
    assert c["resources"] == {"limits": {"rdma/rdma_shared_device": 1}}
    # the guide's components: Multus thick, CNI plugins, the RDMA shared device plugin
    ds = {o["metadata"]["name"] for o in _by_kind(objects, "DaemonSet")}
    assert ds == {"kube-multus-ds", "cni-plugins-ds", "rdma-shared-dp-ds"}


def test_gh200_discovered_sample_renders_the_same_bytes() -> None:
    """The discovery engineer's sysfs tree of the guide's node gives the same objects as the
    hand-built report (hostnames and other facts that do not reach objects may differ)."""
    from dualnet.host.discover import discover
    from dualnet.host.samples import build_sample
    from dualnet.plan import build_plan
    from dualnet.spec import load_spec

    with tempfile.TemporaryDirectory() as tmp:
        report = discover(build_sample("gh200", Path(tmp) / "gh200"))
    plan = build_plan(load_spec(EXAMPLES / "gh200-shared-roce.yaml"), [report])
    assert stream_text(render(plan)) == (GOLDEN / "gh200-shared-roce.yaml").read_text()


def test_packaged_sample_spec_is_the_example() -> None:
    packaged = Path(__file__).resolve().parents[2] / "src/dualnet/data/examples/gh200.yaml"
    assert packaged.read_text() == (EXAMPLES / "gh200-shared-roce.yaml").read_text()


def test_render_is_deterministic(tmp_path: Path) -> None:
    for case in ("gh200-shared-roce", "sriov-rdma-cni-whereabouts"):
        a, b = plan_for(case), plan_for(case)
        assert stream_text(render(a)) == stream_text(render(b))
        files_a = write_kustomize(render(a), tmp_path / case / "a")
        files_b = write_kustomize(render(b), tmp_path / case / "b")
        assert [f.relative_to(tmp_path / case / "a") for f in files_a] == [
            f.relative_to(tmp_path / case / "b") for f in files_b]
        for fa, fb in zip(files_a, files_b, strict=True):
            assert fa.read_bytes() == fb.read_bytes()


def test_every_example_has_a_golden_case() -> None:
    assert sorted(p.stem for p in EXAMPLES.glob("*.yaml")) == sorted(CASES)


def _pod_envs(objects: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Each container's env (as a dict) in the Pods and Job templates."""
    envs = []
    for o in objects:
        spec = o["spec"]["template"]["spec"] if o["kind"] == "Job" else o.get("spec", {})
        if o["kind"] not in ("Pod", "Job"):
            continue
        for c in spec["containers"]:
            envs.append({e["name"]: e["value"] for e in c.get("env", [])})
    return envs


@pytest.mark.parametrize("case", sorted(CASES))
def test_pods_carry_no_unfilled_gid_placeholder(case: str) -> None:
    # nothing fills a placeholder in a pod applied with kubectl; NCCL would read it as garbage
    for env in _pod_envs(render(plan_for(case))):
        assert "NCCL_IB_GID_INDEX" not in env
        if env.get("NCCL_IB_HCA") and plan_for(case).link_layer == "Ethernet":
            assert env["NCCL_IB_ROCE_VERSION_NUM"] == "2"
            assert env["NCCL_IB_ADDR_FAMILY"] == "AF_INET"


@pytest.mark.parametrize("case", sorted(CASES))
def test_no_rendered_object_carries_an_unfilled_placeholder(case: str) -> None:
    # `kubectl apply -k` ships what render wrote; a __NAME__ token would reach a pod verbatim
    import re

    for text in (stream_text(render(plan_for(case))),
                 stream_text(render(plan_for(case), target="network-operator"))):
        assert not re.findall(r"__[A-Z][A-Z_]*__", text)


@pytest.mark.parametrize("case", ["sriov-rdma-cni-whereabouts", "sriov-dpdk-host-local",
                                  "ib-sriov-static"])
def test_vf_modes_do_not_name_the_pf_rdma_device(case: str) -> None:
    # the pod gets a VF's RDMA device; the PF's name (mlx5_1) matches nothing inside it
    plan = plan_for(case)
    pf_devices = {n.rdma_device for h in plan.hosts for n in h.nics if n.rdma_device}
    assert pf_devices
    for env in _pod_envs(render(plan)):
        if "NCCL_IB_HCA" in env:
            assert env["NCCL_IB_HCA"] == "mlx5"
        if "RDMA_DEVICE" in env:
            assert env["RDMA_DEVICE"] == ""



def test_static_ipam_pods_name_their_own_address() -> None:
    # the NAD declares the `ips` capability and static IPAM has no fixed address, so a pod
    # that does not name one in its annotation would come up without an address on net1
    import json

    from dualnet.labels import NETWORKS_ANNOTATION

    seen: list[str] = []
    for obj in render(plan_for("shared-roce-ipvlan-static")):
        if obj["kind"] not in ("Pod", "Job"):
            continue
        meta = obj["metadata"] if obj["kind"] == "Pod" else obj["spec"]["template"]["metadata"]
        (net,) = json.loads(meta["annotations"][NETWORKS_ANNOTATION])
        assert net["name"] == "roce-ipvlan"
        seen.extend(net["ips"])
    assert len(seen) == len(set(seen)) >= 3
    assert all(ip.startswith("192.168.60.") and ip.endswith("/24") for ip in seen)
