"""The resolved plan: everything render needs, decided once from the spec and the node facts."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializationInfo, field_serializer

from dualnet.modes import Mode
from dualnet.plan.steps import HostStep
from dualnet.spec import Spec


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResolvedNic(_Model):
    """One selected training port on one host, with the facts the selectors are built from."""

    netdev: str
    pci_address: str
    vendor_id: str
    device_id: str
    driver: str | None = None
    link_layer: Literal["Ethernet", "InfiniBand"]
    rdma_device: str | None = None
    model: str | None = None
    mtu: int | None = None
    operstate: str | None = None
    port_state: str | None = Field(default=None, description="RDMA port state, e.g. ACTIVE")
    numa_node: int | None = None
    sriov_totalvfs: int | None = None
    sriov_numvfs: int | None = None
    vf_device_id: str | None = Field(default=None, description="PCI device id of its VFs")
    holds_default_route: bool = False
    nearest_gpu: str | None = Field(default=None, description="'GPU0 (NODE)'")
    eswitch_mode: Literal["legacy", "switchdev"] | None = Field(
        default=None, description="the PF's eswitch mode; None: not known"
    )
    hw_tc_offload: bool | None = Field(
        default=None, description="ethtool hw-tc-offload on the uplink; None: not known"
    )
    vf_pci_addresses: list[str] = Field(
        default_factory=list, description="enabled VFs (virtfn order), for switchdev selectors"
    )


class HostPlan(_Model):
    hostname: str
    nics: list[ResolvedNic]
    steps: list[HostStep] = Field(default_factory=list)
    management_interface: str | None = None
    arch: str | None = None
    device_plugin_functions: dict[str, list[str]] | None = Field(
        default=None,
        description="PCI address -> the device-plugin resources already configured to "
        "advertise it on this node (host.device_plugins.plugin_functions); None: the plugins' "
        "configs were not in the facts",
    )


class PlanWarning(_Model):
    code: str = Field(description="stable id, e.g. host-local-multi-node")
    message: str


class Plan(_Model):
    name: str = Field(description="network name: NAD and CNI network name")
    namespace: str
    mode: Mode
    spec: Spec
    hosts: list[HostPlan]
    cni_type: str = Field(description="CNI plugin that creates net1: macvlan, sriov, ...")
    master: str | None = Field(default=None, description="macvlan/ipvlan/ipoib master netdev")
    resource_prefix: str
    resource_short_name: str
    shared_dp_config: dict[str, Any] | None = Field(
        default=None, description="RDMA shared device plugin config.json"
    )
    sriov_dp_config: dict[str, Any] | None = Field(
        default=None, description="SR-IOV network device plugin config.json"
    )
    rdma_cni: bool = False
    offload_cni: Literal["ovn-kubernetes", "antrea"] | None = Field(
        default=None, description="OVS offload: the cluster CNI that plugs the switchdev VFs"
    )
    netns_mode: Literal["shared", "exclusive"] | None = None
    link_layer: Literal["Ethernet", "InfiniBand"]
    components: list[str] = Field(description="cluster components render deploys")
    nccl_ib_hca: list[str] = Field(default_factory=list, description="RDMA devices for NCCL")
    warnings: list[PlanWarning] = Field(default_factory=list)

    @field_serializer("spec")
    def _spec_as_the_user_writes_it(self, spec: Spec, info: SerializationInfo) -> Any:
        # The embedded spec is the user's document: camelCase keys (rdmaHcaMax, pciAddresses),
        # as in the spec file and `dualnet schema`, never the Python field names.
        return spec.model_dump(mode=info.mode, by_alias=True)

    @property
    def resource_name(self) -> str:
        """The extended resource pods request: `<prefix>/<name>`."""
        return f"{self.resource_prefix}/{self.resource_short_name}"

    @property
    def uses_shared_plugin(self) -> bool:
        return self.shared_dp_config is not None
