"""`diagnose`: run every rule over one node's facts and return the findings, worst first.

Rules are pure functions `(HostReport, DoctorOptions) -> list[Finding]`; each family lives in
its own module (rules_modules, rules_netns, rules_ports, rules_topology, rules_sriov,
rules_switchdev, rules_cni, rules_facts, rules_dra). A rule that lacks a fact it needs returns
nothing; `doctor.facts-unknown` says which fact groups were missing.
"""

from __future__ import annotations

from collections.abc import Callable

from dualnet.doctor import (
    rules_cni,
    rules_dra,
    rules_facts,
    rules_kube,
    rules_modules,
    rules_netns,
    rules_ports,
    rules_sriov,
    rules_switchdev,
    rules_topology,
)
from dualnet.doctor.context import DoctorOptions
from dualnet.doctor.findings import (
    DoctorResult,
    Finding,
    exit_code_for,
    sort_findings,
    worst_severity,
)
from dualnet.host.models import HostReport
from dualnet.modes import Mode

Rule = Callable[[HostReport, DoctorOptions], list[Finding]]

RULES: tuple[Rule, ...] = (
    rules_modules.rule_mlx5_ib_missing,
    rules_modules.rule_userspace_modules,
    rules_modules.rule_peermem,
    rules_modules.rule_ipoib_module,
    rules_modules.rule_no_rdma,
    rules_modules.rule_verbs_abi_mismatch,
    rules_netns.rule_netns_mode,
    rules_netns.rule_shared_security,
    rules_ports.rule_ports,
    rules_ports.rule_management_port,
    rules_ports.rule_roce_mtu,
    rules_ports.rule_roce_gids,
    rules_ports.rule_link_layer_vs_mode,
    rules_ports.rule_ipoib_netdev,
    rules_topology.rule_gpu_nic_distance,
    rules_sriov.rule_sriov,
    rules_sriov.rule_hugepages,
    rules_sriov.rule_memlock,
    rules_cni.rule_cni,
    rules_switchdev.rule_sriov_on_switchdev,
    rules_switchdev.rule_representors,
    rules_switchdev.rule_rdma_namespaces,
    rules_switchdev.rule_offload,
    rules_facts.rule_unknown_facts,
    rules_facts.rule_read_problems,
    rules_facts.rule_refused_files,
    rules_facts.rule_skipped_lines,
    rules_kube.rule_rdma_resources,
    rules_dra.rule_resource_api,
    rules_dra.rule_nri_socket,
    rules_dra.rule_dra_facts_unknown,
    rules_dra.rule_device_plugin_overlap,
    rules_dra.rule_ipoib_without_rdma,
)


# Every finding id a rule can emit; the README's doctor section lists them with their meaning.
RULE_IDS: frozenset[str] = frozenset(
    {
        "rdma.mlx5_ib-missing",
        "rdma.ib_uverbs-missing",
        "rdma.rdma_ucm-missing",
        "rdma.ib_umad-missing",
        "rdma.none-found",
        "rdma.verbs-abi-mismatch",
        "gpudirect.nvidia_peermem-missing",
        "ipoib.ib_ipoib-missing",
        "ipoib.no-netdev",
        "netns.wrong-mode",
        "netns.unknown",
        "netns.exclusive",
        "netns.exclusive-without-rdma-cni",
        "netns.rdma-cni-conflict",
        "security.shared-rdma-devices",
        "port.not-active",
        "port.no-subnet-manager",
        "port.none-active",
        "port.only-active-is-management",
        "roce.mtu-low",
        "roce.no-v2-gid",
        "roce.no-ipv4-v2-gid",
        "mode.needs-ethernet",
        "mode.needs-infiniband",
        "topology.gpu-nic-sys",
        "topology.gpu-nic-cross-numa",
        "sriov.unknown",
        "sriov.disabled-in-firmware",
        "sriov.vfs-over-total",
        "sriov.vfs-not-enabled",
        "sriov.fewer-vfs-than-asked",
        "dpdk.hugepages-unknown",
        "dpdk.no-hugepages",
        "dpdk.hugepages-exhausted",
        "limits.memlock-low",
        "cni.k3s-builtin-flannel",
        "cni.plugins-missing",
        "cni.multus-missing",
        "cni.multus-not-first",
        "cni.first-config-invalid",
        "switchdev.sriov-on-switchdev-pf",
        "switchdev.vfs-without-representors-up",
        "switchdev.rdma-cni-on-switchdev-pf",
        "switchdev.offload-without-switchdev",
        "switchdev.hw-tc-offload-off",
        "switchdev.hw-tc-offload-unknown",
        "doctor.facts-unknown",
        "doctor.read-problems",
        "doctor.file-refused",
        "doctor.lines-skipped",
        "kube.rdma-resource-zero",
        "dra.resource-api-not-served",
        "dra.nri-socket-missing",
        "dra.facts-unknown",
        "dra.device-plugin-overlap",
        "dra.ipoib-published-without-rdma",
    }
)


def diagnose(
    report: HostReport,
    mode: Mode | None = None,
    *,
    rdma_cni: bool = False,
    dpdk: bool = False,
    vfs: int | None = None,
    ovs_offload: bool = False,
    dra: bool = False,
) -> list[Finding]:
    """All findings for `report` under the chosen mode and options, worst first."""
    opts = DoctorOptions(mode=mode, rdma_cni=rdma_cni, dpdk=dpdk, vfs=vfs,
                         ovs_offload=ovs_offload, dra=dra)
    return diagnose_with(report, opts)


def diagnose_with(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    findings: list[Finding] = []
    for rule in RULES:
        findings.extend(rule(report, opts))
    return sort_findings(findings)


def doctor_result(report: HostReport, opts: DoctorOptions | None = None) -> DoctorResult:
    """The whole verdict for one node, as `dualnet doctor -o json` prints it."""
    opts = opts or DoctorOptions()
    findings = diagnose_with(report, opts)
    return DoctorResult(
        hostname=report.hostname,
        source=report.source,
        mode=str(opts.mode) if opts.mode is not None else None,
        worst=worst_severity(findings),
        exit_code=exit_code_for(findings),
        findings=findings,
    )
