"""Every real capture in tests/corpus/: the decision (parse or ParseError) and hand-checked values.

Expected values below were read off the capture text by hand, not produced by the parsers.
"""

from __future__ import annotations

import pytest

from dualnet.host.models import LinkLayer, NetnsMode, PciRelation, PhysState, PortState
from dualnet.parse.errors import ParseError
from dualnet.parse.ibdev2netdev import parse_ibdev2netdev, parse_ibdev2netdev_rows
from dualnet.parse.ibv_devices import parse_ibv_devices
from dualnet.parse.ibv_devinfo import parse_ibv_devinfo
from dualnet.parse.ip import parse_ip_addr, parse_ip_link, parse_ip_route
from dualnet.parse.lsmod import parse_lsmod
from dualnet.parse.lspci import parse_lspci
from dualnet.parse.network_status import parse_network_status
from dualnet.parse.nvidia_smi_topo import parse_nvidia_smi_topo
from dualnet.parse.rdma import parse_rdma_dev, parse_rdma_link, parse_rdma_system
from dualnet.parse.show_gids import parse_show_gids, parse_show_gids_rows
from tests.parse.corpus import PARSERS, corpus_files, read

# The decision per file: these raise ParseError (with the line it names); all others parse.
REJECTED: dict[str, int] = {
    # rdma link output (old iproute2 form) saved under the ibdev2netdev name
    "ibdev2netdev/MALFORMED-sglang-docs-rdma-link-pasted-as-ibdev2netdev.txt": 2,
    # pasted from the middle of the JSON: starts with "},{"
    "network-status/TRUNCATED-head-two-vfs-same-network-describe-less.txt": 2,
    # iproute2 too old for `rdma system`: a ParseError with a hint, not a guessed mode
    "rdma_system/ERROR-old-iproute2-unknown-object-system.txt": 2,
}


# Captures whose true content is "nothing": the tool ran and found no device / module, or
# every row is one dualnet must not guess at (an NVMe behind a bridge, GIDs an author shortened).
EMPTY_BY_DESIGN = {
    "ibv_devices/empty-no-rdma-devices.txt",
    "ibv_devices/ERROR-rxe-kernel-abi-mismatch-prompt-lines-arria10.txt",
    "ibv_devinfo/ERROR-list-no-userspace-driver-0-hcas.txt",
    "ibv_devinfo/ERROR-no-ib-devices-found-no-userspace-driver-pib.txt",
    "lsmod/EMPTY-no-peermem-module-a100.txt",
    "lspci/PP-bridge-path-intel-nvme-mail-quoted.txt",
    "show_gids/ABRIDGED-gids-shortened-dots-b300.txt",
}


def test_every_corpus_file_names_its_source() -> None:
    files = corpus_files()
    assert len(files) >= 60
    for rel in files:
        assert read(rel).startswith("# source: "), rel


@pytest.mark.parametrize("rel", corpus_files())
def test_corpus_decision(rel: str) -> None:
    parser = PARSERS[rel.split("/")[0]]
    if rel in REJECTED:
        with pytest.raises(ParseError) as info:
            parser(read(rel))
        assert info.value.line_no == REJECTED[rel]
        assert info.value.line.strip() in read(rel)
        assert f"line {REJECTED[rel]}" in str(info.value)
    else:
        value = parser(read(rel))
        # every capture holds at least one fact; an empty result would be a silent refusal
        facts = value.model_dump(exclude_defaults=True) if hasattr(value, "model_dump") else value
        assert facts or rel in EMPTY_BY_DESIGN, rel


# --- ibv_devinfo ---------------------------------------------------------------------------------


def test_ibv_devinfo_gh200_host_collapsed_whitespace() -> None:
    (dev,) = parse_ibv_devinfo(read("ibv_devinfo/gh200-cx7-host.txt"))
    assert dev.name == "mlx5_0"
    assert dev.fw_ver == "28.40.1000"
    assert dev.vendor_part_id == 4129  # decimal, = PCI 0x1021 (ConnectX-7)
    (port,) = dev.ports
    assert (port.number, port.state, port.max_mtu, port.active_mtu) == (
        1,
        PortState.ACTIVE,
        4096,
        1024,
    )
    assert port.link_layer is LinkLayer.ETHERNET


