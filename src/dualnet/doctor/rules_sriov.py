"""SR-IOV, DPDK hugepage and memlock rules."""

from __future__ import annotations

from shlex import quote

from dualnet.doctor.context import (
    MELLANOX_VENDOR,
    DoctorOptions,
    node_subject,
)
from dualnet.doctor.findings import EvidenceValue, Finding, Severity
from dualnet.host.models import HostReport, Nic
from dualnet.modes import Mode

DEFAULT_VFS = 8
# Below MEMLOCK_MIN_KB (64 MiB) NCCL-sized registrations fail in processes without IPC_LOCK;
# below MEMLOCK_WARN_KB (8 MiB, systemd's default) even perftest's defaults do (64 KiB, the old
# default, is the usual culprit). Pods are mostly spared: containerd runs with
# LimitMEMLOCK=infinity and RDMA pods add IPC_LOCK, so only the lower limit is a warning.
MEMLOCK_MIN_KB = 64 * 1024
MEMLOCK_WARN_KB = 8 * 1024
# Larger than any real memory: treat as "unlimited" (RLIM_INFINITY in KiB, or -1 sentinels).
_MEMLOCK_UNLIMITED_KB = 1 << 40


def _candidate_pfs(report: HostReport, opts: DoctorOptions) -> list[Nic]:
    want = None
    if opts.mode is Mode.IB_SRIOV:
        want = "infiniband"
    elif opts.mode in (Mode.SRIOV, Mode.SRIOV_DPDK):
        want = "ether"
    pfs = [
        n
        for n in report.nics
        if not n.is_vf and (n.vendor_id == MELLANOX_VENDOR or n.rdma_devices or n.sriov_totalvfs)
    ]
    return [n for n in pfs if want is None or n.link_type in (None, want)]


def _name(nic: Nic) -> str:
    return nic.netdev or nic.pci_address


def _persist_vfs(nic: Nic, n: int) -> list[str]:
    match = f'KERNEL=="{nic.netdev}"' if nic.netdev else f'KERNELS=="{nic.pci_address}"'
    subsystem = "net" if nic.netdev else "pci"
    attr = "device/sriov_numvfs" if nic.netdev else "sriov_numvfs"
    return [
        f'/etc/udev/rules.d/70-dualnet-sriov.rules: ACTION=="add", '
        f'SUBSYSTEM=="{subsystem}", {match}, ATTR{{{attr}}}="{n}"',
        "# or let the SR-IOV Network Operator create them (SriovNetworkNodePolicy numVfs)",
    ]


