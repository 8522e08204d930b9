"""Rules for PFs whose eswitch is in switchdev mode (OVS hardware offload, ASAP2).

In switchdev mode each VF gets a representor netdev on the PF's function, the VF's traffic goes
through the eswitch (to the representor unless an offloaded rule says otherwise), and the VF's
link follows its representor. These rules read `report.eswitches` / `report.representors`
(host/switchdev.py says what sysfs can and cannot show) and stay silent where those are unknown.
"""

from __future__ import annotations

from shlex import quote

from dualnet.doctor.context import SRIOV_MODES, DoctorOptions, node_subject
from dualnet.doctor.findings import EvidenceValue, Finding, Severity
from dualnet.host.models import Eswitch, HostReport, NetnsMode, Nic, Representor
from dualnet.host.switchdev import hw_tc_offload_commands, ovs_hw_offload_commands, switchdev_steps


def _switchdev_pfs(report: HostReport) -> list[tuple[Eswitch, Nic]]:
    out = []
    for esw in report.eswitches:
        nic = report.nic_by_pci(esw.pf_pci_address)
        if esw.mode == "switchdev" and nic is not None:
            out.append((esw, nic))
    return out


def _vf_reps(report: HostReport, pf: str) -> list[Representor]:
    return [r for r in report.representors if r.pf_pci_address == pf and r.flavour == "pcivf"]


def _name(esw: Eswitch) -> str:
    return esw.uplink_netdev or esw.pf_pci_address


