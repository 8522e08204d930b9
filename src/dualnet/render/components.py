"""Cluster components: Multus thick, CNI plugins installer, device plugins, CNI binaries,
whereabouts. Shapes follow the upstream reference manifests; images are pinned."""

from __future__ import annotations

from typing import Any

from dualnet.labels import owned_labels
from dualnet.plan.model import Plan
from dualnet.render.common import (
    SYSTEM_NAMESPACE,
    UNPRIVILEGED,
    cni_installer_daemonset,
    daemonset,
    host_path,
    linux_arch_affinity,
    meta,
    to_json,
    tolerate_all,
)
from dualnet.render.crds import IPPOOL_SCHEMA, NAD_SCHEMA, OVERLAPPING_SCHEMA, crd_object
from dualnet.render.images import image

NS = SYSTEM_NAMESPACE


def _sa(plan: Plan, name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": meta(plan, name, "component", namespace=NS)}


def _cluster_role(plan: Plan, name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": meta(plan, name, "component"), "rules": rules}


def _binding(plan: Plan, name: str, role: str, sa: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": meta(plan, name, "component"),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": NS}],
    }


def nad_crd(plan: Plan) -> dict[str, Any]:
    return crd_object(
        group="k8s.cni.cncf.io", version="v1", kind="NetworkAttachmentDefinition",
        plural="network-attachment-definitions", singular="network-attachment-definition",
        schema=NAD_SCHEMA, short_names=["net-attach-def"],
        labels=owned_labels(plan.name, "component"),
    )


