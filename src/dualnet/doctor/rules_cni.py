"""CNI rules: plugin binaries for the chosen mode, Multus first in the chain, k3s's own flannel.

The kubelet (through the runtime) uses the lexically first config file in the CNI conf dir; Multus
must be that file so it can call the primary CNI for eth0 and the secondary plugins for net1 (the
guide's step 3). k3s with its built-in flannel keeps its CNI files under /var/lib/rancher/k3s,
outside that chain (anchors.md §5, pain point 4).
"""

from __future__ import annotations

from dualnet.doctor.context import DoctorOptions, node_subject
from dualnet.doctor.findings import EvidenceValue, Finding, Severity
from dualnet.host.models import CniConfigFile, CniState, HostReport
from dualnet.modes import MODE_CNI_PLUGINS

MULTUS_TYPES = frozenset({"multus", "multus-shim"})
_PLUGINS_VERSION = "v1.5.1"
_MULTUS_THICK = (
    "https://raw.githubusercontent.com/k8snetworkplumbingwg/multus-cni/master/"
    "deployments/multus-daemonset-thick.yml"
)
# Plugins that do not come in the containernetworking-plugins tarball: their installer DaemonSet.
_INSTALLERS = {
    "sriov": "https://raw.githubusercontent.com/k8snetworkplumbingwg/sriov-cni/master/"
    "images/sriov-cni-daemonset.yaml",
    "ib-sriov": "https://raw.githubusercontent.com/k8snetworkplumbingwg/ib-sriov-cni/master/"
    "deployment/ib-sriov-cni-daemonset.yaml",
    "ipoib": "https://raw.githubusercontent.com/Mellanox/ipoib-cni/master/"
    "images/ipoib-cni-daemonset.yaml",
    "rdma": "https://raw.githubusercontent.com/k8snetworkplumbingwg/rdma-cni/master/"
    "deployment/rdma-cni-daemonset.yaml",
    "multus-shim": _MULTUS_THICK,
}
_GOARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def _bin_dir(cni: CniState) -> str:
    return cni.bin_dirs[0] if cni.bin_dirs else "/opt/cni/bin"


def _install_commands(report: HostReport, cni: CniState, missing: list[str]) -> list[str]:
    cmds: list[str] = []
    std = [m for m in missing if m not in _INSTALLERS]
    if std:
        arch = _GOARCH.get(report.arch or "", "<amd64|arm64>")
        cmds.append(
            "curl -L https://github.com/containernetworking/plugins/releases/download/"
            f"{_PLUGINS_VERSION}/cni-plugins-linux-{arch}-{_PLUGINS_VERSION}.tgz "
            f"| tar -xz -C {_bin_dir(cni)}"
        )
    cmds.extend(f"kubectl apply -f {_INSTALLERS[m]}" for m in missing if m in _INSTALLERS)
    return cmds


def _name_before(multus: CniConfigFile, first: str) -> str:
    """A file name for the Multus config that sorts before `first` (the runtime reads the
    lexically first file)."""
    ext = "conflist" if multus.kind == "conflist" else "conf"
    for name in (f"00-multus.{ext}", f"00-00-multus.{ext}"):
        if name < first:
            return name
    return f"!0-multus.{ext}"


def _required(opts: DoctorOptions) -> list[str]:
    if opts.mode is None:
        return []
    need = list(MODE_CNI_PLUGINS.get(opts.mode, ()))
    if opts.rdma_cni and "rdma" not in need:
        need.append("rdma")
    return need


