"""RDMA network-namespace mode rules, and the security note that goes with shared mode.

The shared RDMA device plugin refuses to start in `exclusive`; RDMA CNI (namespace-aware SR-IOV)
errors out in `shared` (formats.md §1.4 item 6, §4.7, §7.9). The mode is flipped with
`rdma system set netns ...`, which fails with EBUSY while any non-init network namespace exists
(every running pod has one), so on a Kubernetes node the durable fix is the ib_core module option
and a reboot (§5.6).
"""

from __future__ import annotations

from dualnet.doctor.context import (
    SHARED_DP_MODES,
    SRIOV_MODES,
    DoctorOptions,
    node_subject,
)
from dualnet.doctor.findings import Finding, Severity
from dualnet.host.models import HostReport, NetnsMode
from dualnet.modes import Mode, required_netns_mode

_NETNS_PARAM = {NetnsMode.EXCLUSIVE: 0, NetnsMode.SHARED: 1}


def _required(opts: DoctorOptions) -> NetnsMode | None:
    if opts.mode is not None:
        req = required_netns_mode(opts.mode, rdma_cni=opts.rdma_cni)
        return NetnsMode(req) if req is not None else None
    return NetnsMode.EXCLUSIVE if opts.rdma_cni else None


def _who_needs(opts: DoctorOptions, want: NetnsMode) -> str:
    if want is NetnsMode.SHARED:
        return (
            f"mode {opts.mode} uses the RDMA shared device plugin, which refuses to start "
            "when the RDMA netns mode is exclusive"
        )
    return (
        "RDMA CNI (namespace-aware SR-IOV) moves each VF's RDMA device into its pod's "
        "network namespace and fails unless the RDMA netns mode is exclusive"
    )


def netns_persist(want: NetnsMode) -> list[str]:
    value = _NETNS_PARAM[want]
    return [
        f'echo "options ib_core netns_mode={value}" > /etc/modprobe.d/ib_core-netns.conf',
        "update-initramfs -u   # ib_core is loaded from the initramfs on most distributions",
        f"# or on the kernel command line: ib_core.netns_mode={value}; then reboot",
    ]


def rule_netns_mode(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    subject = node_subject(report)
    if opts.rdma_cni and opts.mode in SHARED_DP_MODES:
        return [
            Finding(
                id="netns.rdma-cni-conflict",
                severity=Severity.ERROR,
                title=f"RDMA CNI cannot be combined with mode {opts.mode}",
                subject=subject,
                evidence={"mode": str(opts.mode), "rdma_cni": True},
                why="RDMA CNI needs the RDMA netns mode exclusive and the RDMA shared device "
                "plugin refuses to run in exclusive: one node must pick one model.",
                fix=[
                    "# drop --rdma-cni, or choose --mode sriov --rdma-cni for namespace-aware RDMA"
                ],
            )
        ]
    want = _required(opts)
    if (
        want is None
        and opts.mode in SRIOV_MODES
        and report.netns_mode is NetnsMode.EXCLUSIVE
        and report.rdma_devices
    ):
        return [
            Finding(
                id="netns.exclusive-without-rdma-cni",
                severity=Severity.WARNING,
                title=f"RDMA netns mode is exclusive but mode {opts.mode} has no RDMA CNI: pods "
                "get the VF netdev without its RDMA device",
                subject=subject,
                evidence={"netns_mode": "exclusive", "mode": str(opts.mode), "rdma_cni": False},
                why="In exclusive mode an RDMA device stays in the namespace it is in until it is "
                "moved explicitly; sriov-cni moves only the netdev, RDMA CNI moves the RDMA "
                "device with it. Without it the pod has net1 but no usable RDMA device.",
                fix=[
                    "# add RDMA CNI to the network (--rdma-cni; spec rdma_cni: true), or:",
                    "rdma system set netns shared   # only while no pods are running",
                ],
                persist=netns_persist(NetnsMode.SHARED),
            )
        ]
    if want is None:
        if report.netns_mode is NetnsMode.EXCLUSIVE and report.rdma_devices:
            return [
                Finding(
                    id="netns.exclusive",
                    severity=Severity.INFO,
                    title="RDMA netns mode is exclusive: only RDMA CNI (SR-IOV) setups work here",
                    subject=subject,
                    evidence={"netns_mode": "exclusive"},
                    why="In exclusive mode each RDMA device lives in one network namespace; the "
                    "RDMA shared device plugin (modes shared-roce, ipoib) refuses to start.",
                    fix=["rdma system set netns shared   # only if no pods are running"],
                    persist=netns_persist(NetnsMode.SHARED),
                )
            ]
        return []
    if report.netns_mode is None:
        if not report.rdma_devices:
            return []
        return [
            Finding(
                id="netns.unknown",
                severity=Severity.INFO,
                title=f"RDMA netns mode unknown; mode {opts.mode or 'rdma-cni'} needs {want}",
                subject=subject,
                evidence={"netns_mode": "unknown", "required": str(want)},
                why=_who_needs(opts, want) + ".",
                fix=["rdma system show netns"],
            )
        ]
    if report.netns_mode is want:
        return []
    return [
        Finding(
            id="netns.wrong-mode",
            severity=Severity.ERROR,
            title=f"RDMA netns mode is {report.netns_mode}, but {want} is needed",
            subject=subject,
            evidence={
                "netns_mode": str(report.netns_mode),
                "required": str(want),
                "mode": str(opts.mode) if opts.mode else None,
                "rdma_cni": opts.rdma_cni,
            },
            why=_who_needs(opts, want) + ". Changing it at runtime fails with EBUSY while any "
            "non-init network namespace exists (every pod has one), so on a running node set the "
            "module option and reboot.",
            fix=[f"rdma system set netns {want}", "rdma system show netns"],
            persist=netns_persist(want),
        )
    ]


def rule_shared_security(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    if not report.rdma_devices:
        return []
    devices = [d.name for d in report.rdma_devices]
    shared_dp = opts.mode in SHARED_DP_MODES
    sriov_no_cni = (
        opts.mode in SRIOV_MODES and not opts.rdma_cni and (report.netns_mode is NetnsMode.SHARED)
    )
    no_intent_shared = opts.mode is None and report.netns_mode is NetnsMode.SHARED
    if not (shared_dp or sriov_no_cni or no_intent_shared):
        return []
    if shared_dp:
        what = (
            f"mode {opts.mode}: every pod that requests the RDMA resource gets the "
            "/dev/infiniband nodes of every selected RDMA device on the node"
        )
    else:
        what = "RDMA netns mode shared: every pod's network namespace sees every RDMA device"
    return [
        Finding(
            id="security.shared-rdma-devices",
            severity=Severity.INFO,
            title="shared RDMA: pods are not isolated from each other's RDMA devices",
            subject=node_subject(report),
            evidence={
                "netns_mode": str(report.netns_mode) if report.netns_mode else "unknown",
                "mode": str(opts.mode) if opts.mode else None,
                "rdma_devices": devices,
            },
            why=what + ", so any such pod can open queue pairs on any port and send on the "
            "fabric as this node. That is fine for one trusted training job per node. For "
            "several tenants on one node use the namespace-aware mode: SR-IOV VFs with RDMA CNI "
            "chained and the RDMA netns mode exclusive, which gives each pod only its own VF's "
            "RDMA device.",
            fix=[
                "# multi-tenant nodes: --mode sriov --rdma-cni (spec: mode sriov, rdma_cni: true)"
            ],
            persist=netns_persist(NetnsMode.EXCLUSIVE) if opts.mode is Mode.SRIOV else [],
        )
    ]