def rule_sriov(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    if not opts.sriov_asked:
        return []
    pfs = _candidate_pfs(report, opts)
    subject = node_subject(report)
    if not pfs:
        return []
    if all(p.sriov_totalvfs is None for p in pfs):
        return [
            Finding(
                id="sriov.unknown",
                severity=Severity.INFO,
                title="SR-IOV asked for, but the VF capacity of the NICs is unknown",
                subject=subject,
                evidence={"pfs": [_name(p) for p in pfs]},
                why="sriov_totalvfs/sriov_numvfs were not in the facts given (pasted outputs "
                "rarely carry them).",
                fix=[f"cat /sys/bus/pci/devices/{p.pci_address}/sriov_totalvfs" for p in pfs[:4]],
            )
        ]
    out: list[Finding] = []
    any_enabled = any((p.sriov_numvfs or 0) > 0 or p.vfs for p in pfs)
    for pf in pfs:
        total = pf.sriov_totalvfs
        if total is None:
            continue
        numvfs = pf.sriov_numvfs if pf.sriov_numvfs is not None else len(pf.vfs)
        ev: dict[str, EvidenceValue] = {
            "pf": _name(pf),
            "pci_address": pf.pci_address,
            "sriov_totalvfs": total,
            "sriov_numvfs": numvfs,
            "asked": opts.vfs,
        }
        sysfs = quote(f"/sys/bus/pci/devices/{pf.pci_address}/sriov_numvfs")
        if total == 0:
            fix = [f"mlxconfig -d {pf.pci_address} set SRIOV_EN=1 NUM_OF_VFS={opts.vfs or 16}"]
            if pf.vendor_id != MELLANOX_VENDOR:
                fix = []
            fix += [
                "# enable SR-IOV in the BIOS/UEFI too, then reboot; if VFs still fail, add "
                "pci=realloc to the kernel command line",
            ]
            out.append(
                Finding(
                    id="sriov.disabled-in-firmware",
                    severity=Severity.ERROR if not any_enabled else Severity.WARNING,
                    title=f"{_name(pf)} reports sriov_totalvfs 0: SR-IOV off in firmware or BIOS",
                    subject=_name(pf),
                    evidence=ev,
                    why="No VF can be created on this PF until the NIC firmware (and the BIOS) "
                    "enable SR-IOV.",
                    fix=fix,
                )
            )
            continue
        if opts.vfs is not None and opts.vfs > total:
            out.append(
                Finding(
                    id="sriov.vfs-over-total",
                    severity=Severity.ERROR,
                    title=f"{opts.vfs} VFs asked on {_name(pf)}, which allows at most {total}",
                    subject=_name(pf),
                    evidence=ev,
                    why="Writing more than sriov_totalvfs to sriov_numvfs fails with ERANGE.",
                    fix=[
                        f"echo {total} > {sysfs}",
                        "# or raise the firmware limit, then reboot:",
                        f"mlxconfig -d {pf.pci_address} set NUM_OF_VFS={opts.vfs}",
                    ],
                )
            )
            continue
        want = opts.vfs if opts.vfs is not None else min(DEFAULT_VFS, total)
        if numvfs == 0:
            out.append(
                Finding(
                    id="sriov.vfs-not-enabled",
                    severity=Severity.WARNING if any_enabled else Severity.ERROR,
                    title=f"SR-IOV asked for but {_name(pf)} has no VFs enabled (0 of {total})",
                    subject=_name(pf),
                    evidence=ev,
                    why="The SR-IOV device plugin only advertises VFs that exist; with none, "
                    "pods asking for the VF resource stay Pending.",
                    fix=[f"echo {want} > {sysfs}",
                         f"ip link show {quote(pf.netdev) if pf.netdev else ''}".strip()],
                    persist=_persist_vfs(pf, want),
                )
            )
        elif opts.vfs is not None and numvfs < opts.vfs:
            out.append(
                Finding(
                    id="sriov.fewer-vfs-than-asked",
                    severity=Severity.WARNING,
                    title=f"{_name(pf)} has {numvfs} VFs, {opts.vfs} asked",
                    subject=_name(pf),
                    evidence=ev,
                    why="The number of VFs can only be changed by going through 0 (writing a "
                    "new count while VFs exist fails with EBUSY).",
                    fix=[f"echo 0 > {sysfs}", f"echo {opts.vfs} > {sysfs}"],
                    persist=_persist_vfs(pf, opts.vfs),
                )
            )
    return out


def rule_hugepages(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    if not opts.dpdk_asked:
        return []
    subject = node_subject(report)
    persist = [
        "/etc/sysctl.d/90-hugepages.conf: vm.nr_hugepages = 1024",
        "# or on the kernel command line: default_hugepagesz=1G hugepagesz=1G hugepages=16",
        "systemctl restart kubelet   # it reads hugepage capacity only at start",
    ]
    if not report.hugepages:
        return [
            Finding(
                id="dpdk.hugepages-unknown",
                severity=Severity.INFO,
                title="DPDK asked for, but the hugepage pools are unknown",
                subject=subject,
                evidence={"hugepages": "unknown"},
                why="DPDK allocates its packet buffers from hugepages.",
                fix=["grep -i huge /proc/meminfo"],
            )
        ]
    pools = [f"{h.size_kb}kB total={h.total} free={h.free}" for h in report.hugepages]
    if all(h.total == 0 for h in report.hugepages):
        return [
            Finding(
                id="dpdk.no-hugepages",
                severity=Severity.ERROR,
                title="DPDK asked for, but no hugepages are reserved",
                subject=subject,
                evidence={"hugepages": pools},
                why="DPDK applications allocate their memory pools from hugepages; pods asking "
                "for hugepages-2Mi/1Gi stay Pending and DPDK fails at EAL init without them.",
                fix=[
                    "echo 1024 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages",
                    "grep -i huge /proc/meminfo",
                ],
                persist=persist,
            )
        ]
    if all(h.free == 0 for h in report.hugepages if h.total > 0):
        return [
            Finding(
                id="dpdk.hugepages-exhausted",
                severity=Severity.WARNING,
                title="hugepages are reserved but none is free",
                subject=subject,
                evidence={"hugepages": pools},
                why="A new DPDK pod cannot get memory until some is released or more reserved.",
                fix=["grep -i huge /proc/meminfo"],
                persist=persist,
            )
        ]
    return []


def rule_memlock(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    kb = report.memlock_kb
    if kb is None or not report.rdma_devices:
        return []
    if kb < 0 or kb >= _MEMLOCK_UNLIMITED_KB or kb >= MEMLOCK_MIN_KB:
        return []
    return [
        Finding(
            id="limits.memlock-low",
            severity=Severity.WARNING if kb < MEMLOCK_WARN_KB else Severity.INFO,
            title=f"locked-memory limit is {kb} KiB: RDMA memory registration will fail "
            "beyond it without IPC_LOCK",
            subject=node_subject(report),
            evidence={"memlock_kb": kb, "minimum_kb": MEMLOCK_MIN_KB},
            why="RDMA pins every registered buffer against RLIMIT_MEMLOCK; NCCL, UCX and "
            "perftest fail with 'Couldn't allocate MR' / 'Cannot allocate memory' under a low "
            "limit. Containers escape it only with the IPC_LOCK capability or a runtime that "
            "sets LimitMEMLOCK=infinity.",
            fix=["ulimit -l unlimited   # this shell", "ulimit -l"],
            persist=[
                "/etc/security/limits.d/90-rdma.conf: * soft memlock unlimited",
                "/etc/security/limits.d/90-rdma.conf: * hard memlock unlimited",
                "/etc/systemd/system/containerd.service.d/memlock.conf: [Service] "
                "LimitMEMLOCK=infinity",
                "# pods: securityContext.capabilities.add: [IPC_LOCK]",
            ],
        )
    ]