def test_ibv_devinfo_in_pod_two_devices() -> None:
    devs = parse_ibv_devinfo(read("ibv_devinfo/gh200-cx7-in-pod.txt"))
    assert [d.name for d in devs] == ["mlx5_0", "mlx5_1"]
    assert [d.ports[0].state for d in devs] == [PortState.ACTIVE, PortState.DOWN]


def test_ibv_devinfo_asus_four_ports_down() -> None:
    devs = parse_ibv_devinfo(read("ibv_devinfo/asus-esc8000a-2x-cx7-all-ports-down-eth.txt"))
    assert [d.name for d in devs] == ["mlx5_0", "mlx5_1", "mlx5_2", "mlx5_3"]
    assert [d.fw_ver for d in devs] == ["28.41.1000", "28.41.1000", "28.43.2566", "28.43.2566"]
    assert [d.ports[0].active_mtu for d in devs] == [1024, 1024, 4096, 4096]
    assert all(d.ports[0].state is PortState.DOWN for d in devs)
    assert devs[1].node_guid == "9c63:c003:00d4:20f1"
    assert devs[1].sys_image_guid == "9c63:c003:00d4:20f0"
    assert devs[0].board_id == "MT_0000000834"


def test_ibv_devinfo_ib_lids() -> None:
    devs = parse_ibv_devinfo(read("ibv_devinfo/cx7-4port-ib-supermicro-board-nonmlx-guid.txt"))
    assert [d.ports[0].lid for d in devs] == [318, 109, 110, 111]
    assert {d.ports[0].sm_lid for d in devs} == {1042}
    assert {d.board_id for d in devs} == {"SUM0000000002"}
    assert all(d.ports[0].link_layer is LinkLayer.INFINIBAND for d in devs)


def test_ibv_devinfo_failed_to_open_lines_are_skipped() -> None:
    rel = "ibv_devinfo/ERROR-in-container-failed-to-open-device-mlx4-vf-old-format.txt"
    (dev,) = parse_ibv_devinfo(read(rel))
    assert dev.name == "mlx4_2"
    assert dev.vendor_part_id == 4100
    assert dev.ports[0].sm_lid == 2 and dev.ports[0].lid == 1


def test_ibv_devinfo_zero_hcas() -> None:
    assert parse_ibv_devinfo(read("ibv_devinfo/ERROR-list-no-userspace-driver-0-hcas.txt")) == []


def test_ibv_devinfo_list() -> None:
    devs = parse_ibv_devinfo(read("ibv_devinfo/list-l-mixed-mlx5-and-intel-irdma.txt"))
    assert [d.name for d in devs] == ["mlx5_0", "mlx5_1", "irdma0", "irdma1"]


def test_ibv_devinfo_rxe_tabs() -> None:
    devs = parse_ibv_devinfo(read("ibv_devinfo/rxe-veth-two-devices-raw-tabs.txt"))
    assert [d.name for d in devs] == ["rxe_server", "rxe_client"]
    assert devs[0].node_guid == "9c7f:f4ff:feaf:f293"
    assert devs[0].vendor_part_id == 0


def test_ibv_devinfo_verbose_gids() -> None:
    (dev,) = parse_ibv_devinfo(read("ibv_devinfo/verbose-v-cx6-roce-versity-h1.txt"))
    assert dev.vendor_part_id == 4123 and dev.fw_ver == "20.24.4702"
    port = dev.ports[0]
    assert port.phys_state is PhysState.LINK_UP
    # active_width 4X (2) x active_speed 25.0 Gbps (32), named as sysfs `rate` names it
    assert (port.rate, port.rate_gbps) == ("100 Gb/sec (4X EDR)", 100.0)
    assert [g.index for g in port.gids] == [0, 1, 2, 3]
    # compressed RoCE v2 GIDs come back uncompressed, like sysfs prints them
    assert port.gids[3].gid == "0000:0000:0000:0000:0000:ffff:c0a8:010b"
    assert port.gids[3].ipv4 == "192.168.1.11"
    assert [g.type for g in port.gids] == ["IB/RoCE v1", "RoCE v2", "IB/RoCE v1", "RoCE v2"]
    assert port.roce_v2_ipv4_gid_index == 3


# --- ibv_devices, rdma ------------------------------------------------------------------------