def rule_sriov_on_switchdev(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    """A legacy SR-IOV mode planned on a switchdev PF: select VFs by PCI address, not by name."""
    if opts.mode not in SRIOV_MODES:
        return []
    out = []
    for esw, nic in _switchdev_pfs(report):
        reps = _vf_reps(report, esw.pf_pci_address)
        out.append(Finding(
            id="switchdev.sriov-on-switchdev-pf",
            severity=Severity.WARNING,
            title=f"{_name(esw)} is in switchdev mode: its VF representors look like VF netdevs",
            subject=_name(esw),
            evidence={
                "pf": esw.pf_pci_address, "eswitch_mode": esw.mode,
                "mode_source": esw.mode_source, "vfs": list(nic.vfs),
                "representors": [r.netdev for r in reps],
            },
            why=f"{opts.mode} plans VFs for the legacy SR-IOV device plugin. In switchdev mode "
            "the PF's function also carries one representor netdev per VF; a selector or NAD "
            "naming netdevs (or a PF's netdev list) picks representors, and a pod given a "
            "representor sends into the eswitch, not onto the wire. Without OVS (or tc rules) "
            "on the representors, VF traffic goes nowhere.",
            fix=[
                "# keep switchdev: select the VFs by PCI address (device plugin `rootDevices`/"
                "`pciAddresses`), never by representor names:",
                f"# VFs of {esw.pf_pci_address}: {', '.join(nic.vfs) or 'none enabled'}",
                "# or, without OVS offload, return the eswitch to legacy (VFs unbound first):",
                *[f"echo {quote(vf)} > /sys/bus/pci/drivers/mlx5_core/unbind" for vf in nic.vfs],
                f"devlink dev eswitch set {quote(f'pci/{esw.pf_pci_address}')} mode legacy",
                *[f"echo {quote(vf)} > /sys/bus/pci/drivers/mlx5_core/bind" for vf in nic.vfs],
            ],
        ))
    return out


def rule_representors(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    """Every VF of a switchdev PF needs its representor, up, and its own driver bound again."""
    del opts
    out = []
    for esw, nic in _switchdev_pfs(report):
        reps = {r.vf_pci_address: r for r in _vf_reps(report, esw.pf_pci_address)}
        missing = [vf for vf in nic.vfs if vf not in reps]
        down = [r.netdev for vf, r in reps.items() if vf in nic.vfs and r.operstate != "up"]
        unbound = [vf for vf in nic.vfs
                   if (v := report.nic_by_pci(vf)) is not None and v.driver is None]
        if not (missing or down or unbound):
            continue
        ev: dict[str, EvidenceValue] = {
            "pf": esw.pf_pci_address, "vfs": list(nic.vfs), "vfs_without_representor": missing,
            "representors_down": down, "vfs_unbound": unbound,
        }
        fix = [f"ip link set {quote(n)} up" for n in down]
        fix += [f"echo {quote(vf)} > /sys/bus/pci/drivers/mlx5_core/bind" for vf in unbound]
        if missing:
            fix += ["# representors are made when the eswitch switches; redo it in order:",
                    f"devlink dev eswitch set {quote(f'pci/{esw.pf_pci_address}')} mode legacy",
                    *switchdev_steps(esw.pf_pci_address, list(nic.vfs), len(nic.vfs))]
        out.append(Finding(
            id="switchdev.vfs-without-representors-up",
            severity=Severity.ERROR,
            title=f"{_name(esw)} is in switchdev mode but {len(missing) + len(down)} VF "
            f"representor(s) are missing or down, {len(unbound)} VF(s) unbound",
            subject=_name(esw),
            evidence=ev,
            why="In switchdev mode a VF's link follows its representor: with the representor "
            "down or missing the VF has no carrier, and a VF left unbound after the eswitch "
            "switch has no netdev or RDMA device for the device plugin to hand out.",
            fix=fix,
        ))
    return out


def rule_rdma_namespaces(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    """Namespace-aware RDMA on a switchdev PF: only the VF's own RDMA device can move."""
    exclusive = opts.rdma_cni or report.netns_mode is NetnsMode.EXCLUSIVE
    if not exclusive:
        return []
    out = []
    for esw, nic in _switchdev_pfs(report):
        no_rdma = [vf for vf in nic.vfs
                   if (v := report.nic_by_pci(vf)) is not None and not v.rdma_devices]
        vf_rdma = [f"{vf}={','.join(v.rdma_devices)}" for vf in nic.vfs
                   if (v := report.nic_by_pci(vf)) is not None and v.rdma_devices]
        out.append(Finding(
            id="switchdev.rdma-cni-on-switchdev-pf",
            severity=Severity.WARNING if no_rdma else Severity.INFO,
            title=f"RDMA CNI (netns exclusive) on switchdev PF {_name(esw)}: "
            + (f"{len(no_rdma)} VF(s) have no RDMA device" if no_rdma
               else "move the VFs' RDMA devices, never the PF's"),
            subject=_name(esw),
            evidence={"pf": esw.pf_pci_address, "netns_mode": str(report.netns_mode),
                      "vf_rdma_devices": vf_rdma, "vfs_without_rdma": no_rdma,
                      "pf_rdma_devices": list(nic.rdma_devices)},
            why="RDMA CNI moves the RDMA device of the pod's VF into the pod. In switchdev mode "
            "the representors' RDMA side belongs to the PF's device, which stays in the host "
            "namespace; the VF's RDMA device exists only when the VF was rebound after the "
            "eswitch switch. The RDMA subsystem's netns mode must be exclusive before VFs are "
            "created (ib_core netns_mode=0 at module load).",
            fix=[*(f"echo {quote(vf)} > /sys/bus/pci/drivers/mlx5_core/bind" for vf in no_rdma),
                 *(f"ls /sys/bus/pci/devices/{vf}/infiniband/" for vf in nic.vfs[:4]),
                 "rdma system show   # netns exclusive"],
        ))
    return out


def rule_offload(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    """OVS offload asked for: a switchdev eswitch and `hw-tc-offload` on its uplink."""
    if not opts.ovs_offload:
        return []
    subject = node_subject(report)
    switchdev = _switchdev_pfs(report)
    if not switchdev:
        legacy = [e for e in report.eswitches if e.mode == "legacy"]
        unknown = [e for e in report.eswitches if e.mode is None]
        pf = (legacy or unknown)[0] if (legacy or unknown) else None
        nic = report.nic_by_pci(pf.pf_pci_address) if pf else None
        return [Finding(
            id="switchdev.offload-without-switchdev",
            severity=Severity.ERROR if legacy else Severity.WARNING,
            title="OVS offload asked for, but no PF's eswitch is in switchdev mode"
            + ("" if legacy else " (mode unknown from these facts)"),
            subject=subject,
            evidence={"legacy": [_name(e) for e in legacy], "unknown": [_name(e) for e in unknown]},
            why="OVN-Kubernetes/Antrea offload programs the eswitch through the VF "
            "representors, which exist only in switchdev mode.",
            fix=switchdev_steps(pf.pf_pci_address, list(nic.vfs) if nic else [],
                                len(nic.vfs) if nic and nic.vfs else 8) if pf else
            ["devlink dev eswitch show   # which PFs have an eswitch"],
        )]
    out = []
    for esw, _nic in switchdev:
        if esw.hw_tc_offload is True:
            continue
        uplink = esw.uplink_netdev or "<pf-netdev>"
        known = esw.hw_tc_offload is False
        out.append(Finding(
            id="switchdev.hw-tc-offload-off" if known else "switchdev.hw-tc-offload-unknown",
            severity=Severity.ERROR if known else Severity.WARNING,
            title=f"hw-tc-offload is {'off' if known else 'not known'} on {uplink}",
            subject=uplink,
            evidence={"pf": esw.pf_pci_address, "hw_tc_offload": esw.hw_tc_offload,
                      "representors": [r.netdev for r in _vf_reps(report, esw.pf_pci_address)]},
            why="Without the ethtool feature hw-tc-offload, OVS keeps every flow in software "
            "(tc rules are not pushed to the NIC)."
            + ("" if known else " It is an ethtool feature: sysfs does not show it, so "
               "discovery could not check it."),
            fix=[f"ethtool -k {quote(uplink)} | grep hw-tc-offload",
                 *hw_tc_offload_commands(
                     uplink, [r.netdev for r in report.representors
                              if r.pf_pci_address == esw.pf_pci_address]),
                 *ovs_hw_offload_commands(),
                 "# or let `dualnet prepare` run them: a spec with offload plans these steps"],
        ))
    return out
