"""The lab on the real CNI plugins (containernetworking-plugins) in real network namespaces:
every mode this kernel supports, broken NADs, kernel-unsupported modes, and cleanup after
failures and signals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dualnet.errors import HostError
from dualnet.lab import netns
from dualnet.lab.models import LabReport
from dualnet.lab.nad import load_nad
from dualnet.lab.run import annotation, run_lab
from dualnet.parse.network_status import parse_network_status
from tests.helpers import NADS, have_root_netns, kernel_can_link, own_run_id, require


def _run(name: str, pods: int, bin_dir: Path, **kw: object) -> LabReport:
    return run_lab(load_nad(NADS / name), pods=pods, cni_bin=bin_dir, **kw)  # type: ignore[arg-type]


def _clean(report: LabReport) -> None:
    assert report.cleanup[-1] == "verified: no namespaces, links or host-local reservations left"
    assert not netns.list_netns(f"dnlab-{report.run_id}")


def _checks(report: LabReport, name: str) -> list[bool]:
    return [c.passed for c in report.checks if c.name == name]


@pytest.mark.netns
@pytest.mark.cni
@pytest.mark.parametrize(
    ("nad", "pods", "subnet"),
    [("macvlan-host-local.yaml", 3, "192.168.50."),
     ("macvlan-static.yaml", 2, "192.168.51."),
     ("host-device-static.yaml", 2, "10.99.0."),
     ("bridge.yaml", 3, "192.168.60."),
     ("macvlan-tuning-conflist.yaml", 2, "192.168.53."),
     ("whereabouts.yaml", 2, "192.168.70."),
     ("render-stream.yaml", 2, "192.168.50."),
     ("rendered-host-device-whereabouts.yaml", 2, "192.168.70."),
     ("rendered-static-per-pod.yaml", 2, "192.0.2.")],
)
def test_supported_modes_pass(real_lab: Path, nad: str, pods: int, subnet: str) -> None:
    report = _run(nad, pods, real_lab)
    assert report.verdict == "pass", report.reason
    assert len(report.pods) == pods
    net1 = [a for p in report.pods for i in p.interfaces if i.name == "net1"
            for a in i.addresses]
    assert len(net1) == pods and len(set(net1)) == pods
    assert all(a.startswith(subnet) for a in net1)
    assert _checks(report, "default-route-on-eth0") == [True] * pods
    assert _checks(report, "reach-over-net1") == [True] * pods
    assert all(c.result in {"pass", "skipped"} for c in report.checks)
    for pod in report.pods:
        status = parse_network_status(annotation(pod))
        assert [s.interface for s in status] == ["eth0", "net1"]
        assert status[0].default and not status[1].default
        assert status[1].name.endswith("/" + load_nad(NADS / nad).name)
        assert f"{status[1].ips[0]}/24" in net1
    _clean(report)


@pytest.mark.netns
@pytest.mark.cni
def test_conflist_tuning_applied_and_restored(real_lab: Path) -> None:
    report = _run("macvlan-tuning-conflist.yaml", 2, real_lab)
    assert report.verdict == "pass"
    assert {i.mtu for p in report.pods for i in p.interfaces if i.name == "net1"} == {1400}
    assert any("tuning.dataDir" in r for r in report.rewrites)
    assert any(t.step == "nad tuning CHECK mean" for t in report.timings)


@pytest.mark.netns
@pytest.mark.cni
@pytest.mark.parametrize(
    ("nad", "kw", "cause"),
    [("macvlan-host-local.yaml", {"node_nic": "ens3f0"},
      "master 'enp1s0f0np0' not found on the node; the node has: ens3f0"),
     ("host-device-static.yaml", {"node_nic": "ens3f0"},
      "device 'ens9f1np1' not found on the node"),
     ("broken-bad-subnet.yaml", {}, "invalid CIDR address: 192.168.50.0/33"),
     ("broken-bad-mode.yaml", {}, 'unknown macvlan mode: "bridged"'),
     ("broken-cni-1.1.0.yaml", {}, "cniVersion '1.1.0' is not supported"),
     ("one-address-range.yaml", {}, "no IP addresses available in range set")],
)
def test_broken_nads_name_the_cause(real_lab: Path, nad: str, kw: dict[str, object],
                                    cause: str) -> None:
    report = _run(nad, 2, real_lab, **kw)
    assert report.verdict == "fail"
    assert cause in report.reason
    _clean(report)


@pytest.mark.netns
@pytest.mark.cni
def test_failed_add_is_deleted_and_leftover_link_reported(real_lab: Path) -> None:
    # bad IPAM after macvlan made the link: 1.1.1 leaves net1 behind and DEL fails too
    report = _run("broken-bad-subnet.yaml", 1, real_lab)
    assert any("DEL nad" in c and "after a failed ADD" in c for c in report.cleanup)
    assert any("still has net1" in c for c in report.cleanup)
    _clean(report)


@pytest.mark.netns
@pytest.mark.cni
def test_del_after_failed_add_removes_the_half_made_link(real_lab: Path) -> None:
    # pod 1 finds the one-address range used up after macvlan created its link
    report = _run("one-address-range.yaml", 2, real_lab)
    failed = report.pods[1]
    assert "no IP addresses available" in failed.error
    left = [i for i in failed.interfaces if i.name == "net1"]
    assert all(i.state == "DOWN" and not i.addresses for i in left)
    # the DEL the lab sends after the failed ADD removed it before the namespace went away
    assert not any("still has" in c for c in report.cleanup)
    _clean(report)


@pytest.mark.netns
@pytest.mark.cni
def test_static_without_ips_capability_duplicates(real_lab: Path) -> None:
    report = _run("static-no-ips-capability.yaml", 2, real_lab)
    assert report.verdict == "fail"
    assert _checks(report, "addresses-unique") == [False]
    assert "192.168.52.10 on" in report.reason
    _clean(report)


@pytest.mark.netns
@pytest.mark.cni
def test_ipvlan_is_kernel_unsupported_not_a_nad_failure(real_lab: Path) -> None:
    report = _run("ipvlan.yaml", 2, real_lab)
    if kernel_can_link("ipvlan"):
        assert report.verdict == "pass", report.reason
    else:
        assert report.verdict == "unsupported"
        assert "not supported by this kernel (CONFIG_IPVLAN is off)" in report.reason
        assert "operation not supported" in report.reason
    _clean(report)


@pytest.mark.netns
@pytest.mark.cni
def test_sriov_is_reported_without_building_anything(real_lab: Path) -> None:
    report = _run("sriov.yaml", 2, real_lab)
    assert report.verdict == "unsupported" and "no such hardware" in report.reason
    assert report.pods == []


@pytest.mark.netns
@pytest.mark.cni
def test_master_down_is_caught(real_lab: Path) -> None:
    def down(step: str) -> None:
        if step == "built":
            node = f"dnlab-{run_id}-node"
            netns.run_ip(["link", "set", "enp1s0f0np0", "down"], netns=node)

    run_id = own_run_id("d0wn")
    report = _run("macvlan-host-local.yaml", 2, real_lab, run_id=run_id, on_step=down)
    assert report.verdict == "fail"
    master = [c for c in report.checks if c.name == "master-up"]
    assert master and not master[0].passed and "DOWN" in master[0].evidence
    assert _checks(report, "reach-over-net1") == [False, False]
    _clean(report)


@pytest.mark.netns
@pytest.mark.cni
def test_exception_mid_run_still_cleans_up(real_lab: Path) -> None:
    seen: list[str] = []
    run_id = own_run_id("b00m")

    def boom(step: str) -> None:
        seen.append(step)
        if step == "added:nad:1":
            # the run's dataDir holds reservations at this point
            raise RuntimeError("injected")

    with pytest.raises(RuntimeError, match="injected"):
        _run("macvlan-host-local.yaml", 3, real_lab, run_id=run_id, on_step=boom)
    assert "added:primary:1" in seen
    assert not netns.list_netns(f"dnlab-{run_id}")
    assert not list(Path("/tmp").glob(f"dualnet-lab-{run_id}-*"))


def _interrupted_run(bin_dir: Path, run_id: str, hook: str) -> subprocess.CompletedProcess[str]:
    """A 2-pod run in a fresh interpreter whose `hook` source (defining hook(step), with os and
    signal imported) interrupts it; exits 130 and prints the error when the run says so."""
    code = (
        "import os, signal, sys\n"
        "from dualnet.lab.nad import load_nad\n"
        "from dualnet.lab.run import run_lab, LabInterruptedError\n"
        f"{hook}"
        f"nad = load_nad({str(NADS / 'macvlan-host-local.yaml')!r})\n"
        "try:\n"
        f"    run_lab(nad, pods=2, cni_bin={str(bin_dir)!r}, run_id={run_id!r}, on_step=hook)\n"
        "except LabInterruptedError as e:\n"
        "    print('interrupted:', e); sys.exit(130)\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)


@pytest.mark.netns
@pytest.mark.cni
def test_sigterm_mid_run_cleans_up(real_lab: Path) -> None:
    run_id = own_run_id("5163")
    proc = _interrupted_run(real_lab, run_id, (
        "def hook(step):\n"
        "    if step == 'added:nad:0': os.kill(os.getpid(), signal.SIGTERM)\n"))
    assert proc.returncode == 130, proc.stderr
    assert "SIGTERM" in proc.stdout
    assert not netns.list_netns(f"dnlab-{run_id}")


@pytest.mark.netns
@pytest.mark.cni
def test_an_interrupt_swallowed_by_a_destructor_still_ends_the_run_as_interrupted(
        real_lab: Path) -> None:
    run_id = own_run_id("5dd1")
    # A SIGINT whose handler runs inside Popen.__del__ (garbage collection mid-run) raises there,
    # and the interpreter only prints "Exception ignored in ...": the run went on and exited 0.
    proc = _interrupted_run(real_lab, run_id, (
        "class Collected:\n"
        "    def __del__(self):\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "def hook(step):\n"
        "    if step == 'added:nad:0': Collected()\n"))
    assert proc.returncode == 130, proc.stdout + proc.stderr
    assert "Exception ignored" in proc.stderr  # the swallowing really happened
    assert "SIGINT" in proc.stdout
    assert not netns.list_netns(f"dnlab-{run_id}")


@pytest.mark.netns
@pytest.mark.cni
def test_keep_leaves_namespaces(real_lab: Path) -> None:
    run_id = own_run_id("k33p")
    report = _run("macvlan-host-local.yaml", 1, real_lab, keep=True, run_id=run_id)
    try:
        assert report.kept
        assert netns.list_netns(f"dnlab-{run_id}") == [
            f"dnlab-{run_id}-node", f"dnlab-{run_id}-p0", f"dnlab-{run_id}-wire"]
    finally:
        for n in netns.list_netns(f"dnlab-{run_id}"):
            netns.delete_netns(n)
        for d in Path("/tmp").glob(f"dualnet-lab-{run_id}-*"):
            import shutil

            shutil.rmtree(d)


def test_not_root_is_a_host_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(HostError, match="needs root"):
        run_lab(load_nad(NADS / "macvlan-host-local.yaml"))


def test_no_plugins_is_a_host_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    with pytest.raises(HostError) as exc:
        run_lab(load_nad(NADS / "macvlan-host-local.yaml"), cni_bin=tmp_path)
    assert "containernetworking-plugins" in str(exc.value)
    assert "/usr/lib/cni" in str(exc.value)


@pytest.mark.netns
@pytest.mark.cni
def test_check_runs_only_from_0_4_0(real_lab: Path) -> None:
    report = _run("rendered-static-per-pod.yaml", 1, real_lab)  # cniVersion 0.3.1
    nad_check = [c for c in report.checks if c.name == "cni-check-nad"]
    assert nad_check and "has no CHECK" in nad_check[0].evidence
    # a check that did not run is skipped, never a pass, and counted apart
    assert nad_check[0].result == "skipped" and not nad_check[0].passed
    assert report.verdict == "pass" and report.check_counts["skipped"] >= 1
    assert report.model_dump(mode="json")["checks"][0]["result"] in {"pass", "skipped"}
    report = _run("macvlan-static.yaml", 1, real_lab)  # 0.4.0
    nad_check = [c for c in report.checks if c.name == "cni-check-nad"]
    assert nad_check and nad_check[0].passed and "with prevResult" in nad_check[0].evidence


@pytest.mark.netns
@pytest.mark.cni
def test_master_name_too_long_for_linux(real_lab: Path) -> None:
    from dualnet.lab.nad import load_nads_text

    (nad,) = load_nads_text(
        "apiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\n"
        "metadata: {name: long}\nspec:\n  config: '{\"cniVersion\": \"1.0.0\", "
        "\"type\": \"macvlan\", \"master\": \"averyveryverylongname0\"}'\n")
    report = run_lab(nad, pods=1, cni_bin=real_lab)
    assert report.verdict == "fail"
    assert "master: 'averyveryverylongname0' is not a valid interface name" in report.reason
    _clean(report)


@pytest.mark.netns
def test_kernel_link_probe_asks_the_kernel() -> None:
    # macvlan is what the lab itself needs, so a kernel that runs the lab can make one; a kind the
    # kernel has never heard of cannot be made. (An ipvlan probe without a parent link reported
    # "no ipvlan" on every kernel.)
    require(have_root_netns(), "root and iproute2 (ip netns)")
    assert kernel_can_link("macvlan")
    assert not kernel_can_link("nosuchlinkkind")
