"""`render --target dra` over-admission: a device plugin whose configured selectors match a PCI
function the DRA objects hand out is a plan warning naming the functions and both resources.
The device-plugin side is dualnet's own `--target plain` ConfigMap for the same spec (a network
moved from device plugins to DRA with the old plugin still configured) and the upstream example
ConfigMaps, read as the live ConfigMaps through the same parser."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from dualnet.host.discover import discover
from dualnet.host.dump import jsonable
from dualnet.host.models import HostReport
from dualnet.host.samples import build_sample
from dualnet.parse.device_plugin_config import parse_device_plugin_config
from dualnet.plan import build_plan
from dualnet.render import render, render_notes, render_warnings, stream_text
from dualnet.spec import Spec, load_spec
from tests.helpers import run_cli
from tests.render.cases import EXAMPLES

HERE = Path(__file__).resolve().parent / "dra"
CODE = "dra-device-plugin-overlap"
PLUGIN_CONFIGMAPS = ("sriovdp-config", "rdma-devices")


@pytest.fixture(scope="module")
def dgx(tmp_path_factory: pytest.TempPathFactory) -> HostReport:
    return discover(build_sample("dgx_h100_ib", tmp_path_factory.mktemp("dgx")))


@pytest.fixture(scope="module")
def roce_sriov(tmp_path_factory: pytest.TempPathFactory) -> HostReport:
    return discover(build_sample("roce_sriov", tmp_path_factory.mktemp("roce-sriov")))


def _plain_plugin_config(spec: Spec, host: HostReport) -> str:
    """The device-plugin ConfigMap `render --target plain` writes for this spec, as YAML."""
    objects = render(build_plan(spec, [host]), target="plain")
    return stream_text([o for o in objects if o["kind"] == "ConfigMap"
                        and o["metadata"]["name"] in PLUGIN_CONFIGMAPS])


def _with_plugins(host: HostReport, text: str) -> HostReport:
    out = copy.deepcopy(host)
    out.device_plugins = parse_device_plugin_config(text)
    return out


def _sriov_spec() -> Spec:
    spec = load_spec(EXAMPLES / "sriov-rdma-cni-whereabouts.yaml")
    # roce_sriov's PF0, the one with VFs
    nics = spec.spec.nics.model_copy(update={"netdevs": ["enp59s0f0np0"]})
    return spec.model_copy(update={"spec": spec.spec.model_copy(update={"nics": nics})})


def test_dranet_over_a_configured_sriov_device_plugin_warns(dgx: HostReport) -> None:
    spec = load_spec(HERE / "dgx-host-device.yaml")
    plan = build_plan(spec, [_with_plugins(dgx, _plain_plugin_config(spec, dgx))])
    (w,) = render_warnings(plan, target="dra")
    assert w.code == CODE
    (nic,) = plan.hosts[0].nics
    assert nic.pci_address in w.message
    assert plan.resource_name in w.message  # the device plugin's resource
    assert "DeviceClass ib-net-dranet (driver dra.net)" in w.message  # the DRA side
    assert "narrow their selectors" in w.message  # and the fix
    assert any("see the dra-device-plugin-overlap warnings" in n
               for n in render_notes(plan, target="dra"))


def test_no_warning_where_the_plugin_selects_other_functions(dgx: HostReport) -> None:
    spec = load_spec(HERE / "dgx-host-device.yaml")
    plan = build_plan(spec, [dgx])
    (nic,) = plan.hosts[0].nics
    other = next(n.pci_address for n in dgx.nics
                 if n.pci_address != nic.pci_address and n.vendor_id == "15b3")
    text = _plain_plugin_config(spec, dgx).replace(nic.pci_address, other)
    plan = build_plan(spec, [_with_plugins(dgx, text)])
    assert plan.hosts[0].device_plugin_functions == {other: [plan.resource_name]}
    assert render_warnings(plan, target="dra") == []
    assert any(n.startswith("Over-admission checked: no configured device plugin")
               for n in render_notes(plan, target="dra"))


def test_plain_target_raises_no_dra_warning(dgx: HostReport) -> None:
    spec = load_spec(HERE / "dgx-host-device.yaml")
    plan = build_plan(spec, [_with_plugins(dgx, _plain_plugin_config(spec, dgx))])
    assert render_warnings(plan, target="plain") == []


def test_unread_plugin_configs_are_said_not_passed(dgx: HostReport) -> None:
    plan = build_plan(load_spec(HERE / "dgx-host-device.yaml"), [dgx])
    assert render_warnings(plan, target="dra") == []
    assert any(n.startswith("Over-admission not checked on dgx-h100-01")
               for n in render_notes(plan, target="dra"))


def test_sriov_dra_over_the_vfs_the_sriov_plugin_advertises(roce_sriov: HostReport) -> None:
    spec = _sriov_spec()
    plan = build_plan(spec, [_with_plugins(roce_sriov, _plain_plugin_config(spec, roce_sriov))])
    (w,) = render_warnings(plan, target="dra")
    vfs = plan.hosts[0].nics[0].vf_pci_addresses
    assert len(vfs) == 4 and all(vf in w.message for vf in vfs)
    assert "driver sriovnetwork.k8snetworkplumbingwg.io" in w.message


def test_upstream_shared_plugin_example_does_not_match_these_ports(
        roce_sriov: HostReport) -> None:
    from tests.upstream import upstream

    text = upstream("Mellanox+k8s-rdma-shared-dev-plugin/v1.5.3/deployment/k8s/base/"
                    "configmap.yaml").read_text()  # ib0, ib1; device 1017 on ib3, ib4
    plan = build_plan(_sriov_spec(), [_with_plugins(roce_sriov, text)])
    assert plan.hosts[0].device_plugin_functions == {}
    assert render_warnings(plan, target="dra") == []


def test_cli_prints_the_warning_and_writes_it_to_plan_md(
        capsys: pytest.CaptureFixture[str], dgx: HostReport, tmp_path: Path) -> None:
    spec_path = HERE / "dgx-host-device.yaml"
    host = _with_plugins(dgx, _plain_plugin_config(load_spec(spec_path), dgx))
    report = tmp_path / "node.json"
    report.write_text(json.dumps(jsonable(host)))
    out_dir = tmp_path / "out"
    code, _, err = run_cli(capsys, "render", str(spec_path), "--report", str(report),
                           "--target", "dra", "--out", str(out_dir))
    assert code == 0, err
    assert f"[{CODE}]" in err
    assert f"**{CODE}**" in (out_dir / "PLAN.md").read_text()


def test_cli_from_dir_reads_the_configmaps(
        capsys: pytest.CaptureFixture[str], dgx: HostReport, tmp_path: Path) -> None:
    """--from: the same folder doctor reads; a folder without NIC facts plans nothing."""
    folder = tmp_path / "from"
    folder.mkdir()
    (folder / "device_plugin_config.yaml").write_text(
        _plain_plugin_config(load_spec(HERE / "dgx-host-device.yaml"), dgx))
    code, _, err = run_cli(capsys, "plan", str(HERE / "dgx-host-device.yaml"),
                           "--from", str(folder))
    assert code == 2, err  # no NICs in the folder: the spec's NIC is not there
    assert "spec.nics" in err
    code, _, err = run_cli(capsys, "plan", str(HERE / "dgx-host-device.yaml"),
                           "--from", str(tmp_path / "missing"))
    assert code == 2 and "not a directory" in err


