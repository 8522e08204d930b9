"""OVS hardware offload (spec.offload): what the plan refuses, and the host steps it adds.

With offload the pod's VF is not a second interface plugged by sriov-cni: OVN-Kubernetes or
Antrea plugs it as the pod's default network (a NAD named in `v1.multus-cni.io/default-network`)
and programs the eswitch through the VF's representor, which OVS offloads to the NIC with tc
flower rules. Sources: ovn-org/ovn-kubernetes docs/features/hardware-offload/ovs-kernel.md,
antrea-io/antrea docs/ovs-offload.md, and the Network Operator notes (../shared/seeds).
"""

from __future__ import annotations

from dualnet.errors import UsageError
from dualnet.host.pciids import MELLANOX, mlx_ovs_offload
from dualnet.modes import Mode
from dualnet.plan.model import PlanWarning, ResolvedNic
from dualnet.plan.steps import HostStep, SetEswitchMode, SetHwTcOffload, SetOvsHwOffload
from dualnet.spec import OffloadCni, Spec

# The CNI `type` each offload CNI's NAD names (the guides' NetworkAttachmentDefinitions).
OFFLOAD_CNI_TYPE = {OffloadCni.OVN_KUBERNETES: "ovn-k8s-cni-overlay", OffloadCni.ANTREA: "antrea"}


def _refuse(message: str, hint: str | None = None) -> UsageError:
    return UsageError(f"refused: {message}", hint=hint)


def check_offload_intent(spec: Spec) -> None:
    """Contradictions between spec.offload and the rest of the spec."""
    s = spec.spec
    off = s.offload
    if off is None:
        return
    cni = off.cni.value
    if s.mode is not Mode.SRIOV:
        raise _refuse(
            f"spec.offload with mode {s.mode.value}: OVS offload hands each pod a switchdev VF "
            "from the SR-IOV device plugin, which only mode sriov plans",
            hint="use mode: sriov with offload, or drop spec.offload",
        )
    if s.rdma_cni:
        raise _refuse(f"spec.rdmaCni with spec.offload: {cni} plugs the VF as the pod's default "
                      "network and its offload NAD chains no RDMA CNI",
                      hint="drop rdmaCni (the VF's RDMA device stays in the shared namespace)")
    for field, is_set in (("vlan", s.vlan is not None), ("rdmaCm", s.rdma_cm),
                          ("ipam", "ipam" in s.model_fields_set)):
        if is_set:
            raise _refuse(
                f"spec.{field} with spec.offload: {cni} sets the VF's MAC, VLAN and address "
                "itself (its own IPAM, its own overlay)",
                hint=f"drop spec.{field}; {cni}'s configuration decides it",
            )


def check_offload_nic(spec: Spec, where: str, nic: ResolvedNic, wanted: int) -> None:
    """A PF that cannot offload OVS, or whose VFs are not there to be pinned by PCI address."""
    off = spec.spec.offload
    if off is None:
        return
    if nic.vendor_id != MELLANOX or not mlx_ovs_offload(nic.device_id) or (
            nic.driver not in (None, "mlx5_core")):
        model = nic.model or f"{nic.vendor_id}:{nic.device_id}"
        raise _refuse(
            f"spec.offload on {where}, a {model} on driver {nic.driver or 'unknown'}: OVS "
            "hardware offload needs a switchdev eswitch that offloads tc flower rules, which "
            "dualnet knows on ConnectX-5 and later (and BlueField-2/3) on mlx5_core",
            hint="select a ConnectX-5 or later port in spec.nics, or drop spec.offload",
        )
    if len(nic.vf_pci_addresses) < wanted:
        from dualnet.host.switchdev import switchdev_steps

        steps = "; ".join(switchdev_steps(nic.pci_address, nic.vf_pci_addresses, wanted)[:3])
        raise _refuse(
            f"spec.offload on {where}, which has {len(nic.vf_pci_addresses)} of {wanted} VFs: "
            "the device plugin selects switchdev VFs by PCI address (the PF's netdevs include "
            "the VF representors), and those addresses exist only once the VFs do",
            hint=f"create the VFs in legacy mode, then plan again: {steps}",
        )


def offload_steps(spec: Spec, nics: list[ResolvedNic]) -> list[HostStep]:
    """After the VFs exist (CreateVfs): switchdev, hw-tc-offload, then OVS itself."""
    off = spec.spec.offload
    if off is None:
        return []
    steps: list[HostStep] = []
    for nic in nics:
        if nic.eswitch_mode != "switchdev":
            steps.append(SetEswitchMode(
                pf=nic.netdev, pf_pci_address=nic.pci_address,
                vfs=list(nic.vf_pci_addresses),  # every VF: mlx5 switches none while one is bound
                why=f"OVS offload needs the eswitch in switchdev mode (now "
                f"{nic.eswitch_mode or 'unknown'}): VFs unbound, devlink switch, VFs rebound",
            ))
    for nic in nics:
        if nic.hw_tc_offload is not True:
            steps.append(SetHwTcOffload(
                pf=nic.netdev,
                why="without hw-tc-offload on the uplink and representors OVS keeps every "
                f"flow in software (now {_state(nic.hw_tc_offload)})",
            ))
    if off.cni is OffloadCni.OVN_KUBERNETES:
        steps.append(SetOvsHwOffload(
            why="OVS pushes datapath flows to the NIC only with other_config:hw-offload=true, "
            "read when OVS starts",
        ))
    return steps


def _state(value: bool | None) -> str:
    return "unknown" if value is None else ("on" if value else "off")


def offload_warnings(spec: Spec) -> list[PlanWarning]:
    off = spec.spec.offload
    if off is None:
        return []
    out = [PlanWarning(
        code="offload-default-network",
        message=f"OVS offload: the VF is each pod's default network (eth0), plugged by {off.cni}"
        " through the NAD the pod names in v1.multus-cni.io/default-network; the cluster "
        f"network must be {off.cni} itself, with Multus as the node's CNI entry point",
    )]
    if off.cni is OffloadCni.ANTREA:
        out.append(PlanWarning(
            code="antrea-ovs-hw-offload",
            message="Antrea runs OVS in the antrea-agent Pod: start it with hardware offload "
            "(antrea-ovs container command `start_ovs --hw-offload`, antrea docs/ovs-offload.md);"
            " dualnet does not render Antrea's manifest, and no host step reaches that OVS",
        ))
    return out
