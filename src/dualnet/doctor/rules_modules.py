"""Kernel module rules: the RDMA driver stack and GPUDirect (the guide's "Check kernel modules")."""

from __future__ import annotations

import re

from dualnet.doctor.context import (
    SHARED_DP_MODES,
    DoctorOptions,
    all_char_devices,
    module_state,
    modules_load_line,
    node_subject,
    rdma_facts_known,
)
from dualnet.doctor.findings import Finding, Severity
from dualnet.host.models import HostReport
from dualnet.modes import Mode

_FILTERED_LSMOD_NOTE = (
    " (Read from pasted lsmod output: if it was filtered with grep, check a full `lsmod`.)"
)


def _source_note(report: HostReport) -> str:
    return _FILTERED_LSMOD_NOTE if report.source == "tool-outputs" else ""


def mlx5_core_without_ib(report: HostReport) -> bool:
    """mlx5_core drives a NIC but mlx5_ib is known to be absent and no mlx5 RDMA device exists."""
    mlx5_nics = [n for n in report.nics if n.driver == "mlx5_core"]
    core = module_state(report, "mlx5_core")
    if not (core or mlx5_nics):
        return False
    if module_state(report, "mlx5_ib") is not False:
        return False
    # An RDMA device on an mlx5 function proves mlx5_ib is there (e.g. built in).
    mlx5_pcis = {n.pci_address for n in mlx5_nics}
    return not any(
        d.driver == "mlx5_ib" or d.name.startswith("mlx5_") or d.pci_address in mlx5_pcis
        for d in report.rdma_devices
    )


