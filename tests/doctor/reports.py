"""HostReports built from real values, for rules whose fixture trees/parsers are not the subject.

`gh200()` carries the values the GH200 guide shows (seeds/gh200-dual-network-rdma-guide.txt,
step 1: `ip a`, `lsmod`, `rdma link`, `ibv_devinfo`, `rdma system`, `nvidia-smi topo -m`).
Each test changes one fact of it, so every rule is seen firing and not firing on the same node.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from dualnet.host.models import (
    CniConfigFile,
    CniState,
    Eswitch,
    HostReport,
    KernelModule,
    NetnsMode,
    Nic,
    Representor,
)
from tests.gh200_report import gh200_report

GH200_MODULES = [
    # `lsmod | grep -E 'rdma|ib_|mlx'` as the guide prints it; the used-by column names
    # nvidia_peermem, rdma_ucm and ib_umad although their own lines are not shown.
    KernelModule(name="mlx5_ib", loaded=True, refcount=0),
    KernelModule(
        name="ib_uverbs", loaded=True, refcount=3, used_by=["nvidia_peermem", "rdma_ucm", "mlx5_ib"]
    ),
    KernelModule(
        name="ib_core",
        loaded=True,
        refcount=8,
        used_by=[
            "rdma_cm",
            "ib_ipoib",
            "iw_cm",
            "ib_umad",
            "rdma_ucm",
            "ib_uverbs",
            "mlx5_ib",
            "ib_cm",
        ],
    ),
    KernelModule(name="mlx5_core", loaded=True, refcount=1, used_by=["mlx5_ib"]),
]


def gh200(**changes: Any) -> HostReport:
    """The guide's node (tests/gh200_report.py) with the guide's lsmod and a Multus CNI dir."""
    report = gh200_report(
        hostname="guest",
        modules=list(GH200_MODULES),
        cni=CniState(
            bin_dirs=["/opt/cni/bin"],
            plugins=[
                "bandwidth",
                "bridge",
                "flannel",
                "host-device",
                "host-local",
                "loopback",
                "macvlan",
                "multus-shim",
                "portmap",
            ],
            conf_dir="/etc/cni/net.d",
            conf_files=[
                CniConfigFile(
                    name="00-multus.conf",
                    kind="conf",
                    network_name="multus-cni-network",
                    plugin_types=["multus-shim"],
                ),
                CniConfigFile(
                    name="10-flannel.conflist",
                    kind="conflist",
                    network_name="cbr0",
                    plugin_types=["flannel", "portmap"],
                ),
            ],
            k3s_flannel_builtin=False,
        ),
    )
    return dataclasses.replace(report, **changes)


def switchdev(**changes: Any) -> HostReport:
    """A CX-6 Dx PF in switchdev mode with 2 VFs and their representors, all healthy; the same
    facts discovery reads from the `roce_switchdev` sample tree (tests/doctor check that)."""
    pf, vfs = "0000:08:00.0", ["0000:08:00.2", "0000:08:00.3"]
    nics = [Nic(pci_address=pf, vendor_id="15b3", device_id="101d", driver="mlx5_core",
                netdev="enp8s0f0np0", netdevs=["enp8s0f0np0"], link_type="ether",
                operstate="up", sriov_totalvfs=8, sriov_numvfs=2, vfs=vfs,
                rdma_devices=["mlx5_0"])]
    nics += [Nic(pci_address=vf, vendor_id="15b3", device_id="101e", driver="mlx5_core",
                 is_vf=True, pf_pci_address=pf, vf_index=i, netdev=f"enp8s0f0v{i}",
                 netdevs=[f"enp8s0f0v{i}"], link_type="ether", operstate="up",
                 rdma_devices=[f"mlx5_{2 + i}"]) for i, vf in enumerate(vfs)]
    report = HostReport(
        hostname="roce-switchdev-01", nics=nics, netns_mode=NetnsMode.SHARED,
        modules=[KernelModule(name=n, loaded=True) for n in ("mlx5_core", "mlx5_ib", "ib_core")],
        eswitches=[Eswitch(pf_pci_address=pf, uplink_netdev="enp8s0f0np0", mode="switchdev",
                           mode_source="representors", switch_id="b8cef603000c7ea0")],
        representors=[Representor(netdev=f"enp8s0f0npf0vf{i}", flavour="pcivf",
                                  pf_pci_address=pf, pfnum=0, vfnum=i, vf_pci_address=vf,
                                  operstate="up", switch_id="b8cef603000c7ea0")
                      for i, vf in enumerate(vfs)],
    )
    return dataclasses.replace(report, **changes)