def test_ibv_devices() -> None:
    devs = parse_ibv_devices(read("ibv_devices/rxe-veth-two-devices-tabs.txt"))
    assert [(d.name, d.node_guid) for d in devs] == [
        ("rxe_server", "9c7f:f4ff:feaf:f293"),
        ("rxe_client", "fcc7:bfff:fe44:ca52"),
    ]
    assert parse_ibv_devices(read("ibv_devices/empty-no-rdma-devices.txt")) == []
    (erdma,) = parse_ibv_devices(read("ibv_devices/alibaba-erdma-in-container-partial-uverbs.txt"))
    assert erdma.node_guid == "0216:3eff:fe10:41ea"


def test_rdma_link_gh200() -> None:
    devs = parse_rdma_link(read("rdma_link/gh200-cx7.txt"))
    assert [(d.name, d.netdevs) for d in devs] == [
        ("mlx5_0", ["enp1s0f0np0"]),
        ("mlx5_1", ["enp1s0f1np1"]),
    ]
    assert devs[1].ports[0].state is PortState.DOWN
    assert devs[1].ports[0].phys_state is PhysState.DISABLED


def test_rdma_link_ib_fields_and_last_run_wins() -> None:
    (dev,) = parse_rdma_link(read("rdma_link/cx5-vpi-ib-mode-lid2-sm2-spiderpool.txt"))
    assert (dev.ports[0].lid, dev.ports[0].sm_lid, dev.ports[0].netdev) == (2, 2, None)
    (flap,) = parse_rdma_link(read("rdma_link/ib-mlx5_7-down-polling-flapping.txt"))
    assert flap.ports[0].state is PortState.ACTIVE  # third (last) run
    assert flap.ports[0].lid == 3403


def test_rdma_link_old_format_and_elision() -> None:
    rel = "rdma_link/old-iproute2-idx-format-sglang-bonds-saved-as-ibdev2netdev.txt"
    devs = parse_rdma_link(read(rel))
    assert [(d.name, d.netdevs[0]) for d in devs] == [
        ("mlx5_bond_0", "reth0"),
        ("mlx5_bond_1", "reth2"),
        ("mlx5_bond_2", "reth4"),
        ("mlx5_bond_3", "reth6"),
    ]
    pod = parse_rdma_link(read("rdma_link/in-pod-exclusive-sriov-vfs-netN-elided.txt"))
    assert [(d.name, d.netdevs[0]) for d in pod] == [
        ("mlx5_27", "net2"),
        ("mlx5_54", "net1"),
        ("mlx5_67", "net4"),
        ("mlx5_98", "net3"),
    ]


def test_rdma_dev() -> None:
    devs = parse_rdma_dev(read("rdma_dev/pf-plus-subfunction-sf-zero-guid-kernel-docs.txt"))
    assert [(d.name, d.node_type, d.fw_ver) for d in devs] == [
        ("rocep6s0f1", "CA", "16.29.0550"),
        ("mlx5_0", "CA", "16.29.0550"),
    ]
    assert devs[1].node_guid == "0000:00ff:fe00:8888"
    (qemu,) = parse_rdma_dev(read("rdma_dev/qemu-emulated-ib-2port-ibp0s9.txt"))
    assert (qemu.name, qemu.fw_ver) == ("ibp0s9", "4.4.9999")
    (smi,) = parse_rdma_dev(read("rdma_dev/smi-subdevice-type-parent-fields.txt"))
    assert smi.sys_image_guid == "9803:9b03:009f:d5ee"


def test_rdma_system() -> None:
    assert parse_rdma_system(read("rdma_system/gh200-shared.txt")) is NetnsMode.SHARED
    assert parse_rdma_system(read("rdma_system/shared-mode-indented-3sp.txt")) is NetnsMode.SHARED
    assert parse_rdma_system("netns exclusive copy-on-fork on\n") is NetnsMode.EXCLUSIVE
    assert parse_rdma_system("N\n") is NetnsMode.EXCLUSIVE
    with pytest.raises(ParseError) as info:
        parse_rdma_system(read("rdma_system/ERROR-old-iproute2-unknown-object-system.txt"))
    assert info.value.hint is not None and "netns_mode" in info.value.hint


# --- lsmod ----------------------------------------------------------------------------------------


def test_lsmod_gh200() -> None:
    mods = parse_lsmod(read("lsmod/gh200-mofed.txt"))
    assert [m.name for m in mods] == ["mlx5_ib", "ib_uverbs", "ib_core", "mlx5_core"]
    assert mods[1].used_by == ["nvidia_peermem", "rdma_ucm", "mlx5_ib"]
    assert mods[2].refcount == 8


