"""build_plan: selectors from real ids, host steps, warnings, and refusals with reasons."""

from __future__ import annotations

from typing import Any

import pytest

from dualnet.errors import UsageError
from dualnet.host.models import HostReport, KernelModule, NetnsMode
from dualnet.modes import Mode
from dualnet.plan import Plan, build_plan
from dualnet.plan.steps import (
    CreateVfs,
    InstallCniPlugins,
    K3sWithoutFlannel,
    LoadModules,
    SetMtu,
    SetNetnsMode,
    SetVfMacs,
)
from dualnet.spec import parse_spec
from tests.plan.hosts import gh200, gpu_node


def plan(hosts: list[HostReport], **spec: Any) -> Plan:
    data = {"apiVersion": "dualnet.io/v1alpha1", "kind": "TrainingNetwork",
            "metadata": {"name": "rdma-net"}, "spec": spec}
    return build_plan(parse_spec(data), hosts)


def refused(hosts: list[HostReport], **spec: Any) -> str:
    with pytest.raises(UsageError) as info:
        plan(hosts, **spec)
    return info.value.message


GUIDE = {"nics": {"netdevs": ["enp1s0f0np0"]}, "rdmaHcaMax": 100,
         "ipam": {"type": "host-local", "subnet": "192.168.50.0/24"}}


def test_guide_selectors_come_from_discovered_ids() -> None:
    p = plan([gh200()], **GUIDE)
    assert p.mode is Mode.SHARED_ROCE and p.cni_type == "macvlan"
    assert p.master == "enp1s0f0np0"
    assert p.resource_name == "rdma/rdma_shared_device"
    assert p.shared_dp_config == {"configList": [{
        "resourceName": "rdma_shared_device", "rdmaHcaMax": 100,
        # the GH200's second port (enp1s0f1np1) is the same model: ifNames keeps it out
        "selectors": {"vendors": ["15b3"], "deviceIDs": ["1021"], "drivers": ["mlx5_core"],
                      "ifNames": ["enp1s0f0np0"]}}]}
    nic = p.hosts[0].nics[0]
    assert (nic.pci_address, nic.rdma_device, nic.link_layer) == ("0000:01:00.0", "mlx5_0",
                                                                  "Ethernet")
    assert p.nccl_ib_hca == ["mlx5_0"]
    assert p.netns_mode == "shared"


def test_selectors_follow_the_host_not_a_table() -> None:
    host = gh200()
    for nic in host.nics:
        nic.device_id = "101d"  # a ConnectX-6 Dx node
        nic.driver = "mlx5_core"
    p = plan([host], **GUIDE)
    assert p.shared_dp_config is not None
    assert p.shared_dp_config["configList"][0]["selectors"]["deviceIDs"] == ["101d"]


def test_pin_if_names_adds_ifnames_selector() -> None:
    p = plan([gh200()], **{**GUIDE, "nics": {"netdevs": ["enp1s0f0np0"], "pinIfNames": True}})
    assert p.shared_dp_config is not None
    assert p.shared_dp_config["configList"][0]["selectors"]["ifNames"] == ["enp1s0f0np0"]


def test_guide_plan_warns_about_the_shared_management_port_only() -> None:
    p = plan([gh200()], **GUIDE)
    assert [w.code for w in p.warnings] == ["shared-management-port", "shared-selectors-narrowed"]
    assert p.hosts[0].steps == []


def test_rdma_hca_max_default_is_stated() -> None:
    p = plan([gh200()], nics={"netdevs": ["enp1s0f0np0"]})
    w = next(w for w in p.warnings if w.code == "rdma-hca-max-default")
    assert "63" in w.message
    assert p.shared_dp_config is not None
    assert p.shared_dp_config["configList"][0]["rdmaHcaMax"] == 63


def test_host_local_on_two_nodes_proposes_whereabouts() -> None:
    p = plan([gpu_node(1), gpu_node(2)], nics={"netdevs": ["ens1f0np0"]}, rdmaHcaMax=10,
             ipam={"subnet": "192.168.50.0/24"})
    w = next(w for w in p.warnings if w.code == "host-local-multi-node")
    assert "whereabouts" in w.message and "same address" in w.message
    p2 = plan([gpu_node(1)], nics={"netdevs": ["ens1f0np0"]}, rdmaHcaMax=10, nodeCount=4)
    assert "host-local-multi-node" in [w.code for w in p2.warnings]
    p3 = plan([gpu_node(1), gpu_node(2)], nics={"netdevs": ["ens1f0np0"]}, rdmaHcaMax=10,
              ipam={"type": "whereabouts", "subnet": "192.168.50.0/24"})
    assert "host-local-multi-node" not in [w.code for w in p3.warnings]
    assert "whereabouts" in p3.components