def multus(plan: Plan) -> list[dict[str, Any]]:
    """multus-daemonset-thick.yml: RBAC, daemon config, DaemonSet (shim installed by init)."""
    img = image(plan.spec.spec.images, "multus")
    rules = [
        # upstream grants "*" on the group; the thick daemon only reads NADs, and a wildcard
        # could not be granted by the operator without `escalate` (issue 19 item 8)
        {"apiGroups": ["k8s.cni.cncf.io"], "resources": ["network-attachment-definitions"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["pods", "pods/status"],
         "verbs": ["get", "list", "update", "watch"]},
        # DRA: newer Multus reads ResourceClaims for the resourceName lookup
        {"apiGroups": ["resource.k8s.io"],
         "resources": ["resourceclaims", "resourceclaims/status", "resourceslices"],
         "verbs": ["get", "list"]},
        {"apiGroups": ["", "events.k8s.io"], "resources": ["events"],
         "verbs": ["create", "patch", "update"]},
    ]
    daemon_config = {
        "chrootDir": "/hostroot",
        "cniVersion": "0.3.1",
        "logLevel": "verbose",
        "logToStderr": True,
        "cniConfigDir": "/host/etc/cni/net.d",
        "multusAutoconfigDir": "/host/etc/cni/net.d",
        "multusConfigFile": "auto",
        "socketDir": "/host/run/multus/",
    }
    config_map = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": meta(plan, "multus-daemon-config", "component", namespace=NS,
                         labels={"app": "multus", "tier": "node"}),
        "data": {"daemon-config.json": to_json(daemon_config)},
    }
    mounts = [
        {"name": "cni", "mountPath": "/host/etc/cni/net.d"},
        # multus-daemon needs the CNI bin dir at the same path as on the host
        {"name": "cnibin", "mountPath": "/opt/cni/bin"},
        {"name": "host-run", "mountPath": "/host/run"},
        {"name": "host-var-lib-cni-multus", "mountPath": "/var/lib/cni/multus"},
        {"name": "host-var-lib-kubelet", "mountPath": "/var/lib/kubelet",
         "mountPropagation": "HostToContainer"},
        {"name": "host-run-k8s-cni-cncf-io", "mountPath": "/run/k8s.cni.cncf.io"},
        {"name": "host-run-netns", "mountPath": "/run/netns",
         "mountPropagation": "HostToContainer"},
        {"name": "multus-daemon-config", "mountPath": "/etc/cni/net.d/multus.d",
         "readOnly": True},
        {"name": "hostroot", "mountPath": "/hostroot", "mountPropagation": "HostToContainer"},
        {"name": "multus-conf-dir", "mountPath": "/etc/cni/multus/net.d"},
    ]
    pod = {
        "hostNetwork": True,
        "hostPID": True,
        "affinity": linux_arch_affinity(),
        "tolerations": tolerate_all(),
        "serviceAccountName": "multus",
        "terminationGracePeriodSeconds": 10,
        "containers": [{
            "name": "kube-multus",
            "image": img,
            "command": ["/usr/src/multus-cni/bin/multus-daemon"],
            # the upstream 50Mi limit gets the daemon OOM-killed on busy nodes (anchors.md)
            "resources": {"requests": {"cpu": "100m", "memory": "50Mi"},
                          "limits": {"cpu": "100m", "memory": "300Mi"}},
            "securityContext": {"privileged": True},
            "terminationMessagePolicy": "FallbackToLogsOnError",
            "volumeMounts": mounts,
            "env": [{"name": "MULTUS_NODE_NAME",
                     "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
        }],
        "initContainers": [{
            "name": "install-multus-binary",
            "image": img,
            "command": ["/usr/src/multus-cni/bin/install_multus", "-d", "/host/opt/cni/bin",
                        "-t", "thick"],
            "resources": {"requests": {"cpu": "10m", "memory": "15Mi"}},
            "securityContext": {"privileged": True},
            "terminationMessagePolicy": "FallbackToLogsOnError",
            "volumeMounts": [{"name": "cnibin", "mountPath": "/host/opt/cni/bin",
                              "mountPropagation": "Bidirectional"}],
        }],
        "volumes": [
            host_path("cni", "/etc/cni/net.d"),
            host_path("cnibin", "/opt/cni/bin"),
            host_path("hostroot", "/"),
            {"name": "multus-daemon-config", "configMap": {
                "name": "multus-daemon-config",
                "items": [{"key": "daemon-config.json", "path": "daemon-config.json"}]}},
            host_path("host-run", "/run"),
            host_path("host-var-lib-cni-multus", "/var/lib/cni/multus"),
            host_path("host-var-lib-kubelet", "/var/lib/kubelet"),
            host_path("host-run-k8s-cni-cncf-io", "/run/k8s.cni.cncf.io"),
            host_path("host-run-netns", "/run/netns/"),
            host_path("multus-conf-dir", "/etc/cni/multus/net.d"),
        ],
    }
    return [
        nad_crd(plan),
        _cluster_role(plan, "multus", rules),
        _binding(plan, "multus", "multus", "multus"),
        _sa(plan, "multus"),
        config_map,
        daemonset(plan, "kube-multus-ds", "multus", pod),
    ]


def cni_plugins(plan: Plan) -> list[dict[str, Any]]:
    """Standard plugins (macvlan, ipvlan, host-device, host-local, static, dhcp, ...) for the
    node's architecture (the image is multi-arch: amd64 and arm64, e.g. the GH200's Grace)."""
    ds = cni_installer_daemonset(plan, "cni-plugins-ds", "cni-plugins",
                                 image(plan.spec.spec.images, "cni_plugins"),
                                 container="cni-plugins")
    return [ds]


def rdma_shared_device_plugin(plan: Plan) -> list[dict[str, Any]]:
    assert plan.shared_dp_config is not None
    cm = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": meta(plan, "rdma-devices", "component", namespace=NS),
        "data": {"config.json": to_json(plan.shared_dp_config)},
    }
    pod = {
        "hostNetwork": True,
        "priorityClassName": "system-node-critical",
        "affinity": linux_arch_affinity(),
        "tolerations": tolerate_all(),
        "containers": [{
            "name": "k8s-rdma-shared-dp-ds",
            "image": image(plan.spec.spec.images, "rdma_shared_device_plugin"),
            "imagePullPolicy": "IfNotPresent",
            "securityContext": {"privileged": True},
            "volumeMounts": [
                {"name": "device-plugin", "mountPath": "/var/lib/kubelet/device-plugins"},
                {"name": "plugins-registry", "mountPath": "/var/lib/kubelet/plugins_registry"},
                {"name": "config", "mountPath": "/k8s-rdma-shared-dev-plugin"},
                {"name": "devs", "mountPath": "/dev/"},
            ],
        }],
        "volumes": [
            host_path("device-plugin", "/var/lib/kubelet/device-plugins"),
            host_path("plugins-registry", "/var/lib/kubelet/plugins_registry"),
            {"name": "config", "configMap": {
                "name": "rdma-devices", "items": [{"key": "config.json", "path": "config.json"}]}},
            host_path("devs", "/dev/"),
        ],
    }
    return [cm, daemonset(plan, "rdma-shared-dp-ds", "rdma-shared-dp-ds", pod)]


def sriov_device_plugin(plan: Plan) -> list[dict[str, Any]]:
    assert plan.sriov_dp_config is not None
    cm = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": meta(plan, "sriovdp-config", "component", namespace=NS),
        "data": {"config.json": to_json(plan.sriov_dp_config)},
    }
    pod = {
        "hostNetwork": True,
        "affinity": linux_arch_affinity(),
        "tolerations": tolerate_all(),
        "serviceAccountName": "sriov-device-plugin",
        "containers": [{
            "name": "kube-sriovdp",
            "image": image(plan.spec.spec.images, "sriov_device_plugin"),
            "imagePullPolicy": "IfNotPresent",
            "args": ["--log-dir=sriovdp", "--log-level=10",
                     f"--resource-prefix={plan.resource_prefix}"],
            "securityContext": {"privileged": True},
            "resources": {"requests": {"cpu": "250m", "memory": "40Mi"},
                          "limits": {"cpu": "1", "memory": "200Mi"}},
            "volumeMounts": [
                {"name": "devicesock", "mountPath": "/var/lib/kubelet/device-plugins"},
                {"name": "plugins-registry", "mountPath": "/var/lib/kubelet/plugins_registry"},
                {"name": "log", "mountPath": "/var/log"},
                {"name": "config-volume", "mountPath": "/etc/pcidp"},
                {"name": "device-info", "mountPath": "/var/run/k8s.cni.cncf.io/devinfo/dp"},
            ],
        }],
        "volumes": [
            host_path("devicesock", "/var/lib/kubelet/device-plugins"),
            host_path("plugins-registry", "/var/lib/kubelet/plugins_registry"),
            host_path("log", "/var/log"),
            host_path("device-info", "/var/run/k8s.cni.cncf.io/devinfo/dp", "DirectoryOrCreate"),
            {"name": "config-volume", "configMap": {
                "name": "sriovdp-config",
                "items": [{"key": "config.json", "path": "config.json"}]}},
        ],
    }
    return [_sa(plan, "sriov-device-plugin"), cm,
            daemonset(plan, "kube-sriov-device-plugin", "sriovdp", pod)]