def test_lsmod_empty_grep_and_truncated_users() -> None:
    assert parse_lsmod(read("lsmod/EMPTY-no-peermem-module-a100.txt")) == []
    mods = parse_lsmod(read("lsmod/peermem-grep-TRUNCATED-mofed-23.10-kernel-6.6.txt"))
    assert [(m.name, m.refcount) for m in mods] == [("nvidia_peermem", 0), ("ib_core", 9)]
    assert mods[1].used_by[-1] == "ml"  # cut as published; kept verbatim


def test_lsmod_indented_two_commands() -> None:
    mods = parse_lsmod(read("lsmod/rhel6-mlx4-mthca-qib-grep-ib-indented.txt"))
    assert len(mods) == 15
    assert mods[-1].name == "iw_cm" and mods[-1].used_by == ["rdma_cm"]
    core = next(m for m in mods if m.name == "ib_core")
    assert core.refcount == 17 and len(core.used_by) == 17


# --- show_gids, ibdev2netdev ---------------------------------------------------------------------


def test_show_gids_comment_prefixed() -> None:
    devs = parse_show_gids(read("show_gids/MALFORMED-c-comment-prefixed-3dev-tabs.txt"))
    assert [d.name for d in devs] == ["mlx5_0", "mlx5_1", "mlx5_2"]
    assert [d.ports[0].netdev for d in devs] == ["eth05", "eth02", "eth03"]
    assert [d.ports[0].roce_v2_ipv4_gid_index for d in devs] == [3, 3, 3]
    assert devs[1].ports[0].gids[2].ipv4 == "26.110.177.29"


def test_show_gids_mixed_link_layers() -> None:
    rows = parse_show_gids_rows(read("show_gids/cx4-vpi-port-eth-plus-port-ib-no-netdev.txt"))
    assert len(rows) == 3
    assert rows[2].device == "mlx5_1" and rows[2].netdev is None and rows[2].ipv4 is None
    devs = parse_show_gids(read("show_gids/cx4-vpi-port-eth-plus-port-ib-no-netdev.txt"))
    assert devs[0].ports[0].roce_v2_ipv4_gid_index is None  # no IPv4 GID on that port


def test_show_gids_non_mellanox_bond() -> None:
    rel = "show_gids/huawei-hrn3-bond-plus-mlx5-bond-mixed-vendor-tabs.txt"
    devs = parse_show_gids(read(rel))
    assert [(d.name, d.netdevs) for d in devs] == [
        ("hrn3_bond_0", ["bond0"]),
        ("mlx5_bond_0", ["bond1"]),
    ]
    assert devs[0].ports[0].roce_v2_ipv4_gid_index == 1


def test_show_gids_footer_mismatch_is_reported() -> None:
    text = read("show_gids/cx4-vpi-port-eth-plus-port-ib-no-netdev.txt")
    lines = text.splitlines()
    del lines[4]  # a data row
    with pytest.raises(ParseError) as info:
        parse_show_gids("\n".join(lines))
    assert "n_gids_found" in info.value.line


def test_ibdev2netdev_plain_and_annotated() -> None:
    rows = parse_ibdev2netdev_rows(read("ibdev2netdev/bf3-4port-2down-xfusion.txt"))
    assert [(r.ibdev, r.netdev, r.carrier_up) for r in rows] == [
        ("mlx5_0", "ens7f0np0", False),
        ("mlx5_1", "ens7f1np1", True),
        ("mlx5_2", "ens10f0np0", False),
        ("mlx5_3", "ens10f1np1", True),
    ]
    rel = "ibdev2netdev/ANNOTATED-column-t-h100-8x-cx7-ib-plus-2x-cx6-eth.txt"
    annotated = parse_ibdev2netdev_rows(read(rel))
    assert len(annotated) == 12
    assert annotated[2].ibdev == "mlx5_10" and annotated[2].netdev == "ibp204s0"
    assert [r.netdev for r in annotated if r.carrier_up] == ["enp27s0f0np0", "enp157s0f0np0"]


