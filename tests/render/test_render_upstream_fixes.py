"""What render writes must work with the upstream components as they are (issue 19): each test
names the upstream behaviour it holds dualnet to, read from the component's source at the
release dualnet pins."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dualnet.errors import UsageError
from dualnet.host.models import HostReport, NetnsMode
from dualnet.plan import Plan, build_plan
from dualnet.plan.steps import SetMtu, SetNetnsMode
from dualnet.render import render, validate_objects
from dualnet.render.cni_check import check_cni_config
from dualnet.spec import parse_spec
from dualnet.verify.bench_objects import NcclJobSpec, mpijob
from tests.plan.hosts import gh200, gpu_node


def plan(hosts: list[HostReport], **spec: Any) -> Plan:
    data = {"apiVersion": "dualnet.io/v1alpha1", "kind": "TrainingNetwork",
            "metadata": {"name": "rdma-net"}, "spec": spec}
    return build_plan(parse_spec(data), hosts)


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def nad_config(objects: list[dict[str, Any]]) -> dict[str, Any]:
    nad = next(o for o in objects if o["kind"] == "NetworkAttachmentDefinition")
    config: dict[str, Any] = json.loads(nad["spec"]["config"])
    return config


IB_SRIOV = {"mode": "ib-sriov", "nics": {"netdevs": ["ibp59s0"]}, "numVfs": 4,
            "ipam": {"type": "whereabouts", "subnet": "192.168.110.0/24"}}


# --- item 2: ib-sriov rdmaIsolation and the netns mode agree --------------------------------

def test_ib_sriov_isolation_comes_with_exclusive_mode_and_its_host_step() -> None:
    host = gpu_node(1)
    host.netns_mode = NetnsMode.SHARED
    p = plan([host], **IB_SRIOV)
    conf = nad_config(render(p))
    # ib-sriov-cni (pkg/utils/rdma.go) refuses the attach with rdmaIsolation unless exclusive
    assert conf["rdmaIsolation"] is True
    assert p.netns_mode == "exclusive"
    steps = [s for s in p.hosts[0].steps if isinstance(s, SetNetnsMode)]
    assert [s.mode for s in steps] == ["exclusive"]


def test_ib_sriov_with_rdma_cni_leaves_isolation_to_rdma_cni() -> None:
    p = plan([gpu_node(1)], rdmaCni=True, **IB_SRIOV)
    conf = nad_config(render(p))
    assert p.netns_mode == "exclusive"
    assert "rdmaIsolation" not in conf["plugins"][0]


# --- item 3: whereabouts RBAC and the token watcher -----------------------------------------

WHEREABOUTS = {"nics": {"netdevs": ["ens1f0np0"]}, "rdmaHcaMax": 10,
               "ipam": {"type": "whereabouts", "subnet": "192.168.50.0/24"}}


def test_whereabouts_may_get_pods_and_runs_the_token_watcher() -> None:
    objects = render(plan([gpu_node(1)], **WHEREABOUTS))
    role = find(objects, "ClusterRole", "whereabouts-cni")
    pod_rules = [r for r in role["rules"] if r["apiGroups"] == [""] and "pods" in r["resources"]]
    # the IP reconciler calls Pods().Get before freeing an allocation (pkg/controlloop/pod.go)
    assert "get" in pod_rules[0]["verbs"]
    ds = find(objects, "DaemonSet", "whereabouts")
    container = ds["spec"]["template"]["spec"]["containers"][0]
    script = container["args"][-1]
    lines = [ln.strip() for ln in script.splitlines() if ln.strip()]
    # sourced: install-cni.sh exports the token checksums token-watcher.sh compares against
    assert lines == ["SLEEP=false source /install-cni.sh", "/token-watcher.sh &",
                     "/ip-control-loop -log-level debug"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["cron-scheduler-configmap"] == "/cron-schedule"
    cm = find(objects, "ConfigMap", "whereabouts-config")
    assert set(cm["data"]) == {"cron-expression"}


# --- item 5: shared RoCE selectors on a mixed IB + Ethernet node ----------------------------

def test_shared_roce_selectors_leave_the_ib_port_of_the_same_model_out() -> None:
    p = plan([gpu_node(1)], **WHEREABOUTS)
    selectors = p.shared_dp_config["configList"][0]["selectors"]  # type: ignore[index]
    # the ConnectX-7 IB port (ibp59s0) has the same vendor, device and driver
    assert selectors["ifNames"] == ["ens1f0np0"]
    assert selectors["linkTypes"] == ["ether"]
    warning = next(w for w in p.warnings if w.code == "shared-selectors-narrowed")
    assert "ibp59s0 (InfiniBand)" in warning.message


def test_shared_roce_selectors_stay_wide_when_they_match_only_the_selection() -> None:
    host = gpu_node(1)
    host.nics = [n for n in host.nics if n.netdev != "ibp59s0"]
    p = plan([host], **WHEREABOUTS)
    selectors = p.shared_dp_config["configList"][0]["selectors"]  # type: ignore[index]
    assert "ifNames" not in selectors and "linkTypes" not in selectors
    assert not [w for w in p.warnings if w.code == "shared-selectors-narrowed"]


# --- item 6: an MTU the master cannot take --------------------------------------------------

def test_mtu_above_the_management_masters_is_refused_at_plan_time() -> None:
    # the GH200's enp1s0f0np0 (MTU 1500) carries the default route: prepare refuses SetMtu
    with pytest.raises(UsageError) as info:
        plan([gh200()], nics={"netdevs": ["enp1s0f0np0"]}, mtu=9000, rdmaHcaMax=10,
             ipam={"type": "host-local", "subnet": "192.168.50.0/24"})
    assert "spec.mtu 9000 is above the MTU 1500 of enp1s0f0np0" in info.value.message
    assert info.value.hint is not None and "1500 or less" in info.value.hint


def test_mtu_below_the_masters_needs_no_host_step() -> None:
    p = plan([gh200()], nics={"netdevs": ["enp1s0f0np0"]}, mtu=1400, rdmaHcaMax=10,
             ipam={"type": "host-local", "subnet": "192.168.50.0/24"})
    assert not [s for s in p.hosts[0].steps if isinstance(s, SetMtu)]
    assert nad_config(render(p))["mtu"] == 1400


def test_mtu_above_a_dedicated_masters_keeps_its_host_step() -> None:
    p = plan([gpu_node(1, mtu=1500)], mtu=9000, **WHEREABOUTS)
    assert [s.mtu for s in p.hosts[0].steps if isinstance(s, SetMtu)] == [9000]


# --- item 10 --------------------------------------------------------------------------------

SRIOV = {"mode": "sriov", "nics": {"netdevs": ["ens1f0np0"]}, "numVfs": 4, "mtu": 9000,
         "ipam": {"type": "whereabouts", "subnet": "192.168.60.0/24"}}


def test_sriov_cni_installer_runs_unprivileged_as_upstream() -> None:
    objects = render(plan([gpu_node(1)], **SRIOV))
    ds = find(objects, "DaemonSet", "kube-sriov-cni-ds")
    sc = ds["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    # sriov-cni v2.9.0 images/sriov-cni-daemonset.yaml
    assert sc == {"allowPrivilegeEscalation": False, "privileged": False,
                  "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}


def test_whereabouts_crds_declare_no_ipamclaimref() -> None:
    objects = render(plan([gpu_node(1)], **WHEREABOUTS))
    for name in ("ippools.whereabouts.cni.cncf.io",
                 "overlappingrangeipreservations.whereabouts.cni.cncf.io"):
        crd = find(objects, "CustomResourceDefinition", name)
        assert "ipamclaimref" not in json.dumps(crd)


def test_cni_check_knows_each_plugins_newest_cni_version() -> None:
    conflist = {"cniVersion": "1.0.0", "name": "n", "plugins": [
        {"type": "sriov", "ipam": {}}, {"type": "rdma"}]}
    problems = check_cni_config(conflist)
    assert problems == ["cniVersion: 1.0.0 is newer than rdma supports (plugins[1]: at most "
                        "0.4.0)"]
    conflist["cniVersion"] = "0.4.0"
    assert check_cni_config(conflist) == []
    assert check_cni_config({"cniVersion": "1.1.0", "name": "n", "type": "ipoib",
                             "master": "ib0", "ipam": {}}) == [
        "cniVersion: 1.1.0 is newer than ipoib supports (config: at most 1.0.0)"]
    assert check_cni_config({"cniVersion": "1.1.0", "name": "n", "type": "macvlan",
                             "master": "e0", "ipam": {}}) == []


def test_sriov_mtu_is_rendered_and_accepted() -> None:
    objects = render(plan([gpu_node(1)], **SRIOV))
    validate_objects(objects)
    assert nad_config(objects)["mtu"] == 9000
    assert check_cni_config({"cniVersion": "0.3.1", "name": "n", "type": "sriov", "mtu": 9000,
                             "ipam": {}}) == []


def test_mpijob_workers_run_sshd_in_the_foreground() -> None:
    job = mpijob(NcclJobSpec(name="dualnet-nccl-ab12", namespace="default", network="rdma",
                             nad="rdma-net", resource="rdma/rdma_shared_device", image="img",
                             nodes=2, gpus_per_node=8, run="ab12", env={}))
    worker = job["spec"]["mpiReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]
    assert worker["command"][-1].endswith("exec /usr/sbin/sshd -De")


def test_dhcp_ipam_comes_with_the_dhcp_daemon() -> None:
    p = plan([gpu_node(1)], nics={"netdevs": ["ens1f0np0"]}, rdmaHcaMax=10,
             ipam={"type": "dhcp"})
    objects = render(p)
    validate_objects(objects)
    ds = find(objects, "DaemonSet", "cni-dhcp-daemon")
    container = ds["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][1:] == ["daemon", "-hostprefix", "/host"]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert "/host/run" in mounts  # the plugin dials /run/cni/dhcp.sock on the host
    assert "cni-dhcp-daemon" in p.components
