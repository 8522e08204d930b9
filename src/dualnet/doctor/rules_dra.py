"""What a Dynamic Resource Allocation driver (dranet) needs from the cluster and the node: the
`resource.k8s.io/v1` API and the container runtime's NRI socket. Only with `doctor --dra`: a
device-plugin cluster needs neither."""

from __future__ import annotations

from dualnet.doctor.context import DoctorOptions, node_subject
from dualnet.doctor.findings import Finding, Severity
from dualnet.host.discover import NRI_SOCKETS
from dualnet.host.models import HostReport

RESOURCE_V1 = "resource.k8s.io/v1"
_RESOURCE_GROUP = RESOURCE_V1.split("/")[0] + "/"


def rule_resource_api(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    served = report.dra.api_versions
    if not opts.dra or served is None or RESOURCE_V1 in served:
        return []
    older = [v for v in served if v.startswith(_RESOURCE_GROUP)]
    return [
        Finding(
            id="dra.resource-api-not-served",
            severity=Severity.ERROR,
            title=f"the API server does not serve {RESOURCE_V1}",
            subject="cluster",
            evidence={"resource.k8s.io versions served": older, "versions read": len(served)},
            why="DRA went GA as resource.k8s.io/v1 in Kubernetes 1.34; dranet and the objects "
            "`dualnet render --target dra` writes (DeviceClass, ResourceClaimTemplate) use v1. "
            + (
                "Only beta versions are served: the cluster is older than 1.34."
                if older
                else "No resource.k8s.io version is served at all: DRA is off or the cluster "
                "predates it."
            ),
            fix=[
                "kubectl version   # the server must be v1.34 or newer",
                "kubectl api-versions | grep resource.k8s.io",
                "# upgrade the control plane to 1.34+, or stay on device plugins + Multus "
                "(dualnet render without --target dra)",
            ],
        )
    ]


def rule_nri_socket(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    if not opts.dra or report.dra.nri_socket_present is not False:
        return []
    return [
        Finding(
            id="dra.nri-socket-missing",
            severity=Severity.ERROR,
            title="no NRI socket: the container runtime does not offer NRI",
            subject=node_subject(report),
            evidence={"looked at": ["/" + p for p in NRI_SOCKETS]},
            why="dranet moves the claimed NIC into the pod from an NRI plugin hook; without "
            "the runtime's NRI socket its pods stay ContainerCreating. NRI is on by default "
            "in containerd 2.0+ and CRI-O 1.30+; containerd 1.7 has it off.",
            fix=[
                "containerd --version   # or: crio --version",
                "# containerd 1.7: in /etc/containerd/config.toml set "
                "[plugins.\"io.containerd.nri.v1.nri\"] disable = false, "
                "socket_path = \"/var/run/nri/nri.sock\"",
                "# CRI-O: [crio.nri] enable_nri = true",
                "# k3s 1.34+ bundles containerd 2.x (NRI on); if a custom template turned it "
                "off, fix /var/lib/rancher/k3s/agent/etc/containerd/config-v3.toml.tmpl",
                "systemctl restart containerd   # or crio / k3s / k3s-agent",
            ],
        )
    ]


def rule_dra_facts_unknown(report: HostReport, opts: DoctorOptions) -> list[Finding]:
    """With --dra, say which DRA facts were not given, so a clean result is not read as a pass."""
    if not opts.dra:
        return []
    missing: list[str] = []
    if report.dra.api_versions is None:
        missing.append("served API versions (kubectl_api_resources.txt)")
    if report.dra.nri_socket_present is None:
        missing.append("NRI socket (run doctor on the node, --root)")
    if not missing:
        return []
    return [
        Finding(
            id="dra.facts-unknown",
            severity=Severity.INFO,
            title="DRA checks skipped: " + "; ".join(missing),
            subject=node_subject(report),
            evidence={"missing": missing},
            why="A DRA check whose fact was not read was not run; it did not pass.",
            fix=[
                "kubectl api-resources > DIR/kubectl_api_resources.txt   # then doctor --from DIR "
                "--dra",
                "sudo dualnet doctor --dra   # on the node, for the NRI socket",
            ],
        )
    ]