def rule_cni(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    cni = report.cni
    subject = node_subject(report)
    if cni is None:
        return []  # reported by doctor.facts-unknown
    out: list[Finding] = []
    serious = Severity.ERROR if opts.mode is not None else Severity.WARNING

    if cni.k3s_flannel_builtin:
        out.append(
            Finding(
                id="cni.k3s-builtin-flannel",
                severity=Severity.WARNING,
                title="k3s runs its built-in flannel: its CNI config is outside /etc/cni/net.d",
                subject=subject,
                evidence={"k3s_flannel_builtin": True, "conf_dir": cni.conf_dir},
                why="k3s's own flannel writes its CNI files under /var/lib/rancher/k3s and "
                "bypasses the /etc/cni/net.d chain, so Multus installed the standard way is never "
                "called and pods get no net1. The guide installs k3s with flannel off and "
                "flannel as a normal CNI.",
                fix=[
                    'curl -sfL https://get.k3s.io | INSTALL_K3S_EXEC="server '
                    '--flannel-backend=none" sh -',
                    "kubectl apply -f kube-flannel.yml   # with its Network set to the k3s pod "
                    "CIDR 10.42.0.0/16",
                ],
                persist=["/etc/rancher/k3s/config.yaml: flannel-backend: none"],
            )
        )

    need = _required(opts)
    have = set(cni.plugins)
    missing = [p for p in need if p not in have]
    multus_conf = [f for f in cni.conf_files if set(f.plugin_types) & MULTUS_TYPES]
    if opts.mode is not None and not (have & MULTUS_TYPES) and not multus_conf:
        missing.append("multus-shim")
    if missing:
        out.append(
            Finding(
                id="cni.plugins-missing",
                severity=Severity.ERROR,
                title=f"CNI plugins that mode {opts.mode} needs are missing: {', '.join(missing)}",
                subject=subject,
                evidence={
                    "mode": str(opts.mode),
                    "missing": missing,
                    "bin_dirs": list(cni.bin_dirs),
                    "found": sorted(have),
                },
                why="The runtime executes each plugin named in a network's config from the CNI "
                "bin dir; a missing binary fails pod sandbox creation ('failed to find plugin').",
                fix=_install_commands(report, cni, missing),
            )
        )

    conf_dir = cni.conf_dir or "/etc/cni/net.d"
    if not cni.conf_files:
        if not cni.k3s_flannel_builtin:
            # Without a mode this may simply be a node that is not in a cluster yet.
            out.append(
                Finding(
                    id="cni.multus-missing",
                    severity=Severity.ERROR if opts.mode is not None else Severity.INFO,
                    title=f"no CNI config in {conf_dir}: neither Multus nor a primary CNI",
                    subject=subject,
                    evidence={"conf_dir": conf_dir, "conf_files": []},
                    why="The node stays NotReady without a primary CNI, and without Multus "
                    "first in the chain no pod gets a secondary network.",
                    fix=[f"kubectl apply -f {_MULTUS_THICK}", f"ls -la {conf_dir}"],
                )
            )
        return out
    first = cni.conf_files[0]
    first_type = first.plugin_types[0] if first.plugin_types else None
    ev: dict[str, EvidenceValue] = {
        "conf_dir": conf_dir,
        "first_file": first.name,
        "first_type": first_type or "unknown",
        "conf_files": [f.name for f in cni.conf_files],
    }
    if first.error:
        out.append(
            Finding(
                id="cni.first-config-invalid",
                severity=serious,
                title=f"the first CNI config, {first.name}, cannot be read: {first.error}",
                subject=first.name,
                evidence={**ev, "error": first.error},
                why="The runtime takes the lexically first config file; a broken one leaves "
                "the node without a working CNI.",
                fix=[
                    f"cat {conf_dir}/{first.name}",
                    f"python3 -m json.tool {conf_dir}/{first.name}",
                ],
            )
        )
    elif first_type not in MULTUS_TYPES:
        if multus_conf:
            out.append(
                Finding(
                    id="cni.multus-not-first",
                    severity=serious,
                    title=f"{first.name} ({first_type}) comes before the Multus config "
                    f"{multus_conf[0].name}",
                    subject=first.name,
                    evidence=ev,
                    why="Only the lexically first file is used: with it not being Multus, pods "
                    "get only the primary network and secondary network annotations are "
                    "ignored.",
                    fix=[
                        f"mv {conf_dir}/{multus_conf[0].name} "
                        f"{conf_dir}/{_name_before(multus_conf[0], first.name)}",
                        f"ls -la {conf_dir}",
                    ],
                )
            )
        else:
            out.append(
                Finding(
                    id="cni.multus-missing",
                    severity=serious,
                    title=f"Multus is not in the CNI chain: {first.name} ({first_type}) is first",
                    subject=first.name,
                    evidence=ev,
                    why="Without Multus as the first CNI config, pods get only the primary "
                    "network (eth0) and no net1 for RDMA traffic.",
                    fix=[f"kubectl apply -f {_MULTUS_THICK}", f"ls -la {conf_dir}"],
                )
            )
    return out