def test_auto_prefers_active_dedicated_port() -> None:
    p = plan([gpu_node(1)], mode="sriov")
    assert [n.netdev for n in p.hosts[0].nics] == ["ens1f0np0"]
    ib = plan([gpu_node(1)], mode="ipoib")
    assert ib.master == "ibp59s0" and ib.link_layer == "InfiniBand"
    # the guide's node: port 1 is down, so auto falls back to the (management) port 0
    g = plan([gh200()])
    assert g.master == "enp1s0f0np0"


def test_sriov_steps_selectors_and_rdma_cm() -> None:
    p = plan([gpu_node(1)], mode="sriov", nics={"netdevs": ["ens1f0np0"]}, numVfs=8,
             rdmaCni=True, rdmaCm=True,
             ipam={"type": "whereabouts", "subnet": "192.168.80.0/24"})
    assert p.sriov_dp_config == {"resourceList": [{
        "resourceName": "mlnx_sriov_netdevice", "resourcePrefix": "nvidia.com",
        "selectors": [{"vendors": ["15b3"], "devices": ["101e"], "drivers": ["mlx5_core"],
                       "pfNames": ["ens1f0np0#0-7"], "isRdma": True}]}]}
    steps = p.hosts[0].steps
    assert SetNetnsMode(mode="exclusive", why=steps[0].why) in steps
    assert any(isinstance(s, CreateVfs) and s.pf == "ens1f0np0" and s.num_vfs == 8
               for s in steps)
    assert any(isinstance(s, SetVfMacs) and s.pf == "ens1f0np0" for s in steps)
    assert p.components == ["multus", "cni-plugins", "sriov-device-plugin", "sriov-cni",
                            "rdma-cni", "whereabouts"]


def test_vf_device_id_taken_from_existing_vfs() -> None:
    host = gpu_node(1)
    pf = host.nic_by_netdev("ens1f0np0")
    assert pf is not None
    pf.sriov_numvfs = 2
    pf.vfs = ["0000:17:00.2", "0000:17:00.3"]
    from dualnet.host.models import Nic
    for i, addr in enumerate(pf.vfs):
        host.nics.append(Nic(pci_address=addr, vendor_id="15b3", device_id="abcd",
                             driver="mlx5_core", is_vf=True, pf_pci_address=pf.pci_address,
                             vf_index=i, netdev=f"ens1f0v{i}"))
    p = plan([host], mode="sriov", nics={"netdevs": ["ens1f0np0"]})
    assert p.sriov_dp_config is not None
    sel = p.sriov_dp_config["resourceList"][0]["selectors"][0]
    assert sel["devices"] == ["abcd"] and sel["pfNames"] == ["ens1f0np0#0-1"]
    assert not any(isinstance(s, CreateVfs) for s in p.hosts[0].steps)


def test_host_device_selects_the_pf_by_pci_address() -> None:
    p = plan([gpu_node(1), gpu_node(2)], mode="host-device", nics={"netdevs": ["ens1f0np0"]},
             ipam={"type": "whereabouts", "subnet": "192.168.70.0/24"})
    assert p.cni_type == "host-device" and p.resource_name == "nvidia.com/hostdev_rdma"
    assert p.sriov_dp_config is not None
    sel = p.sriov_dp_config["resourceList"][0]["selectors"][0]
    assert sel["pciAddresses"] == ["0000:17:00.0"] and sel["devices"] == ["1021"]


def test_missing_modules_netns_mtu_cni_and_k3s_steps() -> None:
    host = gpu_node(1, mtu=1500)
    host.modules = [m for m in host.modules if m.name not in ("mlx5_ib", "nvidia_peermem")]
    host.modules.append(KernelModule(name="ib_core", loaded=True))
    host.netns_mode = NetnsMode.EXCLUSIVE
    assert host.cni is not None
    host.cni.plugins = ["bridge", "host-local", "loopback"]
    host.cni.k3s_flannel_builtin = True
    p = plan([host], nics={"netdevs": ["ens1f0np0"]}, mtu=9000, rdmaHcaMax=10)
    steps = p.hosts[0].steps
    mods = next(s for s in steps if isinstance(s, LoadModules))
    assert mods.modules == ["mlx5_ib", "nvidia_peermem"]
    assert any(isinstance(s, SetNetnsMode) and s.mode == "shared" for s in steps)
    assert any(isinstance(s, SetMtu) and s.interface == "ens1f0np0" and s.mtu == 9000
               for s in steps)
    assert next(s for s in steps if isinstance(s, InstallCniPlugins)).plugins == ["macvlan"]
    k3s = next(s for s in steps if isinstance(s, K3sWithoutFlannel))
    assert k3s.pod_cidr == "10.42.0.0/16"


# ---------------------------------------------------------------- refusals


def test_refuse_shared_plugin_with_rdma_cni() -> None:
    msg = refused([gh200()], **GUIDE, rdmaCni=True)
    assert "rdmaCni" in msg and "exclusive" in msg


@pytest.mark.parametrize(("field", "cidr"), [("podCidr", "192.168.0.0/16"),
                                             ("serviceCidr", "192.168.50.128/25")])