def rule_mlx5_ib_missing(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    if not mlx5_core_without_ib(report):
        return []
    nics = [n.netdev or n.pci_address for n in report.nics if n.driver == "mlx5_core"]
    return [
        Finding(
            id="rdma.mlx5_ib-missing",
            severity=Severity.ERROR,
            title="mlx5_core is loaded but mlx5_ib is not: the ConnectX NICs have no RDMA",
            subject=node_subject(report),
            evidence={
                "mlx5_core": "loaded" if module_state(report, "mlx5_core") else "bound to NICs",
                "mlx5_ib": "not loaded",
                "mlx5_core_nics": nics,
                "rdma_devices": [d.name for d in report.rdma_devices],
            },
            why="mlx5_core is the base (Ethernet) driver; mlx5_ib creates the RDMA devices "
            "(mlx5_N) that verbs, NCCL and the RDMA device plugins use. Without it the node "
            "advertises no RDMA resource and NCCL falls back to TCP." + _source_note(report),
            fix=["modprobe mlx5_ib", "rdma link show"],
            persist=[
                modules_load_line("mlx5_ib"),
                "# if modprobe fails, the module is not installed: MOFED/DOCA-OFED or the "
                "distribution's extra modules package (linux-modules-extra-$(uname -r)) has it",
            ],
        )
    ]


def _rdma_present(report: HostReport) -> bool:
    return bool(report.rdma_devices) or bool(module_state(report, "mlx5_ib"))


_USERSPACE_MODULES: dict[str, tuple[str, str]] = {
    # module: (what it creates, why it matters)
    "ib_uverbs": (
        "/dev/infiniband/uverbsN",
        "user-space verbs (libibverbs, NCCL, ib_write_bw) open RDMA devices through "
        "/dev/infiniband/uverbsN; without ib_uverbs they see no device at all",
    ),
    "rdma_ucm": (
        "/dev/infiniband/rdma_cm",
        "RDMA CM (rping, `ib_write_bw -R`, UCX and MPI over rdmacm) needs /dev/infiniband/rdma_cm",
    ),
    "ib_umad": (
        "/dev/infiniband/umadN and issmN",
        "management datagrams (ibstat, ibv_devinfo -v on IB, opensm) need /dev/infiniband/umadN",
    ),
}


def rule_userspace_modules(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    if not _rdma_present(report) or mlx5_core_without_ib(report):
        return []
    out: list[Finding] = []
    shared_dp = opts.mode in SHARED_DP_MODES
    for module, (creates, why) in _USERSPACE_MODULES.items():
        if module_state(report, module) is not False:
            continue
        severity = Severity.ERROR
        extra = ""
        if module != "ib_uverbs":
            if shared_dp:
                extra = (
                    f" The RDMA shared device plugin (mode {opts.mode}) drops every device that "
                    "lacks uverbs, umad and rdma_cm char devices, so the node advertises 0 "
                    "resources."
                )
            else:
                severity = Severity.WARNING
                extra = (
                    " The RDMA shared device plugin would also drop every device without it "
                    "(advertising 0 resources)."
                )
        out.append(
            Finding(
                id=f"rdma.{module}-missing",
                severity=severity,
                title=f"{module} is not loaded: no {creates}",
                subject=node_subject(report),
                evidence={
                    module: "not loaded",
                    "rdma_devices": [d.name for d in report.rdma_devices],
                    "char_devices": sorted(set(all_char_devices(report))),
                },
                why=why + "." + extra + _source_note(report),
                fix=[f"modprobe {module}", "ls /dev/infiniband/"],
                persist=[modules_load_line(module)],
            )
        )
    return out


def rule_peermem(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    if not report.gpus or not report.rdma_devices:
        return []
    # nv_peer_mem is the older out-of-tree module with the same job.
    states = [module_state(report, "nvidia_peermem"), module_state(report, "nv_peer_mem")]
    if any(states) or None in states:
        return []
    return [
        Finding(
            id="gpudirect.nvidia_peermem-missing",
            severity=Severity.WARNING,
            title="GPUs and RDMA devices present but nvidia_peermem is not loaded: "
            "no GPUDirect RDMA",
            subject=node_subject(report),
            evidence={
                "gpus": len(report.gpus),
                "rdma_devices": [d.name for d in report.rdma_devices],
                "nvidia_peermem": "not loaded",
            },
            why="Without a peer-memory module the NIC cannot DMA to GPU memory: NCCL logs "
            "'GPU Direct RDMA Disabled' and stages every transfer through host memory, and "
            "`ib_write_bw --use_cuda` fails with 'Couldn't allocate MR'. (NCCL can use DMA-BUF "
            "instead on kernels >= 5.12 with the open GPU kernel modules.)" + _source_note(report),
            fix=["modprobe nvidia_peermem", "lsmod | grep nvidia_peermem"],
            persist=[
                modules_load_line("nvidia_peermem"),
                "# with the GPU Operator: set driver.rdma.enabled=true in its Helm values",
            ],
        )
    ]


def rule_ipoib_module(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    if opts.mode is not Mode.IPOIB or module_state(report, "ib_ipoib") is not False:
        return []
    return [
        Finding(
            id="ipoib.ib_ipoib-missing",
            severity=Severity.ERROR,
            title="mode ipoib needs ib_ipoib, which is not loaded: no IPoIB netdevs",
            subject=node_subject(report),
            evidence={"ib_ipoib": "not loaded", "mode": str(opts.mode)},
            why="ipoib-cni creates child interfaces of the IPoIB netdev (ibN) of an InfiniBand "
            "port; without ib_ipoib there is no such netdev to attach pods to."
            + _source_note(report),
            fix=["modprobe ib_ipoib", "ip -br link show type ipoib"],
            persist=[modules_load_line("ib_ipoib")],
        )
    ]


def rule_no_rdma(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    if report.rdma_devices or mlx5_core_without_ib(report):
        return []
    known = rdma_facts_known(report)
    mlx = [n.netdev or n.pci_address for n in report.nics if n.vendor_id == "15b3"]
    if not known:
        return []  # reported by doctor.facts-unknown
    severity = Severity.ERROR if opts.mode is not None else Severity.INFO
    no_provider = any(_NO_PROVIDER.search(m) for m in report.verbs_messages)
    return [
        Finding(
            id="rdma.none-found",
            severity=severity,
            title="no RDMA devices on this node",
            subject=node_subject(report),
            evidence={
                "rdma_devices": [],
                "mellanox_nics": mlx,
                "mode": str(opts.mode) if opts.mode else None,
                "verbs_messages": report.verbs_messages[:_MAX_MESSAGES],
            },
            why="Every dualnet mode gives pods an RDMA device; with none, NCCL can only use "
            "TCP sockets over the secondary network."
            + (
                " libibverbs found kernel devices it has no user-space provider for: the "
                "image or host lacks the provider library (ibverbs-providers / rdma-core)."
                if no_provider
                else ""
            ),
            fix=(
                ["apt-get install ibverbs-providers   # or: dnf install libibverbs (rdma-core)",
                 "ibv_devinfo"]
                if no_provider
                else ["modprobe mlx5_ib", "rdma link show"]
                if mlx
                else ["lspci -nn | grep -i -e mellanox -e infiniband"]
            ),
            persist=[],
        )
    ]


_MAX_MESSAGES = 12
# "libibverbs: Warning: Driver mlx5 does not support the kernel ABI of 1 (supports 2 to 2) for
# device /sys/class/infiniband/mlx5_0" (rdma-core libibverbs/init.c)
_ABI = re.compile(
    r"Driver (?P<driver>\S+) does not support the kernel ABI of (?P<kernel>\d+) "
    r"\(supports (?P<low>\d+) to (?P<high>\d+)\) for device (?P<device>\S+)"
)
_NO_PROVIDER = re.compile(r"no userspace device-specific driver found for (\S+)")


def rule_verbs_abi_mismatch(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    """libibverbs refused a device because its provider speaks another kernel ABI."""
    out: list[Finding] = []
    seen: set[str] = set()
    for message in report.verbs_messages:
        m = _ABI.search(message)
        if m is None or m.group("device") in seen:
            continue
        seen.add(m.group("device"))
        kernel, high = int(m.group("kernel")), int(m.group("high"))
        older = high < kernel
        out.append(
            Finding(
                id="rdma.verbs-abi-mismatch",
                severity=Severity.ERROR,
                title=f"libibverbs' {m.group('driver')} provider cannot use "
                f"{m.group('device').rsplit('/', 1)[-1]}: kernel ABI {kernel}, provider "
                f"supports {m.group('low')} to {high}",
                subject=m.group("device").rsplit("/", 1)[-1],
                evidence={"message": message, "kernel_abi": kernel,
                          "provider_abi": f"{m.group('low')}-{high}"},
                why=(
                    "The user-space verbs provider is older than the kernel driver, so "
                    "libibverbs hides the device: ibv_devinfo, perftest and NCCL see no RDMA "
                    "device although the kernel has one."
                    if older
                    else "The user-space verbs provider is newer than the kernel driver and "
                    "no longer speaks its ABI, so libibverbs hides the device."
                ),
                fix=(
                    ["# update rdma-core (libibverbs + providers) in the image or on the host "
                     "to the kernel's release, e.g. apt-get install --only-upgrade "
                     "rdma-core ibverbs-providers libibverbs1", "ibv_devinfo"]
                    if older
                    else ["# use the kernel's matching driver stack (a newer kernel or "
                          "MLNX_OFED), or an rdma-core that still supports this ABI",
                          "ibv_devinfo"]
                ),
            )
        )
    return out
