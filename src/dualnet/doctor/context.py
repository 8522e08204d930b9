"""What every rule needs besides the report: the user's options and a few careful fact lookups.

The lookups answer "present / absent / unknown" rather than yes/no, because a report built from
pasted tool outputs (`--from`) often lacks whole groups of facts, and a rule must not turn a
missing fact into a false verdict.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from dualnet.host.models import (
    HostReport,
    LinkLayer,
    Nic,
    PortState,
    RdmaDevice,
    RdmaPort,
)
from dualnet.host.roce import ROCE_HEADER_BYTES
from dualnet.modes import Mode

MELLANOX_VENDOR = "15b3"

# Modes whose RDMA side is the RDMA shared device plugin (it needs netns shared and drops devices
# without umad/rdma_cm char devices, formats.md §1.4).
SHARED_DP_MODES = frozenset({Mode.SHARED_ROCE, Mode.IPOIB})
SRIOV_MODES = frozenset({Mode.SRIOV, Mode.SRIOV_DPDK, Mode.IB_SRIOV})
ETHERNET_MODES = frozenset({Mode.SHARED_ROCE, Mode.SRIOV, Mode.SRIOV_DPDK})
INFINIBAND_MODES = frozenset({Mode.IPOIB, Mode.IB_SRIOV})

# Char-device name prefixes that prove a module is there even when lsmod output was filtered or
# the module is built in (formats.md §5.4).
_CHARDEV_OF_MODULE = {"ib_uverbs": "uverbs", "rdma_ucm": "rdma_cm", "ib_umad": "umad"}


@dataclass(frozen=True)
class DoctorOptions:
    """What the user asked for; every field optional, so `doctor` also runs with no intent."""

    mode: Mode | None = None
    rdma_cni: bool = False
    dpdk: bool = False
    vfs: int | None = None  # VFs wanted per PF, when the user says
    ovs_offload: bool = False  # OVS hardware offload expected (switchdev, hw-tc-offload)
    dra: bool = False  # devices handed out by a DRA driver (dranet): check what it needs

    @property
    def dpdk_asked(self) -> bool:
        return self.dpdk or self.mode is Mode.SRIOV_DPDK

    @property
    def sriov_asked(self) -> bool:
        return self.mode in SRIOV_MODES or self.vfs is not None


def node_subject(report: HostReport) -> str:
    return report.hostname or "node"


def modules_known(report: HostReport) -> bool:
    # No host runs with zero modules loaded; an empty list means nobody read them.
    return bool(report.modules)


def module_state(report: HostReport, name: str) -> bool | None:
    """True: loaded/built in; False: known absent; None: not known.

    A module named in another module's "used by" column is loaded even when a filtered
    `lsmod | grep ...` left its own line out (the GH200 guide's lsmod shows nvidia_peermem only
    that way). Char devices under /dev/infiniband prove the modules that create them.
    """
    m = report.module(name)
    if m is not None and (m.loaded or m.builtin):
        return True
    if any(name in other.used_by for other in report.modules):
        return True
    prefix = _CHARDEV_OF_MODULE.get(name)
    if prefix is not None and any(c.startswith(prefix) for c in all_char_devices(report)):
        return True
    if m is not None:
        return False  # explicitly reported as not loaded
    return False if modules_known(report) else None


def all_char_devices(report: HostReport) -> list[str]:
    names = list(report.infiniband_char_devices)
    for dev in report.rdma_devices:
        names.extend(dev.char_devices)
    return names


def rdma_facts_known(report: HostReport) -> bool:
    """Whether an empty RDMA device list means "none": sysfs knows, pasted outputs may not,
    unless a tool that lists devices was given and listed none ("No IB devices found")."""
    return (
        bool(report.rdma_devices)
        or report.source != "tool-outputs"
        or report.rdma_devices_listed
    )


def iter_ports(report: HostReport) -> Iterator[tuple[RdmaDevice, RdmaPort]]:
    for dev in report.rdma_devices:
        for port in dev.ports:
            yield dev, port


def port_name(dev: RdmaDevice, port: RdmaPort) -> str:
    return f"{dev.name}/{port.number}"


def port_netdev(dev: RdmaDevice, port: RdmaPort) -> str | None:
    if port.netdev:
        return port.netdev
    # mlx5 has one port per RDMA device, so the device's only netdev is the port's.
    if len(dev.ports) == 1 and len(dev.netdevs) == 1:
        return dev.netdevs[0]
    return None


def port_is_active(port: RdmaPort) -> bool:
    return port.state in (PortState.ACTIVE, PortState.ACTIVE_DEFER)


def port_state_known(port: RdmaPort) -> bool:
    """A state was read: any but UNKNOWN, or UNKNOWN as a tool printed it (not a gap)."""
    return port.state is not PortState.UNKNOWN or port.state_read


def port_carrier_down(dev: RdmaDevice, port: RdmaPort, layer: LinkLayer | None) -> bool:
    """The port's netdev was seen without carrier (ibdev2netdev `(Down)`) and nothing read the
    port state. On RoCE the port state follows that netdev; an IPoIB netdev down says nothing
    about its InfiniBand port."""
    netdev = port_netdev(dev, port) or ""
    return (
        not port_state_known(port)
        and port.netdev_carrier is False
        and layer is not LinkLayer.INFINIBAND
        # ib0, ibp195s0f0: the kernel's IPoIB names, whose carrier is not the port's state
        and not _IPOIB_NAME.match(netdev)
    )


_IPOIB_NAME = re.compile(r"^ib(?:\d+|p\d+s\d+(?:f\d+)?)(?:\.\w+)?$")


def port_link_layer(report: HostReport, dev: RdmaDevice, port: RdmaPort) -> LinkLayer | None:
    if port.link_layer is not None and port.link_layer is not LinkLayer.UNSPECIFIED:
        return port.link_layer
    netdev = port_netdev(dev, port)
    nic = report.nic_by_netdev(netdev) if netdev else None
    if nic is not None and nic.link_type == "ether":
        return LinkLayer.ETHERNET
    if nic is not None and nic.link_type == "infiniband":
        return LinkLayer.INFINIBAND
    return None


def netdev_mtu(report: HostReport, netdev: str | None,
               port: RdmaPort | None = None) -> int | None:
    """The MTU of a port's netdev: the NIC's, else what discover read for a netdev no PCI
    function lists (Soft-RoCE on a veth or macvlan)."""
    if netdev is None:
        return None
    nic = report.nic_by_netdev(netdev)
    if nic is not None:
        return nic.mtu
    return port.netdev_mtu if port is not None and port.netdev == netdev else None


# The smallest netdev MTU that gives RDMA MTU 4096.
ROCE_MTU_FOR_4096 = 4096 + ROCE_HEADER_BYTES


def nic_of_rdma(report: HostReport, dev: RdmaDevice) -> Nic | None:
    if dev.pci_address:
        nic = report.nic_by_pci(dev.pci_address)
        if nic is not None:
            return nic
    for nic in report.nics:
        if dev.name in nic.rdma_devices:
            return nic
    for netdev in dev.netdevs:
        nic = report.nic_by_netdev(netdev)
        if nic is not None:
            return nic
    return None


def rdma_device_numa(report: HostReport, dev: RdmaDevice) -> int | None:
    nic = nic_of_rdma(report, dev)
    if nic is None or nic.numa_node is None or nic.numa_node < 0:
        return None  # -1 in sysfs means "no NUMA information"
    return nic.numa_node


def modules_load_line(module: str) -> str:
    return f"echo {module} > /etc/modules-load.d/{module}.conf"
