"""spec.offload (OVS hardware offload with OVN-Kubernetes or Antrea), planned against the real
discovery of the `roce_sriov` sample (PF0: CX-6 Dx, 4 VFs, eswitch legacy) and `roce_switchdev`
(PF0 already switchdev with its representors)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from dualnet.errors import UsageError
from dualnet.host.discover import discover
from dualnet.host.models import HostReport
from dualnet.host.samples import build_sample
from dualnet.plan import Plan, build_plan
from dualnet.plan.steps import SetEswitchMode, SetHwTcOffload, SetOvsHwOffload
from dualnet.spec import parse_spec
from tests.helpers import run_cli

LEGACY_PF, SWITCHDEV_PF = "enp59s0f0np0", "enp8s0f0np0"


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> HostReport:
    return discover(build_sample("roce_sriov", tmp_path_factory.mktemp("lg") / "root"))


@pytest.fixture(scope="module")
def switchdev(tmp_path_factory: pytest.TempPathFactory) -> HostReport:
    return discover(build_sample("roce_switchdev", tmp_path_factory.mktemp("sd") / "root"))


def doc(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "dualnet.io/v1alpha1", "kind": "TrainingNetwork",
            "metadata": {"name": "offload-net"},
            "spec": {"mode": "sriov", "nics": {"netdevs": [LEGACY_PF]},
                     "offload": {"cni": "ovn-kubernetes"}, **spec}}


def plan(host: HostReport, **spec: Any) -> Plan:
    return build_plan(parse_spec(doc(**spec)), [host])


@pytest.mark.parametrize(("offload", "field"), [
    ({"cni": "calico"}, "spec.offload.cni: 'calico' is not allowed"),
    ("ovn", "spec.offload: 'ovn' is not allowed: offload is a mapping"),
    ({}, "spec.offload.cni: required field is missing"),
    ({"cni": "antrea", "mode": "x"}, "spec.offload.mode: unknown field; allowed here: cni"),
])
def test_bad_offload_values_name_the_field(offload: Any, field: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_spec(doc(offload=offload))
    assert field in info.value.message


@pytest.mark.parametrize(("extra", "says"), [
    ({"mode": "shared-roce"}, "spec.offload with mode shared-roce"),
    ({"mode": "sriov-dpdk"}, "spec.offload with mode sriov-dpdk"),
    ({"rdmaCni": True}, "spec.rdmaCni with spec.offload"),
    ({"vlan": 100}, "spec.vlan with spec.offload"),
    ({"ipam": {"type": "whereabouts", "subnet": "192.168.90.0/24"}},
     "spec.ipam with spec.offload"),
])
def test_offload_outside_plain_sriov_is_refused(legacy: HostReport, extra: dict[str, Any],
                                                says: str) -> None:
    with pytest.raises(UsageError) as info:
        plan(legacy, **extra)
    assert says in info.value.message


def test_offload_on_a_nic_without_it_is_refused(legacy: HostReport) -> None:
    cx4 = copy.deepcopy(legacy)
    pf = next(n for n in cx4.nics if n.netdev == LEGACY_PF)
    pf.device_id, pf.model = "1015", "ConnectX-4 Lx"
    with pytest.raises(UsageError) as info:
        plan(cx4)
    assert "a ConnectX-4 Lx on driver mlx5_core" in info.value.message
    assert "ConnectX-5 and later" in info.value.message


def test_offload_without_vfs_is_refused_with_the_first_steps(legacy: HostReport) -> None:
    with pytest.raises(UsageError) as info:
        plan(legacy, nics={"netdevs": ["enp59s0f1np1"]}, numVfs=2)
    assert "0 of 2 VFs" in info.value.message
    assert "sriov_numvfs" in (info.value.hint or "")


def test_legacy_pf_gets_the_steps_in_order_and_vfs_by_pci_address(legacy: HostReport) -> None:
    p = plan(legacy, numVfs=4)
    kinds = [type(s) for s in p.hosts[0].steps]
    offload = [k for k in kinds if k in (SetEswitchMode, SetHwTcOffload, SetOvsHwOffload)]
    assert offload == [SetEswitchMode, SetHwTcOffload, SetOvsHwOffload]
    esw = next(s for s in p.hosts[0].steps if isinstance(s, SetEswitchMode))
    assert esw.pf_pci_address == "0000:3b:00.0" and len(esw.vfs) == 4
    assert p.sriov_dp_config is not None
    (sel,) = p.sriov_dp_config["resourceList"][0]["selectors"]
    # pinned by PCI address: after the switch, the PF's net/ holds the representors too
    assert sel["pciAddresses"] == ["0000:3b:00.2", "0000:3b:00.3", "0000:3b:00.4",
                                   "0000:3b:00.5"]
    assert "pfNames" not in sel
    assert p.cni_type == "ovn-k8s-cni-overlay" and p.offload_cni == "ovn-kubernetes"
    assert "sriov-cni" not in p.components  # the cluster CNI plugs the VF


def test_switchdev_pf_skips_the_switch(switchdev: HostReport) -> None:
    p = plan(switchdev, nics={"netdevs": [SWITCHDEV_PF]}, numVfs=2)
    kinds = [type(s) for s in p.hosts[0].steps]
    assert SetEswitchMode not in kinds
    assert SetHwTcOffload in kinds  # sysfs cannot show the feature: checked at prepare


def test_antrea_has_no_host_ovs_step_and_says_where_offload_is_set(legacy: HostReport) -> None:
    p = plan(legacy, numVfs=4, offload={"cni": "antrea"})
    assert not any(isinstance(s, SetOvsHwOffload) for s in p.hosts[0].steps)
    codes = {w.code: w.message for w in p.warnings}
    assert "start_ovs --hw-offload" in codes["antrea-ovs-hw-offload"]
    assert p.cni_type == "antrea"


@pytest.mark.parametrize(("spec", "says"), [
    ({"offload": {"cni": "calico"}}, "spec.offload.cni: 'calico' is not allowed"),
    ({"mode": "host-device"}, "spec.offload with mode host-device"),
    ({"nics": {"netdevs": ["enp59s0f1np1"]}, "numVfs": 2}, "0 of 2 VFs"),
])
def test_the_cli_exits_2_naming_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          spec: dict[str, Any], says: str) -> None:
    root = build_sample("roce_sriov", tmp_path / "node")
    path = tmp_path / "offload.yaml"
    data = doc(**spec)
    path.write_text(yaml.safe_dump(data))
    code, out, err = run_cli(capsys, "plan", str(path), "--root", str(root))
    assert code == 2, err
    assert says in err and "Traceback" not in out + err
