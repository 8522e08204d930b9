"""Every sample tree, discovered and checked field by field against its DESCRIPTION (the expected
values come from walking the NodeDescription, never from discover's own output), plus the guide's
GH200 checked against the literal values the guide prints."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from dualnet.host.models import (
    HostReport,
    LinkLayer,
    NetnsMode,
    PciRelation,
    PhysState,
    PortState,
)
from dualnet.host.samples import SAMPLES
from dualnet.host.switchdev import is_representor_port_name
from dualnet.host.synthetic import (
    ZERO_GID,
    Bridge,
    Function,
    HostBridge,
    NodeDescription,
    _port_gids,
)


@dataclass
class Placed:
    fn: Function
    hb: HostBridge
    pf: Function | None
    vf_index: int | None


def _walk(node: NodeDescription) -> list[Placed]:
    out: list[Placed] = []

    def visit(children: list[Bridge | Function], hb: HostBridge) -> None:
        for c in children:
            if isinstance(c, Bridge):
                visit(c.children, hb)
            else:
                out.append(Placed(c, hb, None, None))
                out.extend(Placed(vf, hb, c, i) for i, vf in enumerate(c.vfs))

    for hb in node.pci:
        visit(hb.children, hb)
    return out


def _numa(p: Placed) -> int | None:
    n = p.hb.numa_node if p.fn.numa_node is None else p.fn.numa_node
    return None if n < 0 else n


@pytest.mark.parametrize("name", list(SAMPLES))
def test_host_nics_match_description(name: str, reports: dict[str, HostReport]) -> None:
    report = reports[name]
    placed = [p for p in _walk(SAMPLES[name]()) if p.fn.pci_class.startswith("0x02")]
    assert sorted(n.pci_address for n in report.nics) == sorted(p.fn.address for p in placed)
    for p in placed:
        nic = report.nic_by_pci(p.fn.address)
        assert nic is not None
        fn = p.fn
        assert nic.vendor_id == fn.vendor and nic.device_id == fn.device
        assert nic.pci_class == fn.pci_class
        assert nic.driver == fn.driver
        assert nic.numa_node == _numa(p)
        # representors (pfNvfM/pfNsfM) sit in the PF's net/ but are eswitch ports
        assert nic.netdevs == [n.name for n in fn.netdevs
                               if not is_representor_port_name(n.phys_port_name)]
        first = fn.netdevs[0] if fn.netdevs else None
        assert nic.netdev == (first.name if first else None)
        assert nic.mac == (first.mac if first else None)
        assert nic.mtu == (first.mtu if first else None)
        assert nic.operstate == (first.operstate if first else None)
        expected_speed = first.speed if first and first.operstate == "up" else None
        assert nic.speed_mbps == expected_speed
        assert nic.is_vf == (p.pf is not None)
        assert nic.pf_pci_address == (p.pf.address if p.pf else None)
        assert nic.vf_index == p.vf_index
        assert nic.sriov_totalvfs == fn.sriov_totalvfs
        assert nic.sriov_numvfs == (len(fn.vfs) if fn.sriov_totalvfs is not None else None)
        assert nic.vfs == [v.address for v in fn.vfs]
        assert nic.rdma_devices == [d.name for d in fn.rdma]
        assert nic.model is not None


@pytest.mark.parametrize("name", list(SAMPLES))
def test_host_rdma_match_description(name: str, reports: dict[str, HostReport]) -> None:
    report = reports[name]
    placed = [p for p in _walk(SAMPLES[name]()) if p.fn.rdma]
    sf_names = [d.name for p in _walk(SAMPLES[name]()) for sf in p.fn.sfs for d in sf.rdma]
    expected_names = sorted([d.name for p in placed for d in p.fn.rdma] + sf_names)
    assert sorted(d.name for d in report.rdma_devices) == expected_names
    for p in placed:
        for desc in p.fn.rdma:
            dev = report.rdma_device(desc.name)
            assert dev is not None
            assert dev.pci_address == p.fn.address
            assert dev.fw_ver == desc.fw_ver
            assert dev.node_guid == desc.node_guid
            assert dev.board_id == desc.board_id
            assert dev.vendor_part_id == int(p.fn.device, 16)
            assert dev.hca_type == f"MT{int(p.fn.device, 16)}"
            assert dev.driver == "mlx5_ib"
            assert dev.netdevs == [n.name for n in p.fn.netdevs
                                   if not is_representor_port_name(n.phys_port_name)]
            assert len(dev.ports) == len(desc.ports)
            for pd, port in zip(desc.ports, dev.ports, strict=True):
                assert port.number == pd.number
                assert port.state == PortState(pd.state)
                assert port.phys_state == PhysState(pd.phys_state)
                assert port.link_layer == LinkLayer(pd.link_layer)
                assert port.rate == pd.rate
                assert port.lid == pd.lid and port.sm_lid == pd.sm_lid
                nd = p.fn.netdevs[pd.number - 1] if p.fn.netdevs else None
                want = [g for g in _port_gids(pd, nd, desc.node_guid) if g.gid != ZERO_GID]
                assert [(g.index, g.gid, g.type, g.netdev) for g in port.gids] == [
                    (g.index, g.gid, g.type, g.ndev) for g in want
                ]
                v2v4 = [g.index for g in want if g.type == "RoCE v2" and "ffff" in g.gid]
                assert port.roce_v2_ipv4_gid_index == (min(v2v4) if v2v4 else None)
                assert port.netdev == (nd.name if nd else None)
                if pd.link_layer == "Ethernet" and nd is not None:
                    # the largest IB MTU <= netdev MTU - 96 bytes of RoCE headers
                    want_mtu = max(m for m in (256, 512, 1024, 2048, 4096) if m <= nd.mtu - 96)
                    assert port.active_mtu == want_mtu
                else:
                    assert port.active_mtu is None


@pytest.mark.parametrize("name", list(SAMPLES))
def test_host_node_facts_match_description(name: str, reports: dict[str, HostReport]) -> None:
    node = SAMPLES[name]()
    report = reports[name]
    assert report.hostname == node.hostname
    assert report.kernel == node.kernel
    assert report.arch == node.arch
    assert report.problems == []
    loaded = {m.name for m in node.modules}
    for km in report.modules:
        assert km.loaded == (km.name in loaded), km.name
    for m in node.modules:
        found = report.module(m.name)
        assert found is not None and found.refcount == m.refcount and found.used_by == m.deps
    assert report.netns_mode == (NetnsMode(node.netns_mode) if node.netns_mode else None)
    gpus = sorted((p for p in _walk(node) if p.fn.vendor == "10de"), key=lambda p: p.fn.address)
    assert [g.pci_address for g in report.gpus] == [p.fn.address for p in gpus]
    assert [g.numa_node for g in report.gpus] == [_numa(p) for p in gpus]
    assert len(report.topology) == len(report.gpus) * len(report.rdma_devices)
    default = next(r for r in node.routes if r.destination == "0.0.0.0/0")
    assert report.management is not None
    assert report.management.name == default.iface
    assert report.management.gateway == default.gateway
    mgmt_nd = next(n for p in _walk(node) for n in p.fn.netdevs if n.name == default.iface)
    assert report.management.addresses == mgmt_nd.ipv4
    assert [(h.size_kb, h.total, h.free) for h in report.hugepages] == sorted(node.hugepages)
    assert report.memlock_kb == node.memlock_kb
    assert report.cni is not None
    assert report.cni.plugins == sorted({*node.cni_bin, *node.k3s_cni_bin})
    assert [f.name for f in report.cni.conf_files] == sorted(node.cni_conf)
    assert all(f.error is None for f in report.cni.conf_files)
    n_rdma = sum(len(p.fn.rdma) for p in _walk(node))
    n_ports = sum(len(d.ports) for p in _walk(node) for d in p.fn.rdma)
    chars = set(report.infiniband_char_devices)
    if "ib_uverbs" in loaded:
        assert {f"uverbs{i}" for i in range(n_rdma)} <= chars
    if "ib_umad" in loaded:
        assert {f"umad{i}" for i in range(n_ports)} <= chars
    assert ("rdma_cm" in chars) == ("rdma_ucm" in loaded)


def test_host_gh200_is_the_guides_node(reports: dict[str, HostReport]) -> None:
    """Literal values from seeds/gh200-dual-network-rdma-guide.txt step 1."""
    r = reports["gh200"]
    p0, p1 = r.nic_by_netdev("enp1s0f0np0"), r.nic_by_netdev("enp1s0f1np1")
    assert p0 is not None and p1 is not None
    assert (p0.pci_address, p0.mac, p0.mtu, p0.operstate) == (
        "0000:01:00.0", "a0:88:c2:a7:5c:d4", 1500, "up")
    assert (p1.pci_address, p1.mac, p1.mtu, p1.operstate) == (
        "0000:01:00.1", "a0:88:c2:a7:5c:d5", 1500, "down")
    assert p0.model == "ConnectX-7" and (p0.vendor_id, p0.device_id) == ("15b3", "1021")
    m0, m1 = r.rdma_device("mlx5_0"), r.rdma_device("mlx5_1")
    assert m0 is not None and m1 is not None
    assert m0.fw_ver == "28.40.1000" and m0.vendor_part_id == 4129
    assert (m0.ports[0].state, m0.ports[0].phys_state) == (PortState.ACTIVE, PhysState.LINK_UP)
    assert (m1.ports[0].state, m1.ports[0].phys_state) == (PortState.DOWN, PhysState.DISABLED)
    assert m0.ports[0].netdev == "enp1s0f0np0" and m1.ports[0].netdev == "enp1s0f1np1"
    assert m0.ports[0].link_layer is LinkLayer.ETHERNET
    assert (m0.ports[0].max_mtu, m0.ports[0].active_mtu) == (4096, 1024)
    assert m0.ports[0].roce_v2_ipv4_gid_index == 3
    assert r.management is not None
    assert r.management.name == "enp1s0f0np0"
    assert r.management.addresses == ["66.42.90.253/23"]
    assert [g.pci_address for g in r.gpus] == ["0009:01:00.0"]
    assert r.gpus[0].device_id == "2342" and r.gpus[0].numa_node == 0
    assert {(t.nic, t.relation) for t in r.topology} == {
        ("mlx5_0", PciRelation.NODE), ("mlx5_1", PciRelation.NODE)}
    assert [(p.a, p.b, p.relation) for p in r.pci_pairs if p.a.startswith("mlx5")] == [
        ("mlx5_0", "mlx5_1", PciRelation.PIX)]
    for mod in ("mlx5_core", "mlx5_ib", "ib_core", "ib_uverbs", "nvidia_peermem"):
        assert r.module_loaded(mod), mod
    assert not r.module_loaded("mlx_compat")
    ib_uverbs = r.module("ib_uverbs")
    assert ib_uverbs is not None and ib_uverbs.used_by == ["nvidia_peermem", "rdma_ucm", "mlx5_ib"]
    assert r.netns_mode is NetnsMode.SHARED
    assert {"rdma_cm", "umad0", "umad1", "uverbs0", "uverbs1"} <= set(r.infiniband_char_devices)
    assert r.cni is not None
    assert [f.name for f in r.cni.conf_files] == ["00-multus.conf", "10-flannel.conflist"]
    assert r.cni.k3s_flannel_builtin is False
    assert r.hostname == "guest" and r.arch == "aarch64"


def test_host_dgx_topology_pairs(reports: dict[str, HostReport]) -> None:
    r = reports["dgx_h100_ib"]
    ib = [d for d in r.rdma_devices if d.ports[0].link_layer is LinkLayer.INFINIBAND]
    eth = [d for d in r.rdma_devices if d.ports[0].link_layer is LinkLayer.ETHERNET]
    assert len(r.gpus) == 8 and len(ib) == 8 and len(eth) == 2
    rel = {(t.gpu, t.nic): t.relation for t in r.topology}
    # GPU i is paired with the i-th IB HCA in PCI order: one switch (PIX) or nested (PXB).
    for i, dev in enumerate(sorted(ib, key=lambda d: d.pci_address or "")):
        assert rel[(f"GPU{i}", dev.name)] == (PciRelation.PIX if i % 2 == 0 else PciRelation.PXB)
    seen = set(rel.values())
    assert {PciRelation.PIX, PciRelation.PXB, PciRelation.PHB, PciRelation.NODE,
            PciRelation.SYS} <= seen
    # GPUs 0-3 are on NUMA 0, 4-7 on NUMA 1: every cross-socket pair is SYS.
    numa = {f"GPU{g.index}": g.numa_node for g in r.gpus}
    nic_numa = {d.name: r.nic_by_pci(d.pci_address or "").numa_node  # type: ignore[union-attr]
                for d in r.rdma_devices}
    for (g, n), v in rel.items():
        assert (v is PciRelation.SYS) == (numa[g] != nic_numa[n])


def test_host_no_mlx5_ib_and_no_rdma(reports: dict[str, HostReport]) -> None:
    r = reports["no_mlx5_ib"]
    assert r.rdma_devices == [] and r.infiniband_char_devices == []
    assert r.module_loaded("mlx5_core") and not r.module_loaded("mlx5_ib")
    assert all(n.model == "ConnectX-6 Dx" for n in r.nics)
    assert r.netns_mode is None
    plain = reports["no_rdma"]
    assert plain.rdma_devices == [] and plain.gpus == [] and plain.topology == []
    assert [n.driver for n in plain.nics] == ["i40e", "i40e"]
    assert all(n.numa_node is None for n in plain.nics)  # numa_node -1


def test_host_roce_sriov_vfs(reports: dict[str, HostReport]) -> None:
    r = reports["roce_sriov"]
    pf = r.nic_by_pci("0000:3b:00.0")
    assert pf is not None and (pf.sriov_totalvfs, pf.sriov_numvfs) == (8, 4)
    for i, vf_addr in enumerate(pf.vfs):
        vf = r.nic_by_pci(vf_addr)
        assert vf is not None and vf.is_vf and vf.vf_index == i
        assert vf.model == "ConnectX Family mlx5Gen VF"
        assert vf.netdev == f"enp59s0f0v{i}"
        assert len(vf.rdma_devices) == 1
        dev = r.rdma_device(vf.rdma_devices[0])
        assert dev is not None and dev.pci_address == vf_addr
    assert r.netns_mode is NetnsMode.EXCLUSIVE
    assert r.memlock_kb == -1
