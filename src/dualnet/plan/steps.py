"""Host steps: the node changes a plan asks for, as data.

`plan` decides which steps a node needs; `prepare` carries them out (check -> act -> verify).
They share these models and nothing else, so a step is described once, validated once, and can be
printed in a plan, rendered into a README section, or executed.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dualnet.name_fields import IfName
from dualnet.names import check_module, check_pci_address


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    why: str = Field(default="", description="one line: why the plan needs this step")


class LoadModules(_Step):
    kind: Literal["load_modules"] = "load_modules"
    modules: list[str]
    persist: bool = Field(default=True, description="write /etc/modules-load.d/dualnet.conf")

    @field_validator("modules")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        return [check_module(m, field="modules[]") for m in v]


class SetNetnsMode(_Step):
    kind: Literal["netns_mode"] = "netns_mode"
    mode: Literal["shared", "exclusive"]
    persist: bool = Field(default=True, description="options ib_core netns_mode=0|1 in modprobe.d")


class SetMtu(_Step):
    kind: Literal["mtu"] = "mtu"
    interface: IfName
    mtu: int = Field(ge=68, le=65535)


class SetLinkMac(_Step):
    """Give a netdev a fixed MAC (`ip link set dev X address M`), e.g. a host-device NIC."""

    kind: Literal["link_mac"] = "link_mac"
    interface: IfName
    mac: str


class CreateVfs(_Step):
    kind: Literal["sriov_numvfs"] = "sriov_numvfs"
    pf: IfName = Field(description="PF netdev name")
    num_vfs: int = Field(ge=0)


class SetVfMacs(_Step):
    """Pre-allocate VF MACs and rebind the VFs so node/port GUIDs are populated (RDMA CM)."""

    kind: Literal["vf_macs"] = "vf_macs"
    pf: IfName
    vf_indexes: list[int] = Field(default_factory=list, description="empty = every enabled VF")
    mac_prefix: str = Field(
        default="02:d4:1e",
        description="locally administered OUI; the rest is derived from PF+index",
    )


class InstallCniPlugins(_Step):
    kind: Literal["cni_plugins"] = "cni_plugins"
    plugins: list[str]
    bin_dir: str = "/opt/cni/bin"
    source_dir: str | None = Field(
        default=None, description="copy from here; default: the distribution package's dir"
    )


class K3sWithoutFlannel(_Step):
    """Printed, never executed: installing k3s is the user's call (see the guide, step 2)."""

    kind: Literal["k3s"] = "k3s"
    pod_cidr: str = "10.42.0.0/16"
    flannel_manifest_cidr: str = "10.244.0.0/16"


class BindDriver(_Step):
    kind: Literal["bind_driver"] = "bind_driver"
    pci_address: str
    driver: str

    @field_validator("pci_address")
    @classmethod
    def _pci(cls, v: str) -> str:
        return check_pci_address(v, field="pci_address")


class SetEswitchMode(_Step):
    """Switch a PF's eswitch to switchdev in the one order mlx5 takes (host.switchdev_order):
    its VFs unbound, the mode set with devlink, the VFs bound again."""

    kind: Literal["eswitch_mode"] = "eswitch_mode"
    pf: IfName = Field(description="PF netdev name (the uplink)")
    pf_pci_address: str = Field(description="the PF's PCI address, the devlink handle")
    mode: Literal["switchdev"] = "switchdev"
    vfs: list[str] = Field(default_factory=list,
                           description="VF PCI addresses when planned (prepare reads them again)")

    @field_validator("pf_pci_address")
    @classmethod
    def _pci(cls, v: str) -> str:
        return check_pci_address(v, field="eswitch_mode.pf_pci_address")

    @field_validator("vfs")
    @classmethod
    def _vfs(cls, v: list[str]) -> list[str]:
        return [check_pci_address(x, field="eswitch_mode.vfs[]") for x in v]


class SetHwTcOffload(_Step):
    """`ethtool -K <if> hw-tc-offload on` on the PF's uplink and each of its VF representors, so
    the tc flower rules OVS writes are pushed to the NIC."""

    kind: Literal["hw_tc_offload"] = "hw_tc_offload"
    pf: IfName = Field(description="PF netdev name; its representors are found at run time")


class SetOvsHwOffload(_Step):
    """`ovs-vsctl set Open_vSwitch . other_config:hw-offload=true`, then restart OVS (the
    setting is read at start). OVS on the host, as OVN-Kubernetes runs it."""

    kind: Literal["ovs_hw_offload"] = "ovs_hw_offload"
    service: str | None = Field(
        default=None,
        description="systemd unit of OVS; default: the first of openvswitch-switch "
        "(Debian/Ubuntu) and openvswitch (RHEL/Fedora) that is installed (host.switchdev)",
    )

    @field_validator("service")
    @classmethod
    def _unit(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9@_.-]{0,127}", v):
            raise ValueError(f"{v!r} is not a systemd unit name")
        return v


HostStep = Annotated[
    LoadModules
    | SetNetnsMode
    | SetMtu
    | SetLinkMac
    | CreateVfs
    | SetVfMacs
    | InstallCniPlugins
    | K3sWithoutFlannel
    | BindDriver
    | SetEswitchMode
    | SetHwTcOffload
    | SetOvsHwOffload,
    Field(discriminator="kind"),
]