def test_refuse_subnet_overlapping_cluster_cidrs(field: str, cidr: str) -> None:
    msg = refused([gh200()], **{**GUIDE, field: cidr})
    assert "overlaps" in msg and field in msg and "192.168.50.0/24" in msg


def test_refuse_subnet_overlapping_management_network() -> None:
    msg = refused([gh200()], **{**GUIDE, "ipam": {"subnet": "66.42.90.0/24"}})
    assert "management network 66.42.90.0/23" in msg and "gh200" in msg


@pytest.mark.parametrize("mode", ["host-device", "sriov", "sriov-dpdk"])
def test_refuse_moving_the_default_route_interface(mode: str) -> None:
    msg = refused([gh200()], mode=mode, nics={"netdevs": ["enp1s0f0np0"]})
    assert "default route" in msg and "enp1s0f0np0" in msg


def test_refuse_macvlan_or_ipvlan_on_infiniband() -> None:
    for cni in ("macvlan", "ipvlan"):
        msg = refused([gpu_node(1)], sharedCni=cni, nics={"netdevs": ["ibp59s0"]})
        assert f"{cni} on InfiniBand port ibp59s0" in msg


def test_refuse_ib_modes_on_ethernet() -> None:
    assert "Ethernet port" in refused([gpu_node(1)], mode="ipoib",
                                      nics={"netdevs": ["ens1f0np0"]})


def test_refuse_more_vfs_than_totalvfs() -> None:
    msg = refused([gpu_node(1)], mode="sriov", nics={"netdevs": ["ens1f0np0"]}, numVfs=32)
    assert "numVfs 32" in msg and "sriov_totalvfs 16" in msg


def test_refuse_no_sriov_capability() -> None:
    host = gpu_node(1)
    nic = host.nic_by_netdev("ens1f0np0")
    assert nic is not None
    nic.sriov_totalvfs = 0
    assert "no SR-IOV capability" in refused([host], mode="sriov",
                                             nics={"netdevs": ["ens1f0np0"]})


def test_refuse_unknown_netdev_lists_what_exists() -> None:
    with pytest.raises(UsageError) as info:
        plan([gh200()], nics={"netdevs": ["ens1f0np0"]})
    assert "'ens1f0np0' is not a NIC on host gh200" in info.value.message
    assert info.value.hint is not None and "enp1s0f1np1" in info.value.hint


def test_refuse_two_masters_for_macvlan() -> None:
    msg = refused([gh200()], nics={"netdevs": ["enp1s0f0np0", "enp1s0f1np1"]})
    assert "exactly one master" in msg


def test_refuse_dhcp_with_ipvlan() -> None:
    msg = refused([gpu_node(1)], sharedCni="ipvlan", nics={"netdevs": ["ens1f0np0"]},
                  ipam={"type": "dhcp"})
    assert "dhcp" in msg and "ipvlan" in msg


def test_refuse_hyphen_in_shared_resource_name() -> None:
    with pytest.raises(UsageError, match="RDMA shared device plugin"):
        plan([gh200()], **GUIDE, resourceName="rdma-shared")
    # the SR-IOV plugin accepts it
    p = plan([gpu_node(1)], mode="sriov", nics={"netdevs": ["ens1f0np0"]},
             resourceName="cx7-vf")
    assert p.resource_name == "nvidia.com/cx7-vf"


def test_refuse_without_hosts() -> None:
    with pytest.raises(UsageError, match="no host facts"):
        plan([], **GUIDE)


def test_plan_is_pure_and_serialisable() -> None:
    a = plan([gpu_node(1), gpu_node(2)], mode="sriov", nics={"netdevs": ["ens1f0np0"]})
    b = plan([gpu_node(1), gpu_node(2)], mode="sriov", nics={"netdevs": ["ens1f0np0"]})
    assert a.model_dump_json() == b.model_dump_json()
    assert Plan.model_validate_json(a.model_dump_json()) == a


def test_device_id_selection_skips_the_management_port_for_sriov() -> None:
    host = gpu_node(1)
    mgmt = host.nic_by_netdev("eno1")
    assert mgmt is not None
    mgmt.vendor_id, mgmt.device_id, mgmt.driver = "15b3", "1021", "mlx5_core"
    # eno1 (default route) and ibp59s0 (InfiniBand) match the id too, and are left out
    p = plan([host], mode="sriov", nics={"deviceIDs": ["1021"]}, numVfs=4)
    assert [n.netdev for n in p.hosts[0].nics] == ["ens1f0np0"]
    g = gh200()
    g.nics = g.nics[:1]
    with pytest.raises(UsageError, match="other than the one holding the default route"):
        plan([g], mode="sriov", nics={"deviceIDs": ["1021"]}, numVfs=4)


def test_refuse_sriov_on_infiniband_port() -> None:
    msg = refused([gpu_node(1)], mode="sriov", nics={"netdevs": ["ibp59s0"]})
    assert "sriov on InfiniBand port ibp59s0" in msg and "Ethernet VFs" in msg
