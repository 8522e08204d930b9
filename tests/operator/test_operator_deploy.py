"""deploy/ built by the real kustomize: every kustomization builds, the install steps apply in a
working order, the k3s overlay mounts only k3s's CNI directories, and the operator's RBAC is least
privilege (read from the built output and checked against what the operator really renders)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from dualnet.host.discover import CNI_BIN_DIRS, K3S_CNI_CONF_DIR
from dualnet.operator import logic
from dualnet.operator.reconciler import NEVER_DELETED, render_network
from dualnet.render.validate import DEFAULT_K8S_VERSION
from tests.operator.deploy import (
    DEPLOY,
    REPO,
    allowed,
    build_with_components,
    components,
    kustomizations,
    kustomize,
    rules_of,
)

# the render goldens' copies of the examples, written for the golden cases' hosts (examples/
# itself names the bundled sample nodes, see tests/test_examples.py)
from tests.render.cases import CASES, EXAMPLES

WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})
# The install, as the README gives it: the CRDs alone, then the rest.
INSTALLS = {"plain": ["crds", "base"], "k3s": ["crds", "overlays/k3s"]}
# Writes the operator makes without resourceNames because the names are not dualnet's to know
# (the header of deploy/base/rbac-operator.yaml says why for each).
UNNAMED_WRITES = {
    ("", "nodes", "patch"), ("", "nodes/status", "patch"),
    ("", "namespaces", "create"),
    ("", "events", "create"), ("events.k8s.io", "events", "create"),
    ("k8s.cni.cncf.io", "network-attachment-definitions", "create"),
    ("k8s.cni.cncf.io", "network-attachment-definitions", "patch"),
    ("k8s.cni.cncf.io", "network-attachment-definitions", "delete"),
}
PLURALS = {"NetworkAttachmentDefinition": "network-attachment-definitions",
           "CustomResourceDefinition": "customresourcedefinitions"}


def _rel(path: Path) -> str:
    return str(path.relative_to(DEPLOY))


@pytest.mark.parametrize("path", kustomizations(), ids=_rel)
def test_every_kustomization_builds_and_validates(path: Path) -> None:
    objs = kustomize(path)
    assert objs, f"{_rel(path)} builds to nothing"
    for obj in objs:
        if obj["apiVersion"].startswith(("dualnet.io", "kopf.dev")):
            continue  # custom resources: checked against their CRDs in test_operator_crd
        kubernetes_validate.validate(obj, DEFAULT_K8S_VERSION, strict=True)


def _crd_kinds(objs: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(o["spec"]["group"], o["spec"]["names"]["kind"]) for o in objs
            if o["kind"] == "CustomResourceDefinition"}


def _group_kind(obj: dict[str, Any]) -> tuple[str, str]:
    return obj["apiVersion"].rpartition("/")[0], obj["kind"]


@pytest.mark.parametrize("install", sorted(INSTALLS))
def test_install_steps_apply_in_a_working_order(install: str) -> None:
    """`kubectl apply` maps every object of one apply to its kind before it writes any, so an
    object whose CRD is created by the same apply is refused. Every custom kind must come from a
    CRD of an earlier step, and no step may create a CRD and use it."""
    defined = set().union(*(_crd_kinds(kustomize(p)) for p in kustomizations()))
    served: set[tuple[str, str]] = set()
    for step in INSTALLS[install]:
        objs = kustomize(DEPLOY / step)
        for obj in objs:
            gk = _group_kind(obj)
            if gk in defined:
                assert gk in served, (f"deploy/{step}: {gk[1]} {obj['metadata']['name']} needs "
                                      "its CRD applied (and established) in an earlier step")
        served |= _crd_kinds(objs)
    assert {("dualnet.io", "TrainingNetwork"), ("dualnet.io", "NodeReport")} <= served


def test_readme_installs_the_crds_first() -> None:
    readme = (REPO / "README.md").read_text()
    steps = re.findall(r"kubectl apply -k (deploy/\S+)", readme)
    assert steps and steps[0].rstrip("/") == "deploy/crds", steps
    assert "deploy/base" in steps and "deploy/overlays/k3s" in readme


def _agent(objs: list[dict[str, Any]]) -> dict[str, Any]:
    return next(o for o in objs if o["kind"] == "DaemonSet" and
                o["metadata"]["name"] == "dualnet-agent")


def _host_mounts(ds: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    pod = ds["spec"]["template"]["spec"]
    paths = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v}
    (container,) = pod["containers"]
    return {paths[m["name"]]: (m["mountPath"], bool(m.get("readOnly")))
            for m in container["volumeMounts"] if m["name"] in paths}


def test_k3s_overlay_mounts_only_k3s_cni_conf_and_bin_dirs() -> None:
    base = _host_mounts(_agent(kustomize(DEPLOY / "base")))
    k3s = _host_mounts(_agent(kustomize(DEPLOY / "overlays" / "k3s")))
    added = {p: m for p, m in k3s.items() if p not in base}
    k3s_bin = next(d for d in CNI_BIN_DIRS if "rancher" in d)
    assert added == {
        f"/{K3S_CNI_CONF_DIR}": (f"/host/{K3S_CNI_CONF_DIR}", True),
        f"/{k3s_bin}": (f"/host/{k3s_bin}", True),
    }
    assert "/var/lib/rancher/k3s" not in k3s


def test_agent_mounts_host_read_only_without_privileges() -> None:
    ds = _agent(kustomize(DEPLOY / "base"))
    pod = ds["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert all(m["readOnly"] for m in container["volumeMounts"])
    assert {"/host/sys", "/host/proc"} <= {m["mountPath"] for m in container["volumeMounts"]}
    sc = container["securityContext"]
    assert sc["privileged"] is False and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert "hostPID" not in pod and "hostIPC" not in pod


# ---------------------------------------------------------------- RBAC


def _rendered() -> list[dict[str, Any]]:
    """What the operator applies for every example, on the hosts its golden render case uses
    (each golden spec names NICs of those hosts). Any failure fails the test: nothing skipped."""
    out: list[dict[str, Any]] = []
    for example in sorted(EXAMPLES.glob("*.yaml")):
        doc = yaml.safe_load(example.read_text())
        hosts = [logic.prune_facts(h) for h in CASES[example.stem]()]
        objs = render_network(doc["metadata"]["name"], doc["spec"], hosts)
        assert objs, example.name
        out += objs
    return out


def _operator_rules() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    objs = kustomize(DEPLOY / "base")
    return (rules_of(objs, "ClusterRole", "dualnet-operator"),
            rules_of(objs, "Role", "dualnet-operator-components"))


def _plural(kind: str) -> str:
    return PLURALS.get(kind, kind.lower() + "s")


def test_rbac_checks_every_example() -> None:
    assert len(list(EXAMPLES.glob("*.yaml"))) == len(CASES) == 10
    kinds = {o["kind"] for o in _rendered()}
    assert {"DaemonSet", "ClusterRole", "ClusterRoleBinding", "NetworkAttachmentDefinition",
            "CustomResourceDefinition", "ConfigMap", "ServiceAccount"} <= kinds


def test_operator_rbac_covers_every_rendered_object_by_name() -> None:
    cluster, components = _operator_rules()
    for obj in _rendered():
        group = obj["apiVersion"].rpartition("/")[0]
        name = obj["metadata"]["name"]
        ns = obj["metadata"].get("namespace")
        rules = components if ns == "kube-system" else cluster
        verbs = ["get", "create", "patch"]
        if obj["kind"] not in NEVER_DELETED:
            verbs.append("delete")  # the prune of an object no longer rendered
        for verb in verbs:
            assert allowed(rules, group, _plural(obj["kind"]), verb, name), \
                (obj["kind"], ns, name, verb)


def _covers(held: list[dict[str, Any]], rule: dict[str, Any]) -> bool:
    """Would Kubernetes' escalation check let the holder of `held` grant `rule`? (Each of its
    group/resource/verb triples is granted by a rule without resourceNames.)"""
    return all(allowed(held, g, r, v) for g in rule["apiGroups"] for r in rule["resources"]
               for v in rule["verbs"])


def test_operator_can_create_the_rendered_roles_without_escalate_or_bind() -> None:
    cluster, _ = _operator_rules()
    for obj in _rendered():
        if obj["kind"] == "ClusterRole":
            for rule in obj["rules"]:
                assert _covers(cluster, rule), (obj["metadata"]["name"], rule)


def _delegated() -> set[tuple[str, str, str]]:
    return {(g, r, v) for o in _rendered() if o["kind"] == "ClusterRole"
            for rule in o["rules"] for g in rule["apiGroups"] for r in rule["resources"]
            for v in rule["verbs"]}


def rbac_violations(roles: list[dict[str, Any]],
                    delegated: set[tuple[str, str, str]]) -> list[str]:
    """Every wildcard, every escalate/bind/impersonate, and every write without resourceNames
    that is not on dualnet's own CRDs, in dualnet's own namespace, in UNNAMED_WRITES or held only
    to be granted to a rendered role."""
    out: list[str] = []
    for role in roles:
        where = f"{role['kind']} {role['metadata'].get('namespace') or ''}/" \
                f"{role['metadata']['name']}"
        own_ns = role["metadata"].get("namespace") == "dualnet-system"
        for rule in role.get("rules") or []:
            fields = rule.get("apiGroups", []) + rule.get("resources", []) + rule["verbs"] + \
                rule.get("resourceNames", [])
            if "*" in fields:
                out.append(f"{where}: wildcard in {rule}")
            for verb in {"escalate", "bind", "impersonate"} & set(rule["verbs"]):
                out.append(f"{where}: {verb}")
            if rule.get("resourceNames") or own_ns:
                continue
            for g in rule.get("apiGroups", []):
                for r in rule.get("resources", []):
                    for v in WRITE_VERBS & set(rule["verbs"]):
                        if g == "dualnet.io" or (g, r, v) in UNNAMED_WRITES or \
                                (g, r, v) in delegated:
                            continue
                        out.append(f"{where}: {v} {r}.{g or 'core'} without resourceNames")
    return out


def test_operator_rbac_is_least_privilege() -> None:
    objs = kustomize(DEPLOY / "base")
    roles = [o for o in objs if o["kind"] in ("ClusterRole", "Role")]
    assert rbac_violations(roles, _delegated()) == []
    cluster, components = _operator_rules()
    assert not any("secrets" in r["resources"] for r in cluster + components)
    assert not allowed(cluster, "", "namespaces", "delete")
    assert not allowed(cluster, "", "namespaces", "patch")
    assert not allowed(cluster, "apiextensions.k8s.io", "customresourcedefinitions", "delete")
    assert not allowed(cluster, "", "pods", "create") and not allowed(cluster, "", "pods/exec",
                                                                      "create")


def test_least_privilege_check_refuses_what_main_granted() -> None:
    """The check above is not vacuous: the rules main shipped (escalate/bind, unnamed writes on
    every ClusterRole, CRD, binding and kube-system object) each count as a violation."""
    old = [{"kind": "ClusterRole", "metadata": {"name": "old"}, "rules": [
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"],
         "verbs": ["escalate", "bind"], "resourceNames": ["multus"]},
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterrolebindings"],
         "verbs": ["create"]},
        {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"],
         "verbs": ["patch"]},
        {"apiGroups": ["k8s.cni.cncf.io"], "resources": ["*"], "verbs": ["*"]}]},
        {"kind": "Role", "metadata": {"name": "old", "namespace": "kube-system"}, "rules": [
            {"apiGroups": ["apps"], "resources": ["daemonsets"], "verbs": ["delete"]}]}]
    found = rbac_violations(old, set())
    assert len(found) == 6, found


def test_agent_rbac_reads_its_node_and_writes_only_reports() -> None:
    objs = kustomize(DEPLOY / "base")
    agent = rules_of(objs, "ClusterRole", "dualnet-agent")
    assert rbac_violations([o for o in objs if o["metadata"]["name"] == "dualnet-agent"
                            and o["kind"] == "ClusterRole"], set()) == []
    assert allowed(agent, "", "nodes", "get")
    for verb in ("list", "watch", "patch", "update", "delete"):
        assert not allowed(agent, "", "nodes", verb), verb
    assert allowed(agent, "dualnet.io", "nodereports", "patch")


@pytest.mark.parametrize("part", components(), ids=_rel)
def test_every_component_builds_over_the_base(part: Path, tmp_path: Path) -> None:
    objs = build_with_components(tmp_path, DEPLOY / "base", [part])
    for obj in objs:
        if obj["apiVersion"].startswith(("dualnet.io", "kopf.dev", "monitoring.coreos.com")):
            continue
        kubernetes_validate.validate(obj, DEFAULT_K8S_VERSION, strict=True)


def _command(objs: list[dict[str, Any]], kind: str, name: str) -> list[str]:
    obj = next(o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name)
    return list(obj["spec"]["template"]["spec"]["containers"][0]["command"])


def test_metrics_component_serves_both_and_monitors_them(tmp_path: Path) -> None:
    objs = build_with_components(tmp_path, DEPLOY / "base", [DEPLOY / "components/metrics"])
    assert "--metrics-port=8081" in _command(objs, "Deployment", "dualnet-operator")
    assert "--metrics-port=9476" in _command(objs, "DaemonSet", "dualnet-agent")
    services = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Service"}
    monitors = [o for o in objs if o["kind"] == "ServiceMonitor"]
    assert len(monitors) == 2
    workloads = {o["metadata"]["name"]: o for o in objs if o["kind"] in ("Deployment",
                                                                         "DaemonSet")}
    for mon in monitors:
        sel = mon["spec"]["selector"]["matchLabels"]
        (svc,) = [s for s in services.values()
                  if sel.items() <= s["metadata"]["labels"].items()]
        port = mon["spec"]["endpoints"][0]["port"]
        assert port in {p["name"] for p in svc["spec"]["ports"]}
        pods = [w for w in workloads.values() if svc["spec"]["selector"].items() <=
                w["spec"]["template"]["metadata"]["labels"].items()]
        assert len(pods) == 1
        container = pods[0]["spec"]["template"]["spec"]["containers"][0]
        assert "metrics" in {p["name"] for p in container["ports"]}


def test_taint_component_turns_the_cluster_default_on(tmp_path: Path) -> None:
    assert "--taint-unready" not in _command(kustomize(DEPLOY / "base"), "Deployment",
                                             "dualnet-operator")
    objs = build_with_components(tmp_path, DEPLOY / "base",
                                 [DEPLOY / "components/taint-unready"])
    assert "--taint-unready" in _command(objs, "Deployment", "dualnet-operator")


def test_agent_health_component_mounts_valid_thresholds(tmp_path: Path) -> None:
    from dualnet.operator.health import Thresholds

    objs = build_with_components(tmp_path, DEPLOY / "base", [DEPLOY / "components/agent-health"])
    cm = next(o for o in objs if o["kind"] == "ConfigMap"
              and o["metadata"]["name"].startswith("dualnet-agent-health"))
    thresholds = Thresholds.model_validate(yaml.safe_load(cm["data"]["thresholds.yaml"]))
    assert thresholds.block_symbol_error == 100
    ds = next(o for o in objs if o["kind"] == "DaemonSet")
    pod = ds["spec"]["template"]["spec"]
    assert "--health-thresholds=/etc/dualnet/health/thresholds.yaml" in \
        pod["containers"][0]["command"]
    vol = next(v for v in pod["volumes"] if v["name"] == "health")
    assert vol["configMap"]["name"] == cm["metadata"]["name"]  # the generated (hashed) name