WHEREABOUTS_SCRIPT = """\
SLEEP=false source /install-cni.sh
/token-watcher.sh &
/ip-control-loop -log-level debug
"""


def whereabouts(plan: Plan) -> list[dict[str, Any]]:
    labels = owned_labels(plan.name, "component")
    crds = [
        crd_object(group="whereabouts.cni.cncf.io", version="v1alpha1", kind="IPPool",
                   plural="ippools", singular="ippool", schema=IPPOOL_SCHEMA, labels=labels),
        crd_object(group="whereabouts.cni.cncf.io", version="v1alpha1",
                   kind="OverlappingRangeIPReservation",
                   plural="overlappingrangeipreservations",
                   singular="overlappingrangeipreservation", schema=OVERLAPPING_SCHEMA,
                   labels=labels),
    ]
    rules = [
        {"apiGroups": ["whereabouts.cni.cncf.io"],
         "resources": ["ippools", "overlappingrangeipreservations"],
         "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
        # upstream: verbs "*"; these are the verbs a lease lock uses, and what the operator can
        # grant without `escalate`
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
         "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
        # get: the IP reconciler reads each allocation's pod (Pods().Get) before freeing it
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch", "get"]},
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]},
        {"apiGroups": ["k8s.cni.cncf.io"], "resources": ["network-attachment-definitions"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["", "events.k8s.io"], "resources": ["events"],
         "verbs": ["create", "patch", "update"]},
    ]
    pod = {
        "hostNetwork": True,
        "serviceAccountName": "whereabouts",
        "affinity": linux_arch_affinity(),
        "tolerations": tolerate_all(),
        "containers": [{
            "name": "whereabouts",
            "image": image(plan.spec.spec.images, "whereabouts"),
            # as doc/crds/daemonset-install.yaml since v0.9.0: install-cni.sh (sourced, so the
            # token checksums it exports reach the watcher) writes the kubeconfig the IPAM
            # config points at; token-watcher.sh rewrites it when the service-account token
            # rotates (IPAM calls fail with the expired one otherwise); the control loop
            # reconciles leaked allocations on the schedule in whereabouts-config
            "command": ["/bin/sh"],
            "args": ["-c", WHEREABOUTS_SCRIPT],
            "env": [
                {"name": "NODENAME", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                                 "fieldPath": "spec.nodeName"}}},
                {"name": "WHEREABOUTS_NAMESPACE",
                 "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            ],
            "resources": {"requests": {"cpu": "100m", "memory": "100Mi"},
                          "limits": {"cpu": "100m", "memory": "200Mi"}},
            "securityContext": {"privileged": True},
            "volumeMounts": [{"name": "cnibin", "mountPath": "/host/opt/cni/bin"},
                             {"name": "cni-net-dir", "mountPath": "/host/etc/cni/net.d"},
                             {"name": "cron-scheduler-configmap",
                              "mountPath": "/cron-schedule"}],
        }],
        "volumes": [host_path("cnibin", "/opt/cni/bin"),
                    host_path("cni-net-dir", "/etc/cni/net.d"),
                    # ip-control-loop exits when /cron-schedule/config cannot be watched
                    {"name": "cron-scheduler-configmap", "configMap": {
                        "name": "whereabouts-config", "defaultMode": 0o744,
                        "items": [{"key": "cron-expression", "path": "config"}]}}],
    }
    config = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": meta(plan, "whereabouts-config", "component", namespace=NS),
        # upstream's default: reconcile once a day at 04:30
        "data": {"cron-expression": "30 4 * * *"},
    }
    return [
        *crds,
        _cluster_role(plan, "whereabouts-cni", rules),
        _binding(plan, "whereabouts", "whereabouts-cni", "whereabouts"),
        _sa(plan, "whereabouts"),
        config,
        daemonset(plan, "whereabouts", "whereabouts", pod),
    ]


