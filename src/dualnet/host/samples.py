"""Named sample nodes, described for `synthetic.build_tree`.

`gh200` is the guide's GH200 (seeds/gh200-dual-network-rdma-guide.txt, step 1, and the
corpus files `corpus/*/gh200*.txt`): every value the guide shows is used as shown. Values the guide
does not show are marked `# not in the guide` and chosen to be typical for that hardware.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dualnet.host.synthetic import (
    Bridge,
    Function,
    HostBridge,
    IbPort,
    Module,
    Netdev,
    NodeDescription,
    RdmaDev,
    RouteDesc,
    SubFunction,
    build_tree,
    cni_conf_json,
)

CNI_PLUGINS_151 = [
    "bandwidth", "bridge", "dhcp", "dummy", "firewall", "host-device", "host-local", "ipvlan",
    "loopback", "macvlan", "portmap", "ptp", "sbr", "static", "tap", "tuning", "vlan", "vrf",
]

MULTUS_CONF = """{
  "cniVersion": "0.3.1",
  "name": "multus-cni-network",
  "type": "multus-shim",
  "logLevel": "verbose",
  "logToStderr": true,
  "clusterNetwork": "/host/etc/cni/net.d/10-flannel.conflist"
}
"""

FLANNEL_CONFLIST = """{
  "name": "cbr0",
  "cniVersion": "0.3.1",
  "plugins": [
    {"type": "flannel", "delegate": {"hairpinMode": true, "isDefaultGateway": true}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
"""


def _guid_from_mac(mac: str) -> str:
    """mlx5 node GUID: the MAC with 03:00 in the middle (a0:88:c2:a7:5c:d4 -> a088:c203:00a7:5cd4).
    """
    b = mac.split(":")
    h = "".join(b[:3]) + "0300" + "".join(b[3:])
    return ":".join(h[i : i + 4] for i in range(0, 16, 4))


def _mods(*specs: tuple[str, int, int, list[str]]) -> list[Module]:
    return [Module(n, s, r, d) for n, s, r, d in specs]


RDMA_STACK_INBOX = [
    ("mlx5_ib", 491520, 0, []),
    ("ib_uverbs", 196608, 2, ["rdma_ucm", "mlx5_ib"]),
    ("ib_umad", 40960, 0, []),
    ("rdma_ucm", 32768, 0, []),
    ("rdma_cm", 135168, 1, ["rdma_ucm"]),
    ("iw_cm", 53248, 1, ["rdma_cm"]),
    ("ib_cm", 139264, 1, ["rdma_cm"]),
    ("ib_core", 487424, 7, ["rdma_cm", "iw_cm", "ib_umad", "rdma_ucm", "ib_uverbs", "mlx5_ib",
                            "ib_cm"]),
    ("mlx5_core", 2191360, 1, ["mlx5_ib"]),
    ("mlxfw", 36864, 1, ["mlx5_core"]),
]


def gh200() -> NodeDescription:
    """The guide's GH200: CX-7 dual-port RoCE at 0000:01:00.0/.1, H200 GPU at 0009:01:00.0."""
    p0 = Netdev("enp1s0f0np0", "a0:88:c2:a7:5c:d4", 1500, "up", speed=200000,  # speed not in guide
                ipv4=["66.42.90.253/23"], phys_port_name="p0")
    p1 = Netdev("enp1s0f1np1", "a0:88:c2:a7:5c:d5", 1500, "down", phys_port_name="p1")
    rate = "200 Gb/sec (4X HDR)"  # not in the guide
    cx7 = [
        Function("0000:01:00.0", "15b3", "1021", "0x020000", "mlx5_core",
                 subsystem_device="0x0023", netdevs=[p0], sriov_totalvfs=16,
                 rdma=[RdmaDev("mlx5_0", _guid_from_mac(p0.mac), "28.40.1000",
                               ports=[IbPort(1, "ACTIVE", "LINK_UP", "Ethernet", rate)])]),
        Function("0000:01:00.1", "15b3", "1021", "0x020000", "mlx5_core",
                 subsystem_device="0x0023", netdevs=[p1], sriov_totalvfs=16,
                 rdma=[RdmaDev("mlx5_1", _guid_from_mac(p1.mac), "28.40.1000",
                               ports=[IbPort(1, "DOWN", "DISABLED", "Ethernet", rate)])]),
    ]
    gpu = Function("0009:01:00.0", "10de", "2342", "0x030200", "nvidia", revision="0xa1",
                   subsystem_vendor="0x10de", subsystem_device="0x16eb")
    modules = _mods(
        ("nvidia_peermem", 16384, 0, []),
        ("mlx5_ib", 655360, 0, []),
        ("ib_uverbs", 327680, 3, ["nvidia_peermem", "rdma_ucm", "mlx5_ib"]),
        ("ib_ipoib", 262144, 0, []),
        ("ib_umad", 65536, 0, []),
        ("rdma_ucm", 65536, 0, []),
        ("rdma_cm", 262144, 1, ["rdma_ucm"]),
        ("iw_cm", 131072, 1, ["rdma_cm"]),
        ("ib_cm", 196608, 2, ["rdma_cm", "ib_ipoib"]),
        ("ib_core", 589824, 8, ["rdma_cm", "ib_ipoib", "iw_cm", "ib_umad", "rdma_ucm",
                                "ib_uverbs", "mlx5_ib", "ib_cm"]),
        ("mlx5_core", 2686976, 1, ["mlx5_ib"]),
        ("nvidia", 11075584, 1, ["nvidia_peermem"]),
    )
    return NodeDescription(
        hostname="guest",
        kernel="6.8.0-1050-nvidia-64k",
        arch="aarch64",
        pci=[
            HostBridge("0000", "00", 0, "0-71",
                       [Bridge("0000:00:00.0", [*cx7], "0x10de", "0x22b2")]),
            HostBridge("0009", "00", 0, "0-71",
                       [Bridge("0009:00:00.0", [gpu], "0x10de", "0x22b3")]),
        ],
        modules=modules,
        netns_mode="shared",
        virtual_netdevs=[
            Netdev("lo", "00:00:00:00:00:00", 65536, "unknown", arphrd=772),
            Netdev("flannel.1", "6a:1f:3e:90:1c:02", 1450, "unknown", ipv4=["10.42.0.0/32"]),
            Netdev("cni0", "22:8a:8d:e8:3c:01", 1450, "up", ipv4=["10.42.0.1/24"]),
        ],
        routes=[RouteDesc("enp1s0f0np0", "0.0.0.0/0", "66.42.90.1", 100)],  # gateway not in guide
        hugepages=[(2048, 0, 0), (524288, 0, 0)],
        memlock_kb=None,  # not in the guide: left unknown
        cni_bin=[*CNI_PLUGINS_151, "flannel", "multus-shim"],
        cni_conf={"00-multus.conf": MULTUS_CONF, "10-flannel.conflist": FLANNEL_CONFLIST},
        # k3s installed with --flannel-backend=none: its own CNI dir exists but holds no flannel.
        k3s_cni_conf={},
        k3s_cni_bin=["bandwidth", "cni", "firewall", "flannel", "host-local", "loopback",
                     "portmap"],
    )


def dgx_h100_ib() -> NodeDescription:
    """8 H100 + 8 CX-7 InfiniBand HCAs paired behind PCIe switches, 2 CX-6 Dx Ethernet ports,
    4 host bridges on 2 NUMA nodes (so PIX, PXB, NODE and SYS all appear)."""
    hbs: list[HostBridge] = []
    ib_idx = 0
    cpus = {0: "0-55,112-167", 1: "56-111,168-223"}
    for h, base in enumerate((0x00, 0x40, 0x80, 0xC0)):
        numa = 0 if base < 0x80 else 1

        def a(bus: int, dev: int = 0, fn: int = 0) -> str:
            return f"0000:{bus:02x}:{dev:02x}.{fn}"

        def hca(bus: int) -> Function:
            nonlocal ib_idx
            ib_idx += 1
            mac_tail = f"{ib_idx:02x}"
            guid = f"a088:c203:0010:00{mac_tail}"
            hw = f"00:00:10:49:fe:80:00:00:00:00:00:00:a0:88:c2:03:00:10:00:{mac_tail}"
            ipoib = Netdev(f"ibp{bus}s0", hw, 2044, "up", speed=400000, arphrd=32)
            return Function(a(bus), "15b3", "1021", "0x020700", "mlx5_core",
                            subsystem_device="0x0041", netdevs=[ipoib], sriov_totalvfs=16,
                            rdma=[RdmaDev("", guid, "28.39.1002", "MT_0000000838", ports=[
                                IbPort(1, "ACTIVE", "LINK_UP", "InfiniBand", "400 Gb/sec (4X NDR)",
                                       lid=ib_idx, sm_lid=1)])])

        def gpu(bus: int) -> Function:
            return Function(a(bus), "10de", "2330", "0x030200", "nvidia", revision="0xa1",
                            subsystem_vendor="0x10de", subsystem_device="0x16c1")

        # Pair 2k: one switch under root port 1 (GPU and HCA on sibling downstream ports: PIX).
        # Pair 2k+1: root port 2 -> switch -> nested switch -> GPU; HCA on the first switch (PXB).
        switch_a = Bridge(a(base + 1), [
            Bridge(a(base + 2, 0), [gpu(base + 3)]),
            Bridge(a(base + 2, 1), [hca(base + 4)]),
        ])
        switch_b = Bridge(a(base + 5), [
            Bridge(a(base + 6, 0), [Bridge(a(base + 7), [Bridge(a(base + 8), [gpu(base + 9)])])]),
            Bridge(a(base + 6, 1), [hca(base + 10)]),
        ])
        children: list[Bridge | Function] = [
            Bridge(a(base, 1), [switch_a], "0x8086", "0x352a"),
            Bridge(a(base, 2), [switch_b], "0x8086", "0x352b"),
        ]
        if h == 0:
            eth: list[Bridge | Function] = []
            for fn, (ip, name) in enumerate((("10.0.0.11/24", "enp12s0f0np0"),
                                             ("10.1.0.11/24", "enp12s0f1np1"))):
                nd = Netdev(name, f"b8:3f:d2:00:11:0{fn}", 9000 if fn else 1500, "up",
                            speed=100000, ipv4=[ip], phys_port_name=f"p{fn}")
                eth.append(Function(a(0x0C, 0, fn), "15b3", "101d", "0x020000", "mlx5_core",
                                    subsystem_device="0x0016", netdevs=[nd], sriov_totalvfs=8,
                                    rdma=[RdmaDev("", _guid_from_mac(nd.mac), "22.39.1002",
                                                  "MT_0000000359", ports=[IbPort(
                                                      1, "ACTIVE", "LINK_UP", "Ethernet",
                                                      "100 Gb/sec (4X EDR)")])]))
            children.append(Bridge(a(base, 3), eth, "0x8086", "0x352a"))
        hbs.append(HostBridge("0000", f"{base:02x}", numa, cpus[numa], children))
    _name_rdma_in_pci_order(hbs)
    modules = _mods(("nvidia_peermem", 16384, 0, []), *RDMA_STACK_INBOX,
                    ("ib_ipoib", 155648, 0, []), ("nvidia", 8716288, 1, ["nvidia_peermem"]))
    return NodeDescription(
        hostname="dgx-h100-01", kernel="5.15.0-1042-nvidia", arch="x86_64", pci=hbs,
        modules=modules, netns_mode="shared",
        virtual_netdevs=[Netdev("lo", "00:00:00:00:00:00", 65536, "unknown", arphrd=772)],
        routes=[RouteDesc("enp12s0f0np0", "0.0.0.0/0", "10.0.0.1", 0)],
        hugepages=[(2048, 0, 0), (1048576, 0, 0)], memlock_kb=-1,
        cni_bin=["bridge", "host-local", "loopback", "macvlan", "portmap"],
        cni_conf={"10-calico.conflist": cni_conf_json("k8s-pod-network", ["calico", "portmap"])},
    )


def _all_functions(children: list[Bridge | Function]) -> list[Function]:
    out: list[Function] = []
    for c in children:
        if isinstance(c, Bridge):
            out += _all_functions(c.children)
        else:
            out.append(c)
            out += c.vfs
    return out


def _name_rdma_in_pci_order(hbs: list[HostBridge]) -> None:
    """Name RDMA devices mlx5_<n> in PCI address order, as mlx5_ib probes them."""
    fns = sorted((f for hb in hbs for f in _all_functions(hb.children)), key=lambda f: f.address)
    n = 0
    for f in fns:
        for dev in f.rdma:
            dev.name = f"mlx5_{n}"
            n += 1


def roce_sriov() -> NodeDescription:
    """CX-6 Dx dual-port RoCE; PF0 has 4 of 8 VFs enabled, each with a netdev and an RDMA device;
    management on an Intel I350."""
    pf0_nd = Netdev("enp59s0f0np0", "0c:42:a1:5e:7a:10", 9000, "up", speed=100000,
                    ipv4=["192.168.100.10/24"], phys_port_name="p0")
    pf1_nd = Netdev("enp59s0f1np1", "0c:42:a1:5e:7a:11", 1500, "down", phys_port_name="p1")
    vfs = []
    for i in range(4):
        up = i != 3
        nd = Netdev(f"enp59s0f0v{i}", f"5e:1a:7c:00:00:0{i}", 9000, "up" if up else "down",
                    speed=100000 if up else None)
        vfs.append(Function(f"0000:3b:00.{2 + i}", "15b3", "101e", "0x020000", "mlx5_core",
                            subsystem_device="0x0016", netdevs=[nd],
                            rdma=[RdmaDev("", f"0000:0000:0000:000{i + 1}", "22.39.1002",
                                          "MT_0000000359", ports=[IbPort(
                                              1, "ACTIVE" if up else "DOWN",
                                              "LINK_UP" if up else "DISABLED", "Ethernet",
                                              "100 Gb/sec (4X EDR)")])]))
    pf0 = Function("0000:3b:00.0", "15b3", "101d", "0x020000", "mlx5_core",
                   subsystem_device="0x0016", netdevs=[pf0_nd], sriov_totalvfs=8, vfs=vfs,
                   rdma=[RdmaDev("", _guid_from_mac(pf0_nd.mac), "22.39.1002", "MT_0000000359",
                                 ports=[IbPort(1, "ACTIVE", "LINK_UP", "Ethernet",
                                               "100 Gb/sec (4X EDR)")])])
    pf1 = _cx6dx_idle_pf1("0000:3b:00.1", pf1_nd)
    mgmt = _igb_management("3c:ec:ef:10:20:30", "10.10.0.5/24")
    hbs = [HostBridge("0000", "00", 0, "0-31", [
        Bridge("0000:00:01.0", [mgmt], "0x8086", "0x2030"),
        Bridge("0000:00:02.0", [pf0, pf1], "0x8086", "0x2031"),
    ])]
    _name_rdma_in_pci_order(hbs)
    return NodeDescription(
        hostname="roce-sriov-01", kernel="6.1.0-26-amd64", arch="x86_64", pci=hbs,
        modules=_mods(*RDMA_STACK_INBOX, ("igb", 290816, 0, [])), netns_mode="exclusive",
        virtual_netdevs=[Netdev("lo", "00:00:00:00:00:00", 65536, "unknown", arphrd=772)],
        routes=[RouteDesc("eno1", "0.0.0.0/0", "10.10.0.1", 0)],
        hugepages=[(2048, 1024, 1024), (1048576, 0, 0)], memlock_kb=-1,
        cni_bin=[*CNI_PLUGINS_151, "sriov", "rdma"],
        cni_conf={"00-multus.conf": MULTUS_CONF,
                  "10-calico.conflist": cni_conf_json("k8s-pod-network", ["calico", "portmap"])},
    )


def _cx6dx_idle_pf1(pci: str, netdev: Netdev) -> Function:
    """The second port of a CX-6 Dx (SR-IOV capable, no VFs made), its link down."""
    return Function(pci, "15b3", "101d", "0x020000", "mlx5_core",
                    subsystem_device="0x0016", netdevs=[netdev], sriov_totalvfs=8,
                    sriov_offset=9,
                    rdma=[RdmaDev("", _guid_from_mac(netdev.mac), "22.39.1002", "MT_0000000359",
                                  ports=[IbPort(1, "DOWN", "DISABLED", "Ethernet",
                                                "100 Gb/sec (4X EDR)")])])


def _igb_management(mac: str, cidr: str) -> Function:
    """An Intel I350 (igb) port as the node's management interface `eno1`."""
    return Function("0000:02:00.0", "8086", "1521", "0x020000", "igb", "0x01", "0x8086", "0x0001",
                    netdevs=[Netdev("eno1", mac, 1500, "up", speed=1000, ipv4=[cidr])])


def roce_switchdev() -> NodeDescription:
    """CX-6 Dx PF0 with its eswitch in switchdev mode (OVS offload, ASAP2): 2 VFs, one VF
    representor per VF and one SF (sfnum 88) with its representor; PF1 stays legacy.

    Layout: representors are netdevs of the PF's function with `phys_port_name` `pf0vf<M>` /
    `pf0sf<S>` and the uplink's `phys_switch_id` (devlink-port.rst; en_rep.c registers them on
    the PF's devlink); the uplink's port name is `p0`. Names follow systemd's path naming with
    the port name appended (`ens2f0np0`, `ens2f0npf0sf88` in the SF patches' examples); the SF
    netdev name `enp8s0f0s88` is not from a source. The switch id is the PF's system image GUID
    in hex (mlx5 uses it as the eswitch id). The PF's RDMA device keeps one port here; real
    switchdev mlx5_ib adds one port per representor (not modelled)."""
    mac = "b8:ce:f6:0c:7e:a0"
    guid = _guid_from_mac(mac)
    switch_id = guid.replace(":", "")
    uplink = Netdev("enp8s0f0np0", mac, 9000, "up", speed=100000, ipv4=["192.168.200.10/24"],
                    phys_port_name="p0", phys_switch_id=switch_id)
    reps = [Netdev(f"enp8s0f0npf0vf{i}", f"9a:4b:1c:00:00:1{i}", 1500, "up",
                   phys_port_name=f"pf0vf{i}", phys_switch_id=switch_id) for i in range(2)]
    sf_rep = Netdev("enp8s0f0npf0sf88", "9a:4b:1c:00:00:88", 1500, "up",
                    phys_port_name="pf0sf88", phys_switch_id=switch_id)
    vfs = [Function(f"0000:08:00.{2 + i}", "15b3", "101e", "0x020000", "mlx5_core",
                    subsystem_device="0x0016",
                    netdevs=[Netdev(f"enp8s0f0v{i}", f"5e:1a:7c:00:01:0{i}", 1500, "up",
                                    speed=100000)],
                    rdma=[RdmaDev("", f"0000:0000:0000:010{i}", "22.39.1002", "MT_0000000359",
                                  ports=[IbPort(1, "ACTIVE", "LINK_UP", "Ethernet",
                                                "100 Gb/sec (4X EDR)")])])
           for i in range(2)]
    sf = SubFunction(4, 88, netdevs=[Netdev("enp8s0f0s88", "00:00:00:00:88:88", 1500, "up")],
                     rdma=[RdmaDev("mlx5_4", "0000:00ff:fe00:8888", "22.39.1002",
                                   "MT_0000000359",
                                   ports=[IbPort(1, "ACTIVE", "LINK_UP", "Ethernet",
                                                 "100 Gb/sec (4X EDR)")])])
    pf0 = Function("0000:08:00.0", "15b3", "101d", "0x020000", "mlx5_core",
                   subsystem_device="0x0016", netdevs=[uplink, *reps, sf_rep], sriov_totalvfs=8,
                   vfs=vfs, sfs=[sf],
                   rdma=[RdmaDev("", guid, "22.39.1002", "MT_0000000359",
                                 ports=[IbPort(1, "ACTIVE", "LINK_UP", "Ethernet",
                                               "100 Gb/sec (4X EDR)", netdev=uplink.name)])])
    pf1_nd = Netdev("enp8s0f1np1", "b8:ce:f6:0c:7e:a1", 1500, "down", phys_port_name="p1")
    pf1 = _cx6dx_idle_pf1("0000:08:00.1", pf1_nd)
    mgmt = _igb_management("3c:ec:ef:10:20:31", "10.10.0.6/24")
    hbs = [HostBridge("0000", "00", 0, "0-31", [
        Bridge("0000:00:01.0", [mgmt], "0x8086", "0x2030"),
        Bridge("0000:00:03.0", [pf0, pf1], "0x8086", "0x2032"),
    ])]
    _name_rdma_in_pci_order(hbs)
    return NodeDescription(
        hostname="roce-switchdev-01", kernel="6.8.0-1050-nvidia-64k", arch="x86_64", pci=hbs,
        modules=_mods(*RDMA_STACK_INBOX, ("igb", 290816, 0, [])), netns_mode="shared",
        virtual_netdevs=[Netdev("lo", "00:00:00:00:00:00", 65536, "unknown", arphrd=772)],
        routes=[RouteDesc("eno1", "0.0.0.0/0", "10.10.0.1", 0)],
        memlock_kb=-1, cni_bin=[*CNI_PLUGINS_151, "sriov", "rdma"],
        cni_conf={"00-multus.conf": MULTUS_CONF},
    )


def no_mlx5_ib() -> NodeDescription:
    """ConnectX-6 Dx with mlx5_core loaded but no mlx5_ib: no RDMA class at all."""
    fns = [
        Function(f"0000:3b:00.{i}", "15b3", "101d", "0x020000", "mlx5_core",
                 subsystem_device="0x0016", sriov_totalvfs=8,
                 netdevs=[Netdev(f"enp59s0f{i}np{i}", f"0c:42:a1:5e:7b:1{i}", 1500,
                                 "up" if i == 0 else "down", speed=100000 if i == 0 else None,
                                 ipv4=["10.20.0.7/24"] if i == 0 else [],
                                 phys_port_name=f"p{i}")])
        for i in range(2)
    ]
    return NodeDescription(
        hostname="cx-no-ib", kernel="6.1.0-26-amd64", arch="x86_64",
        pci=[HostBridge("0000", "00", 0, "0-15", [Bridge("0000:00:02.0", list(fns))])],
        modules=_mods(("mlx5_core", 2191360, 0, []), ("mlxfw", 36864, 1, ["mlx5_core"])),
        netns_mode=None,
        virtual_netdevs=[Netdev("lo", "00:00:00:00:00:00", 65536, "unknown", arphrd=772)],
        routes=[RouteDesc("enp59s0f0np0", "0.0.0.0/0", "10.20.0.1", 0)],
        hugepages=[(2048, 0, 0)],
        cni_bin=[], cni_conf={},
    )


def no_rdma() -> NodeDescription:
    """A plain server: Intel X710 dual-port, no RDMA modules, no GPU."""
    fns = [
        Function(f"0000:18:00.{i}", "8086", "1572", "0x020000", "i40e", "0x02", "0x8086",
                 "0x0007", sriov_totalvfs=64, sriov_offset=16,
                 netdevs=[Netdev(f"eno{i + 1}", f"3c:fd:fe:aa:bb:0{i}", 1500,
                                 "up" if i == 0 else "down", speed=10000 if i == 0 else None,
                                 ipv4=["192.168.1.20/24"] if i == 0 else [])])
        for i in range(2)
    ]
    return NodeDescription(
        hostname="plain-01", kernel="6.1.0-26-amd64", arch="x86_64",
        pci=[HostBridge("0000", "00", -1, "0-7", [Bridge("0000:00:03.0", list(fns),
                                                         "0x8086", "0x2032")])],
        modules=_mods(("i40e", 569344, 0, [])), netns_mode=None,
        virtual_netdevs=[Netdev("lo", "00:00:00:00:00:00", 65536, "unknown", arphrd=772)],
        routes=[RouteDesc("eno1", "0.0.0.0/0", "192.168.1.1", 0)],
        hugepages=[(2048, 0, 0)], memlock_kb=8192,
    )


def sriov_bench(pfs: int = 8, vfs_per_pf: int = 127, gid_tbl_len: int = 256) -> NodeDescription:
    """The benchmark node: `pfs` ConnectX-6 Dx PFs with `vfs_per_pf` VFs each, every function an
    RDMA device with a `gid_tbl_len`-entry GID table (ARI: VF devfn = 1 + i on the PF's bus)."""
    roots: list[Bridge | Function] = []
    for p in range(pfs):
        bus = 0x20 + p
        nd = Netdev(f"enp{bus}s0np0", f"0c:42:a1:00:{p:02x}:00", 9000, "up", speed=100000,
                    ipv4=[f"192.168.{p}.10/24"])
        vfs = []
        for i in range(vfs_per_pf):
            devfn = 1 + i
            addr = f"0000:{bus:02x}:{devfn >> 3:02x}.{devfn & 7}"
            vnd = Netdev(f"enp{bus}s0v{i}", f"5e:00:{p:02x}:00:{i >> 8:02x}:{i & 255:02x}", 9000,
                         "up", speed=100000)
            vfs.append(Function(addr, "15b3", "101e", "0x020000", "mlx5_core", netdevs=[vnd],
                                rdma=[RdmaDev("", f"5e00:{p:02x}ff:fe00:{i:04x}", "22.39.1002",
                                              ports=[IbPort(1, rate="100 Gb/sec (4X EDR)",
                                                            gid_tbl_len=gid_tbl_len)])]))
        pf = Function(f"0000:{bus:02x}:00.0", "15b3", "101d", "0x020000", "mlx5_core",
                      netdevs=[nd], sriov_totalvfs=127, sriov_offset=1, vfs=vfs,
                      rdma=[RdmaDev("", _guid_from_mac(nd.mac), "22.39.1002",
                                    ports=[IbPort(1, rate="100 Gb/sec (4X EDR)",
                                                  gid_tbl_len=gid_tbl_len)])])
        roots.append(Bridge(f"0000:00:{p + 1:02x}.0", [pf], "0x8086", "0x2030"))
    hbs = [HostBridge("0000", "00", 0, "0-63", roots)]
    _name_rdma_in_pci_order(hbs)
    return NodeDescription(
        hostname="bench-sriov", kernel="6.1.0-26-amd64", pci=hbs,
        modules=_mods(*RDMA_STACK_INBOX), netns_mode="exclusive",
        routes=[RouteDesc("enp32s0np0", "0.0.0.0/0", "192.168.0.1", 0)],
    )


SAMPLES: dict[str, Callable[[], NodeDescription]] = {
    "gh200": gh200,
    "dgx_h100_ib": dgx_h100_ib,
    "roce_sriov": roce_sriov,
    "roce_switchdev": roce_switchdev,
    "no_mlx5_ib": no_mlx5_ib,
    "no_rdma": no_rdma,
}


def build_sample(name: str, root: Path) -> Path:
    """Write sample node `name` (a key of SAMPLES) as a sysfs/procfs tree under `root`."""
    from dualnet.errors import UsageError

    if name not in SAMPLES:
        raise UsageError(f"unknown sample node {name!r}", hint=f"one of: {', '.join(SAMPLES)}")
    return build_tree(SAMPLES[name](), root)