def test_ibdev2netdev_verbose() -> None:
    rel = "ibdev2netdev/verbose-cx4-eth-pf-plus-4vfs-down-sriov-cni-docs.txt"
    rows = parse_ibdev2netdev_rows(read(rel))
    assert rows[0].pci_address == "0000:02:00.0"
    assert rows[0].hca_type == "MT4115" and rows[0].board_id == "MT1523X04353"
    assert rows[0].description == "CX456A - ConnectX-4 QSFP"
    assert rows[2].board_id is None and rows[2].description is None  # "(MT4116 - NA)"
    assert rows[2].port_state is PortState.DOWN  # printed "(DOWN  )"
    assert rows[5].pci_address == "0000:02:00.2" and rows[5].netdev == "enp2s0f5"
    devs = parse_ibdev2netdev(read(rel))
    assert devs[0].vendor_part_id == 4115 and devs[0].fw_ver == "12.23.1020"
    rel4 = "ibdev2netdev/verbose-4x-cx6-vpi-hdr-in-eth-mode-pNp1-names.txt"
    assert [r.netdev for r in parse_ibdev2netdev_rows(read(rel4))] == [
        "p5p1",
        "p4p1",
        "p2p1",
        "p3p1",
    ]


def test_ibdev2netdev_truncated_head_and_pod() -> None:
    rows = parse_ibdev2netdev_rows(read("ibdev2netdev/dgx-a100-ib-with-vfs-TRUNCATED-head.txt"))
    assert len(rows) == 16 and rows[0].ibdev == "mlx5_19"
    (pod,) = parse_ibdev2netdev_rows(read("ibdev2netdev/in-pod-ib-vf-renamed-net1-down.txt"))
    assert (pod.ibdev, pod.netdev, pod.carrier_up) == ("mlx5_18", "net1", False)


# --- nvidia-smi topo -m --------------------------------------------------------------------------


def test_topo_gh200_collapsed_no_legend() -> None:
    topo = parse_nvidia_smi_topo(read("nvidia-smi_topo/gh200-1gpu-2nic.txt"))
    assert [(g.index, g.local_cpulist, g.numa_node) for g in topo.gpus] == [(0, "0-71", 0)]
    assert [(e.gpu, e.nic, e.relation) for e in topo.topology] == [
        ("GPU0", "NIC0", PciRelation.NODE),
        ("GPU0", "NIC1", PciRelation.NODE),
    ]
    assert topo.unresolved_nics == ["NIC0", "NIC1"]


def test_topo_h100_legend_and_affinity() -> None:
    rel = "nvidia-smi_topo/h100-8gpu-12nic-ib-plus-cx6dx-container-cpuset.txt"
    topo = parse_nvidia_smi_topo(read(rel))
    assert topo.nics == [f"mlx5_{i}" for i in range(12)]
    assert len(topo.gpus) == 8 and len(topo.topology) == 96
    assert topo.gpus[4].local_cpulist == "1,3,5,7,9,11" and topo.gpus[4].numa_node == 1
    pix = {(e.gpu, e.nic) for e in topo.topology if e.relation is PciRelation.PIX}
    assert ("GPU1", "mlx5_3") in pix and ("GPU7", "mlx5_11") in pix
    assert len(pix) == 12


def test_topo_empty_affinity_cells() -> None:
    rel = "nvidia-smi_topo/2gpu-visible-8nic-empty-cpu-numa-affinity.txt"
    topo = parse_nvidia_smi_topo(read(rel))
    assert [(g.local_cpulist, g.numa_node) for g in topo.gpus] == [(None, None), (None, None)]
    assert [e.relation for e in topo.topology if e.gpu == "GPU0"][-2:] == [
        PciRelation.PXB,
        PciRelation.PXB,
    ]
    assert len(topo.unresolved_nics) == 8  # legend cut off in the capture


def test_topo_old_format_comment_prefixed() -> None:
    rel = "nvidia-smi_topo/OLDFORMAT-v100-8gpu-mlx4-plus-8mlx5-comment-prefixed.txt"
    topo = parse_nvidia_smi_topo(read(rel))
    assert topo.nics == ["mlx4_0"] + [f"mlx5_{i}" for i in range(8)]
    assert topo.unresolved_nics == []
    assert topo.gpus[5].local_cpulist == "20-39,60-79" and topo.gpus[5].numa_node == 1
    rel_of = {(e.gpu, e.nic): e.relation for e in topo.topology}
    assert rel_of[("GPU0", "mlx5_0")] is PciRelation.PIX
    assert rel_of[("GPU4", "mlx4_0")] is PciRelation.NODE