# where the plugins image (k8snetworkplumbingwg/plugins Dockerfile) unpacks the release tarball
PLUGINS_IMAGE_BIN = "/usr/src/cni/bin"


def dhcp_daemon(plan: Plan) -> list[dict[str, Any]]:
    """The CNI dhcp IPAM plugin only talks to `dhcp daemon` over /run/cni/dhcp.sock; the daemon
    holds the leases and runs DHCP inside each pod's netns. No upstream manifest exists, so this
    follows the plugin's own flags (plugins/ipam/dhcp/main.go, v1.6.2): -hostprefix /host makes
    it find the socket dir and the netns paths the runtime passes under the host mounts."""
    pod = {
        "hostNetwork": True,
        "affinity": linux_arch_affinity(),
        "tolerations": tolerate_all(),
        "containers": [{
            "name": "dhcp-daemon",
            "image": image(plan.spec.spec.images, "cni_plugins"),
            "imagePullPolicy": "IfNotPresent",
            "command": [f"{PLUGINS_IMAGE_BIN}/dhcp", "daemon", "-hostprefix", "/host"],
            # setns into pod network namespaces and raw DHCP sockets there
            "securityContext": {"privileged": True},
            "resources": {"requests": {"cpu": "10m", "memory": "15Mi"},
                          "limits": {"cpu": "100m", "memory": "50Mi"}},
            "volumeMounts": [
                {"name": "host-run", "mountPath": "/host/run",
                 "mountPropagation": "HostToContainer"},
                {"name": "host-var-run-netns", "mountPath": "/host/var/run/netns",
                 "mountPropagation": "HostToContainer"},
            ],
        }],
        "volumes": [host_path("host-run", "/run"),
                    host_path("host-var-run-netns", "/var/run/netns", "DirectoryOrCreate")],
    }
    return [daemonset(plan, "cni-dhcp-daemon", "cni-dhcp-daemon", pod)]


def components(plan: Plan, *, skip: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Every component object of the plan, CRDs and RBAC before the workloads that use them."""
    out: list[dict[str, Any]] = []
    imgs = plan.spec.spec.images
    for comp in plan.components:
        if comp in skip:
            continue
        if comp == "multus":
            out += multus(plan)
        elif comp == "cni-plugins":
            out += cni_plugins(plan)
        elif comp == "rdma-shared-device-plugin":
            out += rdma_shared_device_plugin(plan)
        elif comp == "sriov-device-plugin":
            out += sriov_device_plugin(plan)
        elif comp == "sriov-cni":
            out.append(cni_installer_daemonset(plan, "kube-sriov-cni-ds", "sriov-cni",
                                               image(imgs, "sriov_cni"),
                                               container="kube-sriov-cni",
                                               security_context=UNPRIVILEGED))
        elif comp == "ib-sriov-cni":
            out.append(cni_installer_daemonset(plan, "kube-ib-sriov-cni-ds", "ib-sriov-cni",
                                               image(imgs, "ib_sriov_cni"),
                                               container="kube-ib-sriov-cni"))
        elif comp == "ipoib-cni":
            out.append(cni_installer_daemonset(plan, "kube-ipoib-cni-ds", "ipoib-cni",
                                               image(imgs, "ipoib_cni"),
                                               container="kube-ipoib-cni"))
        elif comp == "rdma-cni":
            out.append(cni_installer_daemonset(plan, "kube-rdma-cni-ds", "rdma-cni",
                                               image(imgs, "rdma_cni"),
                                               container="rdma-cni"))
        elif comp == "whereabouts":
            out += whereabouts(plan)
        elif comp == "cni-dhcp-daemon":
            out += dhcp_daemon(plan)
        else:  # pragma: no cover - plan and render share the component list
            raise ValueError(f"unknown component {comp!r}")
    return out
