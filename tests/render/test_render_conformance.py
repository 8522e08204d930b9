"""Upstream conformance: every object dualnet renders for every example and every sample node,
for each target and each supported Network Operator release, checked against the upstream
projects' own CRDs, webhook schemas and deployment manifests in shared/upstream (tests/upstream
says where; under CI=true a missing file fails). dualnet's runtime schemas are its own; the
last tests here prove they accept and refuse what the upstream CRDs do.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from dualnet.host.discover import discover
from dualnet.host.samples import build_sample
from dualnet.plan import Plan, build_plan
from dualnet.render import render, supported_operator_versions
from dualnet.render.crds import cr_schemas
from dualnet.render.operator_versions import operator_release
from dualnet.spec import load_spec
from dualnet.verify.bench_objects import NcclJobSpec, mpijob
from tests.render.cases import CASES, plan_for
from tests.upstream import REPO, UpstreamCrd, crds, documents, json_file, without_descriptions

Obj = dict[str, Any]

# Network Operator releases with their CRDs in shared/upstream, by the folder of the tag.
NETWORK_OPERATOR = {"v25.7": "v25.7.0", "v26.4": "v26.4.1", "v26.7": "v26.7.0-rc.2"}
# Supported, written from the CRDs at their tags (Mellanox/network-operator v25.4.0, v25.10.0,
# v26.1.0), but with no copy in shared/upstream: their conformance cannot run here.
NOT_IN_SHARED = {"v25.4", "v25.10", "v26.1"}
NO_CRDS = ("k8s.cni.cncf.io_networkattachmentdefinitions_crd.yaml",
           "mellanox.com_hostdevicenetworks.yaml", "mellanox.com_ipoibnetworks.yaml",
           "mellanox.com_macvlannetworks.yaml", "mellanox.com_nicclusterpolicies.yaml")
WHEREABOUTS = "k8snetworkplumbingwg+whereabouts/v0.9.3/doc/crds"
OTHER_CRDS = (
    f"{WHEREABOUTS}/whereabouts.cni.cncf.io_ippools.yaml",
    f"{WHEREABOUTS}/whereabouts.cni.cncf.io_overlappingrangeipreservations.yaml",
    "k8snetworkplumbingwg+multus-cni/v4.2.4/deployments/multus-daemonset-thick.yml",
    "kubeflow+mpi-operator/v0.8.0/manifests/base/kubeflow.org_mpijobs.yaml",
    "Mellanox+nvidia-k8s-ipam/v0.4.0/deploy/crds/nv-ipam.nvidia.com_ippools.yaml",
    "Mellanox+nvidia-k8s-ipam/v0.4.0/deploy/crds/nv-ipam.nvidia.com_cidrpools.yaml",
)
# Each component DaemonSet dualnet renders, and the upstream manifest it follows.
DAEMONSETS = {
    "kube-multus-ds": ("k8snetworkplumbingwg+multus-cni/v4.2.4/deployments/"
                       "multus-daemonset-thick.yml", "kube-multus-ds"),
    "rdma-shared-dp-ds": ("Mellanox+k8s-rdma-shared-dev-plugin/v1.5.3/deployment/k8s/base/"
                          "daemonset.yaml", "rdma-shared-dp-ds"),
    "kube-sriov-device-plugin": ("k8snetworkplumbingwg+sriov-network-device-plugin/v3.9.0/"
                                 "deployments/sriovdp-daemonset.yaml",
                                 "kube-sriov-device-plugin"),
    "kube-sriov-cni-ds": ("k8snetworkplumbingwg+sriov-cni/v2.9.0/images/"
                          "sriov-cni-daemonset.yaml", "kube-sriov-cni-ds"),
    "kube-ib-sriov-cni-ds": ("k8snetworkplumbingwg+ib-sriov-cni/v1.1.1/deployment/"
                             "ib-sriov-cni-daemonset.yaml", "kube-ib-sriov-cni-ds-amd64"),
    "kube-ipoib-cni-ds": ("Mellanox+ipoib-cni/v1.2.0/images/ipoib-cni-daemonset.yaml",
                          "kube-ipoib-cni-ds"),
    "kube-rdma-cni-ds": ("k8snetworkplumbingwg+rdma-cni/v1.1.0/deployment/"
                         "rdma-cni-daemonset.yaml", "kube-rdma-cni-ds"),
    "whereabouts": (f"{WHEREABOUTS}/daemonset-install.yaml", "whereabouts"),
}
# DaemonSets with no upstream manifest: the Network Operator's cni-plugins template is a Go
# template (not in shared/upstream), and the CNI dhcp daemon has none anywhere.
NO_UPSTREAM_DAEMONSET = {"cni-plugins-ds", "cni-dhcp-daemon"}
CLUSTER_ROLES = {
    "multus": DAEMONSETS["kube-multus-ds"][0],
    "whereabouts-cni": DAEMONSETS["whereabouts"][0],
}
# Upstream grants dualnet leaves out, each for a reason (least privilege):
LEFT_OUT = {
    # node-slice-controller (a Deployment dualnet does not run) and node_slice_size IPAM,
    # which dualnet never configures, are the only users of these
    ("whereabouts-cni", "", "nodes", "list"), ("whereabouts-cni", "", "nodes", "watch"),
    *{("whereabouts-cni", "whereabouts.cni.cncf.io", "nodeslicepools", v)
      for v in ("get", "list", "watch", "create", "update", "patch", "delete")},
    # the event recorder only creates and patches events
    ("whereabouts-cni", "", "events", "get"), ("whereabouts-cni", "events.k8s.io", "events", "get"),
    # wildcards spelled out (issue 19 item 8): the operator can grant only what it holds, and
    # holds no wildcard; Multus' thick daemon only reads NADs, a lease lock uses the verbs below
    ("multus", "k8s.cni.cncf.io", "*", "*"), ("whereabouts-cni", "coordination.k8s.io",
                                             "leases", "*"),
}
# ... and grants dualnet adds: Multus >= v4.2 resolves resourceName through DRA ResourceClaims.
ADDED = {("multus", "resource.k8s.io", r, v)
         for r in ("resourceclaims", "resourceclaims/status", "resourceslices")
         for v in ("get", "list")} | {
    ("multus", "k8s.cni.cncf.io", "network-attachment-definitions", v)
    for v in ("get", "list", "watch")} | {
    ("whereabouts-cni", "coordination.k8s.io", "leases", v)
    for v in ("get", "list", "watch", "create", "update", "patch", "delete")}


# --- what is rendered -----------------------------------------------------------------------

SAMPLE_NODES = ("gh200", "dgx_h100_ib", "roce_sriov")


@functools.cache
def sample_plan(node: str, tmp: str) -> Plan:
    root = build_sample(node, Path(tmp) / node)
    spec = load_spec(REPO / "src" / "dualnet" / "data" / "examples" / f"{node}.yaml")
    return build_plan(spec, [discover(root)])


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Plan]:
    tmp = str(tmp_path_factory.mktemp("samples"))
    out = {f"example {c}": plan_for(c) for c in sorted(CASES)}
    out.update({f"sample {n}": sample_plan(n, tmp) for n in SAMPLE_NODES})
    return out


def rendered(plan: Plan, target: str, version: str) -> list[Obj]:
    objects = render(plan, target=target, operator_version=version)  # type: ignore[arg-type]
    # the NCCL benchmark `dualnet bench` launches as an MPIJob, for the same network
    job = mpijob(NcclJobSpec(name="dualnet-nccl-ab12", namespace=plan.namespace,
                             network=plan.name, nad=plan.name, resource=plan.resource_name,
                             image="ghcr.io/coreweave/nccl-tests:latest", nodes=2,
                             gpus_per_node=8, run="ab12", env={}))
    return [*objects, job]


def renders(plans: dict[str, Plan]) -> list[tuple[str, str, list[Obj]]]:
    """(what, operator version, objects) for every plan, target and release with data."""
    out = [(f"{what} plain", "v26.4", rendered(p, "plain", "v26.4")) for what, p in plans.items()]
    for version in NETWORK_OPERATOR:
        out += [(f"{what} network-operator {version}", version,
                 rendered(p, "network-operator", version)) for what, p in plans.items()]
    return out


Renders = list[tuple[str, str, list[Obj]]]


@pytest.fixture(scope="module")
def all_renders(plans: dict[str, Plan]) -> Renders:
    return renders(plans)


def upstream_crds(version: str) -> dict[tuple[str, str], UpstreamCrd]:
    folder = f"Mellanox+network-operator/{NETWORK_OPERATOR[version]}/deployment/network-operator"
    return {**crds(*OTHER_CRDS), **crds(*(f"{folder}/crds/{f}" for f in NO_CRDS))}


def group_of(obj: Obj) -> str:
    api = str(obj["apiVersion"])
    return api.split("/")[0] if "/" in api else ""


# --- every custom resource validates against the upstream CRD -------------------------------

def test_every_supported_release_has_upstream_data_or_is_named_as_missing() -> None:
    assert set(supported_operator_versions()) == set(NETWORK_OPERATOR) | NOT_IN_SHARED


def test_every_custom_resource_validates_against_the_upstream_crd(
    all_renders: Renders,
) -> None:
    problems: list[str] = []
    checked: set[str] = set()
    for what, version, objects in all_renders:
        known = upstream_crds(version)
        for obj in objects:
            group = group_of(obj)
            if "." not in group or group.endswith(".k8s.io"):
                continue  # built-in kinds: the Kubernetes OpenAPI schemas check those
            crd = known.get((group_of(obj), obj["kind"]))
            if crd is None:
                problems.append(f"{what}: {obj['kind']} {obj['apiVersion']}: no upstream CRD")
                continue
            checked.add(obj["kind"])
            problems += [f"{what}: {p}" for p in crd.problems(obj)]
    assert problems == []
    assert {"NicClusterPolicy", "MacvlanNetwork", "HostDeviceNetwork", "IPoIBNetwork",
            "NetworkAttachmentDefinition", "MPIJob"} <= checked


def test_device_plugin_configs_pass_the_operators_webhook_schemas(
    all_renders: Renders,
) -> None:
    """The NicClusterPolicy webhook validates config strings with these JSON schemas
    (api/v1alpha1/validator/nicpolicy_webhook.go); the plain ConfigMaps hold the same format."""
    problems: list[str] = []
    for what, version, objects in all_renders:
        folder = f"Mellanox+network-operator/{NETWORK_OPERATOR[version]}/webhook-schemas"
        shared = jsonschema.Draft7Validator(json_file(f"{folder}/rdma_shared_device_plugin.json"))
        sriov = jsonschema.Draft7Validator(
            json_file(f"{folder}/sriov_network_device_plugin.json"))
        net_device = jsonschema.Draft7Validator(json_file(f"{folder}/net_device.json"))
        configs: list[tuple[str, str]] = []
        for obj in objects:
            if obj["kind"] == "NicClusterPolicy":
                spec = obj["spec"]
                for section in ("rdmaSharedDevicePlugin", "sriovDevicePlugin"):
                    if "config" in spec.get(section, {}):
                        configs.append((section, spec[section]["config"]))
            if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] in ("rdma-devices",
                                                                           "sriovdp-config"):
                section = ("rdmaSharedDevicePlugin" if obj["metadata"]["name"] == "rdma-devices"
                           else "sriovDevicePlugin")
                configs.append((section, obj["data"]["config.json"]))
        for section, text in configs:
            data = json.loads(text)
            if section == "rdmaSharedDevicePlugin":
                errors = list(shared.iter_errors(data))
            else:
                errors = list(sriov.iter_errors(data))
                for entry in data["resourceList"]:
                    # deviceType netDevice (the default): its selectors schema
                    errors += list(net_device.iter_errors({"selectors": entry["selectors"]}))
            problems += [f"{what}: {section}: {e.message}" for e in errors]
    assert problems == []


def test_shipped_crds_are_the_upstream_crds(all_renders: Renders) -> None:
    """The CRDs dualnet installs itself (NAD, whereabouts) declare what upstream's declare:
    same names, scope and versions, and the same schema (descriptions aside)."""
    known = {c.crd["metadata"]["name"]: c for c in upstream_crds("v26.4").values()}
    seen: set[str] = set()
    for _, _, objects in all_renders:
        for obj in objects:
            if obj["kind"] != "CustomResourceDefinition":
                continue
            name = obj["metadata"]["name"]
            seen.add(name)
            up = known[name]
            spec = obj["spec"]
            assert (spec["group"], spec["scope"]) == (up.group, up.scope), name
            for key in ("kind", "plural", "singular", "shortNames"):
                assert spec["names"].get(key) == up.crd["spec"]["names"].get(key), (name, key)
            for v in spec["versions"]:
                ours = v["schema"]["openAPIV3Schema"]
                theirs = without_descriptions(up.versions[v["name"]]["schema"]["openAPIV3Schema"])
                assert ours == theirs, name
    assert seen == {"network-attachment-definitions.k8s.cni.cncf.io",
                    "ippools.whereabouts.cni.cncf.io",
                    "overlappingrangeipreservations.whereabouts.cni.cncf.io"}


# --- component DaemonSets and RBAC follow the upstream manifests ----------------------------

def _upstream(relative: str, kind: str, name: str) -> Obj:
    return next(d for d in documents(relative)
                if d["kind"] == kind and d["metadata"]["name"] == name)


def _containers(ds: Obj) -> dict[str, Obj]:
    pod = ds["spec"]["template"]["spec"]
    return {c["name"]: c for c in [*pod.get("initContainers", []), *pod["containers"]]}


def test_component_daemonsets_match_their_upstream_manifests(all_renders: Renders) -> None:
    problems: list[str] = []
    seen: set[str] = set()
    for what, _, objects in all_renders:
        for ds in (o for o in objects if o["kind"] == "DaemonSet"):
            name = ds["metadata"]["name"]
            seen.add(name)
            if name in NO_UPSTREAM_DAEMONSET:
                continue
            relative, up_name = DAEMONSETS[name]
            up = _upstream(relative, "DaemonSet", up_name)
            ours = _containers(ds)
            for cname, uc in _containers(up).items():
                c = ours.get(cname)
                if c is None:
                    problems.append(f"{what}: {name}: no container {cname} (upstream has it)")
                    continue
                usc, sc = uc.get("securityContext", {}), c.get("securityContext", {})
                # privileged only where upstream is; unprivileged exactly as upstream's
                if bool(sc.get("privileged")) != bool(usc.get("privileged")) or (
                    not usc.get("privileged") and sc != usc
                ):
                    problems.append(f"{what}: {name}/{cname}: securityContext {sc}, "
                                    f"upstream {usc}")
                missing = ({m["mountPath"] for m in uc.get("volumeMounts", [])}
                           - {m["mountPath"] for m in c.get("volumeMounts", [])})
                if missing:
                    problems.append(f"{what}: {name}/{cname}: upstream mounts {sorted(missing)}")
                for key in ("command", "args"):
                    if key in uc and name == "whereabouts" and _lines(c.get(key)) != _lines(
                        uc[key]
                    ):
                        problems.append(f"{what}: {name}/{cname}: {key} {c.get(key)}, upstream "
                                        f"{uc[key]}")
    assert problems == []
    assert set(DAEMONSETS) | NO_UPSTREAM_DAEMONSET == seen


def _lines(value: Any) -> list[str]:
    return [ln.strip() for part in (value or []) for ln in str(part).splitlines() if ln.strip()]


def _grants(role: Obj, name: str) -> set[tuple[str, str, str, str]]:
    return {(name, g, r, v) for rule in role["rules"] for g in rule["apiGroups"]
            for r in rule["resources"] for v in rule["verbs"]}


def test_cluster_roles_grant_what_upstream_grants(all_renders: Renders) -> None:
    roles: dict[str, Obj] = {}
    for _, _, objects in all_renders:
        roles.update({o["metadata"]["name"]: o for o in objects if o["kind"] == "ClusterRole"})
    assert set(roles) == set(CLUSTER_ROLES)
    for name, relative in CLUSTER_ROLES.items():
        theirs = _grants(_upstream(relative, "ClusterRole", name), name)
        ours = _grants(roles[name], name)
        assert theirs - ours == {g for g in LEFT_OUT if g[0] == name}, name
        assert ours - theirs == {g for g in ADDED if g[0] == name}, name


# --- dualnet's own schemas accept and refuse what upstream's do -----------------------------

def _mutations(kind: str) -> list[tuple[str, Callable[[Obj], None]]]:
    def setter(path: str, value: Any) -> Callable[[Obj], None]:
        def go(obj: Obj) -> None:
            *parents, last = path.split(".")
            node = obj
            for p in parents:
                node = node.setdefault(p, {})
            node[last] = value
        return go

    def deleter(path: str) -> Callable[[Obj], None]:
        def go(obj: Obj) -> None:
            *parents, last = path.split(".")
            node = obj
            for p in parents:
                node = node.get(p, {})
            node.pop(last, None)
        return go

    image = {"image": "whereabouts", "repository": "ghcr.io/k8snetworkplumbingwg",
             "version": "v0.9.3"}
    if kind == "NicClusterPolicy":
        return [
            ("ipamPlugin", setter("spec.secondaryNetwork.ipamPlugin", image)),
            ("nvIpam", setter("spec.nvIpam", {**image, "image": "nvidia-k8s-ipam",
                                              "enableWebhook": False})),
            ("nvIpam webhook as string", setter("spec.nvIpam", {**image,
                                                                "enableWebhook": "no"})),
            ("no version", deleter("spec.secondaryNetwork.multus.version")),
            ("no repository", deleter("spec.secondaryNetwork.cniPlugins.repository")),
            ("no image", deleter("spec.secondaryNetwork.cniPlugins.image")),
            ("empty version", setter("spec.secondaryNetwork.multus.version", "")),
            ("bad image", setter("spec.secondaryNetwork.multus.image", "!!!")),
            ("unknown image field", setter("spec.secondaryNetwork.multus.tag", "x")),
            ("unknown section", setter("spec.secondaryNetwork.whereabouts", image)),
            ("unknown top level", setter("spec.ipam", {})),
            ("global", setter("spec.global", {"repository": "ghcr.io/mellanox"})),
            ("config not a string", setter("spec.secondaryNetwork.multus.config", 5)),
            ("tolerations", setter("spec.tolerations", [{"operator": "Exists"}])),
        ]
    if kind == "MacvlanNetwork":
        return [("mode l2", setter("spec.mode", "l2")), ("mtu -1", setter("spec.mtu", -1)),
                ("mtu as string", setter("spec.mtu", "9000")),
                ("capabilities", setter("spec.capabilities", '{"ips": true}')),
                ("no ipam", deleter("spec.ipam"))]
    return [("unknown field", setter("spec.capabilities", "x")),
            ("ipam not a string", setter("spec.ipam", {"type": "static"})),
            ("no ipam", deleter("spec.ipam"))]


def _unchanged(obj: Obj) -> None:
    del obj


@pytest.mark.parametrize("version", sorted(NETWORK_OPERATOR))
def test_dualnet_schemas_accept_and_refuse_what_upstream_does(
    version: str, all_renders: Renders,
) -> None:
    ours = cr_schemas(operator_release(version))
    theirs = upstream_crds(version)
    # every release's rendering is a probe for every release's schema, once per distinct object
    probes: dict[str, dict[str, tuple[str, Obj]]] = {}
    for what, _, objects in all_renders:
        for obj in objects:
            if obj["kind"] in ("NicClusterPolicy", "MacvlanNetwork", "HostDeviceNetwork",
                               "IPoIBNetwork"):
                probes.setdefault(obj["kind"], {}).setdefault(
                    json.dumps(obj, sort_keys=True), (what, obj))
    disagreements: list[str] = []
    verdicts: set[tuple[str, bool]] = set()
    for kind, objs in probes.items():
        validator = jsonschema.Draft7Validator(ours[("mellanox.com/v1alpha1", kind)])
        upstream = theirs[("mellanox.com", kind)]
        for what, base in objs.values():
            for label, change in [("as rendered", _unchanged), *_mutations(kind)]:
                obj = copy.deepcopy(base)
                change(obj)
                accepted_here = not list(validator.iter_errors(obj))
                accepted_there = not upstream.problems(obj)
                verdicts.add((f"{kind} {label}", accepted_there))
                if accepted_here != accepted_there:
                    disagreements.append(f"{what}: {kind} {label}: dualnet "
                                         f"{'accepts' if accepted_here else 'refuses'}, upstream "
                                         f"{'accepts' if accepted_there else 'refuses'}")
    assert disagreements == []
    # the probes reach both verdicts: a test that cannot fail proves nothing
    assert ("NicClusterPolicy ipamPlugin", version == "v25.7") in verdicts
    assert ("NicClusterPolicy global", version != "v25.7") in verdicts
    assert ("MacvlanNetwork mode l2", False) in verdicts


# --- what the operator makes of its network resources ---------------------------------------

def operator_nad_config(cr: Obj) -> Obj:
    """The CNI config the Network Operator writes into the NAD for `cr`, as its templates do
    (manifests/state-{macvlan,hostdevice,ipoib}-network at v26.4.1; pkg/state joins spec.ipam
    with whitespace removed after "ipam":). Templates are Go text, not in shared/upstream, so
    their shape is restated here from the source."""
    spec, name = cr["spec"], cr["metadata"]["name"]
    ipam = json.loads("".join(str(spec.get("ipam") or "{}").split()))
    head: Obj = {"cniVersion": "0.3.1", "name": name}
    if cr["kind"] == "MacvlanNetwork":
        extra = {k: spec[k] for k in ("master", "mode", "mtu") if spec.get(k)}
        return {**head, "type": "macvlan", **extra, "ipam": ipam}
    if cr["kind"] == "HostDeviceNetwork":
        return {**head, "type": "host-device", "ipam": ipam}
    return {**head, "type": "ipoib", "master": spec["master"], "ipam": ipam}


def test_operator_networks_become_nads_the_cni_plugins_take(all_renders: Renders) -> None:
    from dualnet.render.cni_check import check_cni_config

    problems: list[str] = []
    seen = set()
    for what, _, objects in all_renders:
        for cr in (o for o in objects if o["kind"] in ("MacvlanNetwork", "HostDeviceNetwork",
                                                       "IPoIBNetwork")):
            seen.add(cr["kind"])
            conf = operator_nad_config(cr)
            found = check_cni_config(conf)
            if conf["type"] == "host-device":
                # the operator's template names no device and declares no deviceID capability:
                # how its NAD gets the device plugin's device is the operator's design, left
                # unchecked here (dualnet's own host-device NAD declares the capability)
                found = [p for p in found if "capabilities.deviceID" not in p]
            problems += [f"{what}: {cr['kind']}: {p}" for p in found]
            # static per-pod addresses need capabilities.ips, which no CR can carry
            if conf["ipam"].get("type") == "static":
                assert conf["ipam"].get("addresses"), f"{what}: {cr['kind']} with static IPAM"
    assert problems == []
    assert seen == {"MacvlanNetwork", "HostDeviceNetwork", "IPoIBNetwork"}