def test_topo_glued_columns_are_split() -> None:
    rel = "nvidia-smi_topo/MALFORMED-h20-8gpu-36nic-bonds-glued-columns.txt"
    topo = parse_nvidia_smi_topo(read(rel))
    assert len(topo.nics) == 36 and topo.nics[-1] == "mlx5_bond_3"
    assert len(topo.topology) == 8 * 36
    rel_of = {(e.gpu, e.nic): e.relation for e in topo.topology}
    # NIC12/NIC13 were glued ("NODENODE" on GPU0, "PIXPIX" on GPU2)
    assert rel_of[("GPU0", "mlx5_12")] is PciRelation.NODE
    assert rel_of[("GPU2", "mlx5_13")] is PciRelation.PIX
    assert topo.gpus[0].local_cpulist == "0-55,112-167"


def test_topo_author_reformatted_and_legend_only_block() -> None:
    rel = "nvidia-smi_topo/h200-8gpu-9nic-bond-author-reformatted.txt"
    topo = parse_nvidia_smi_topo(read(rel))
    assert topo.nics[1] == "mlx5_3" and topo.nics[-1] == "mlx5_bond_0"
    assert topo.gpus[0].local_cpulist == "0,2-47,96-143" and topo.gpus[7].numa_node == 1
    a100 = parse_nvidia_smi_topo(read("nvidia-smi_topo/a100pcie-2gpu-bf3-4nic-no-legend-block.txt"))
    assert a100.nics == ["mlx5_0", "mlx5_1", "mlx5_2", "mlx5_3"]
    assert a100.gpus[1].local_cpulist == "32-63,96-127"


# --- lspci, ip ------------------------------------------------------------------------------------


def test_lspci_plain_gh200() -> None:
    result = parse_lspci(read("lspci/gh200.txt"))
    assert [(n.pci_address, n.vendor_id, n.device_id, n.model) for n in result.nics] == [
        ("0000:01:00.0", "15b3", "1021", "ConnectX-7"),
        ("0000:01:00.1", "15b3", "1021", "ConnectX-7"),
    ]
    (gpu,) = result.gpus
    assert (gpu.pci_address, gpu.device_id) == ("0009:01:00.0", "2342")


def test_lspci_nn_and_vvv() -> None:
    nn = parse_lspci(read("lspci/nn-cx7-ib-plus-cx6dx-eth-2lines-indented.txt"))
    assert [(n.device_id, n.pci_class) for n in nn.nics] == [
        ("1021", "0x020700"),
        ("101d", "0x020000"),
    ]
    bf3 = parse_lspci(read("lspci/h20-bf3-8port-nn-multidomain.txt"))
    assert len(bf3.nics) == 8 and {n.device_id for n in bf3.nics} == {"a2dc"}
    assert bf3.nics[4].pci_address == "0001:08:00.0"
    (cx4,) = parse_lspci(read("lspci/cx4lx-pf-vvv-sriov-cap-vfio-pci.txt")).nics
    assert (cx4.driver, cx4.sriov_totalvfs, cx4.sriov_numvfs) == ("vfio-pci", 8, 0)


def test_lspci_vfs_and_truncated_last_line() -> None:
    (vf,) = parse_lspci(read("lspci/azure-hb120v3-grep-infiniband-vf.txt")).nics
    assert (vf.pci_address, vf.device_id, vf.is_vf) == ("0101:00:00.0", "101c", True)
    dgx = parse_lspci(read("lspci/dgx-a100-cx6-ib-pf-and-vfs-TRUNCATED.txt"))
    assert len(dgx.nics) == 8 and sum(n.is_vf for n in dgx.nics) == 5
    assert dgx.unresolved == ["0000:4b:00.6"]  # "Mellanox Technologi" cut mid-word


def test_ip_link_vfs() -> None:
    (pf,) = parse_ip_link(read("ip_link/intel-x710-pf-8vfs-vf0-zero-mac-openshift.txt"))
    assert (pf.name, pf.mtu, pf.state, len(pf.vfs)) == ("enp130s0f0", 1500, "UP", 8)
    assert pf.vfs[0].mac == "00:00:00:00:00:00" and pf.vfs[7].mac == "da:ef:f6:0c:31:a7"
    assert pf.vfs[1].spoof_check is True and pf.vfs[1].trust is False
    (cut,) = parse_ip_link(read("ip_link/mlx5-pf-down-8vfs-mtu9000-TRUNCATED-midline.txt"))
    assert cut.mtu == 9000 and not cut.admin_up
    assert [v.index for v in cut.vfs] == [0, 1, 2, 3, 4] and cut.vfs[4].mac is None


