"""host.device_plugins: which PCI functions the SR-IOV network device plugin and the RDMA shared
device plugin advertise, by their own selector rules (v3.9.0 / v1.5.3), read from their configs
(the upstream example ConfigMaps and dualnet's own rendered ones)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dualnet.host.device_plugins import (
    SHARED_PLUGIN,
    SRIOV_PLUGIN,
    overlaps,
    plugin_functions,
    selected_functions,
)
from dualnet.host.discover import discover
from dualnet.host.models import DevicePluginResource, HostReport, PluginName, PluginSelector
from dualnet.host.samples import build_sample
from dualnet.parse.device_plugin_config import parse_device_plugin_config
from dualnet.parse.errors import ParseError
from tests.plan.hosts import gpu_node
from tests.upstream import upstream

SRIOVDP = "k8snetworkplumbingwg+sriov-network-device-plugin/v3.9.0/deployments/configMap.yaml"
SHARED = "Mellanox+k8s-rdma-shared-dev-plugin/v1.5.3/deployment/k8s/base/configmap.yaml"


@pytest.fixture(scope="module")
def roce_sriov(tmp_path_factory: pytest.TempPathFactory) -> HostReport:
    """CX-6 Dx PF0 0000:3b:00.0 with 4 VFs (3b:00.2-.5), PF1 without VFs, igb eno1 uplink."""
    return discover(build_sample("roce_sriov", tmp_path_factory.mktemp("roce-sriov")))


def _res(plugin: PluginName = SRIOV_PLUGIN, **sel: Any) -> DevicePluginResource:
    return DevicePluginResource(plugin=plugin,
                                resource_name="x/y", selectors=[PluginSelector(**sel)])


def test_upstream_example_configmaps_parse() -> None:
    sriov = parse_device_plugin_config(upstream(SRIOVDP).read_text())
    assert [r.resource_name for r in sriov] == [
        "intel.com/intel_sriov_netdevice", "intel.com/intel_sriov_dpdk",
        "intel.com/mlnx_sriov_rdma", "intel.com/brcm_sriov_bnxt"]
    assert sriov[2].selectors[0].is_rdma is True
    assert sriov[1].selectors[0].pf_names == ["enp0s0f0", "enp2s2f1"]
    shared = parse_device_plugin_config(upstream(SHARED).read_text())
    assert [r.plugin for r in shared] == [SHARED_PLUGIN, SHARED_PLUGIN]
    assert [r.resource_name for r in shared] == ["rdma/hca_shared_devices_a",
                                                 "rdma/hca_shared_devices_b"]
    # the legacy `devices` list is the ifNames selector (resources_manager.go)
    assert shared[0].selectors[0].if_names == ["ib0", "ib1"]
    assert shared[1].selectors[0].devices == ["1017"]


def test_pf_names_select_vfs_in_their_index_range(roce_sriov: HostReport) -> None:
    pf = roce_sriov.nic_by_pci("0000:3b:00.0")
    assert pf is not None and pf.netdev
    assert selected_functions(roce_sriov, _res(pf_names=[f"{pf.netdev}#1-2"])) == [
        "0000:3b:00.3", "0000:3b:00.4"]
    assert len(selected_functions(roce_sriov, _res(pf_names=[pf.netdev]))) == 4
    assert selected_functions(roce_sriov, _res(root_devices=["0000:3b:00.0#0"])) == [
        "0000:3b:00.2"]


def test_a_pf_with_vfs_and_the_uplink_are_not_in_the_sriov_pool(roce_sriov: HostReport) -> None:
    every = selected_functions(roce_sriov, _res(vendors=["15b3", "8086"]))
    assert "0000:3b:00.0" not in every  # VFs configured: its VFs are the pool
    assert "0000:3b:00.1" in every  # no VFs: the PF itself (host-device)
    mgmt = roce_sriov.management
    assert mgmt is not None
    uplink = roce_sriov.nic_by_netdev(mgmt.name)
    assert uplink is not None and uplink.pci_address not in every
    # the shared plugin has neither rule: it takes every network function its selectors match
    shared = selected_functions(roce_sriov, _res(SHARED_PLUGIN, vendors=["15b3"]))
    assert "0000:3b:00.0" in shared


def test_selectors_are_anded_and_objects_ored() -> None:
    node = gpu_node()
    assert selected_functions(node, _res(vendors=["15b3"], link_types=["infiniband"])) == [
        "0000:3b:00.0"]
    assert selected_functions(node, _res(vendors=["15b3"], drivers=["igb"])) == []
    both = DevicePluginResource(plugin=SRIOV_PLUGIN, resource_name="x/y", selectors=[
        PluginSelector(pci_addresses=["0000:17:00.0"]),
        PluginSelector(pci_addresses=["0000:3b:00.0"])])
    assert selected_functions(node, both) == ["0000:17:00.0", "0000:3b:00.0"]
    node.nics[1].rdma_devices = []
    assert selected_functions(node, _res(pci_addresses=["0000:17:00.0"], is_rdma=True)) == []


def test_plugin_functions_unknown_is_none_not_empty() -> None:
    node = gpu_node()
    assert plugin_functions(node) is None
    node.device_plugins = []
    assert plugin_functions(node) == {}


def test_overlaps_are_the_functions_on_both_sides() -> None:
    found = overlaps({"0000:17:00.0": ["a/b"], "0000:3b:00.0": ["a/c"]},
                     {"0000:3b:00.0": "dra.net/ibp59s0", "0000:99:00.0": "dra.net/x"})
    assert [(o.pci_address, o.plugin_resources, o.dra) for o in found] == [
        ("0000:3b:00.0", ("a/c",), "dra.net/ibp59s0")]


@pytest.mark.parametrize("text, where", [
    ('{"kind": "ConfigMap", "metadata": {"name": "sriovdp-config"}, '
     '"data": {"config.json": "{\\"resourceList\\": 3}"}}', "resourceList is not a list"),
    ('{"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"config.json": "{nope"}}',
     "data.config.json: not JSON"),
    ('{"resourceList": [{"resourceName": "r", "selectors": {"vendors": "15b3"}}]}',
     "selectors.vendors: expected a list of strings"),
    ('{"kind": "Pod"}', "no device plugin config in the input"),
])
def test_bad_configs_name_the_field(text: str, where: str) -> None:
    with pytest.raises(ParseError, match=where.replace(".", r"\.")):
        parse_device_plugin_config(text)


def test_from_dir_reads_the_configmaps(tmp_path: Path) -> None:
    from dualnet.parse.from_dir import report_from_dir

    folder = tmp_path / "from"
    folder.mkdir()
    (folder / "device_plugin_config.yaml").write_text(
        upstream(SRIOVDP).read_text() + "---\n" + upstream(SHARED).read_text())
    report = report_from_dir(folder)
    assert report.device_plugins is not None and len(report.device_plugins) == 6