def test_ip_link_full_host_and_details() -> None:
    ifaces = parse_ip_link(
        read("ip_link/bluefield2-proxmox-full-ip-link-pf-vfs-and-vf-netdevs.txt")
    )
    assert len(ifaces) == 14
    nic3 = next(i for i in ifaces if i.name == "nic3")
    assert nic3.master == "vmbr0" and len(nic3.vfs) == 8 and nic3.altnames == ["enxb8cef6bc8a6a"]
    assert ifaces[0].link_type == "loopback"
    rel = "ip_link/intel-pf-ens2f0-16vfs-ip-s-d-stats-parentdev-example-cnf.txt"
    (pf,) = parse_ip_link(read(rel))
    assert pf.parentdev == "0000:37:00.0" and len(pf.vfs) == 16
    assert pf.vfs[10].mac == "66:6e:b8:01:df:4d"
    (sw,) = parse_ip_link(read("ip_link/cx-switchdev-pf-parentdev-portname-p0-1vf.txt"))
    assert (sw.parentdev, sw.vfs[0].link_state) == ("0000:01:00.0", "disable")


def test_ip_addr_gh200_abridged() -> None:
    ifaces = parse_ip_addr(read("ip_addr/gh200-host.txt"))
    assert [(i.name, i.addresses) for i in ifaces] == [
        ("enp1s0f0np0", ["66.42.90.253/23"]),
        ("enp1s0f1np1", []),
    ]
    assert ifaces[0].admin_up and not ifaces[1].admin_up
    assert ifaces[1].mac == "a0:88:c2:a7:5c:d5"


def test_ip_route() -> None:
    v4 = parse_ip_route(read("ip_route/ipv4-kubeadm-master-ens3-static.txt"))
    assert [(r.destination, r.interface, r.gateway) for r in v4] == [
        ("0.0.0.0/0", "ens3", "10.0.0.1"),
        ("10.0.0.0/24", "ens3", None),
    ]
    v6 = parse_ip_route(read("ip_route/ipv6-unreachable-lo-default-eth0.txt"))
    assert [(r.destination, r.interface, r.gateway) for r in v6] == [
        ("3001:db8::/64", "eth0", None),
        ("::/0", "eth0", "3001:db8::1"),
    ]
    multipath = "default proto static\n\tnexthop via 10.0.0.1 dev eth0 weight 1\n"
    assert [(r.interface, r.gateway) for r in parse_ip_route(multipath)] == [("eth0", "10.0.0.1")]
    with pytest.raises(ParseError):
        parse_ip_route("default via 10.0.0.1 proto static\n")


# --- network-status -------------------------------------------------------------------------------


def test_network_status_corpus_values() -> None:
    gh = parse_network_status(read("network-status/gh200-macvlan.txt"))
    assert [(e.name, e.interface, e.ips, e.default) for e in gh] == [
        ("cbr0", "eth0", ["10.42.0.9"], True),
        ("default/rdma-net", "net1", ["192.168.50.2"], False),
    ]
    assert gh[0].gateway == ["10.42.0.1"]
    sriov = parse_network_status(
        read("network-status/sriov-rdma-device-mlx5_4-tabs-nil-gateway.txt")
    )
    assert sriov[0].interface is None  # the default entry has no "interface" key
    assert sriov[1].rdma_device == "mlx5_4" and sriov[1].pci_address == "0000:03:00.3"
    assert sriov[1].gateway == []  # "<nil>" is Go's nil IP: no gateway
    ovn = parse_network_status(read("network-status/host-device-ovn-ipv6-no-ips-yaml.txt"))
    assert ovn[0].ips == ["fd02:0:0:1::2ed"] and ovn[1].ips == []
    both = parse_network_status(
        read("network-status/macvlan-yaml-both-network-status-and-networks-status.txt")
    )
    assert [e.name for e in both] == ["", "default/macvlan-conf"]
    assert both[1].ips == ["10.56.217.171"]
