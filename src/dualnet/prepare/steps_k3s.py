"""k3s without its built-in flannel: printed for the user, never executed (the guide's step 2).

Installing a Kubernetes distribution is the user's decision; dualnet checks whether k3s already
runs with `--flannel-backend=none` and otherwise prints the exact commands.
"""

from __future__ import annotations

import ipaddress
import shlex

from dualnet.errors import UsageError
from dualnet.plan.steps import K3sWithoutFlannel
from dualnet.prepare.context import StepContext
from dualnet.prepare.outcome import StepStatus

Result = tuple[StepStatus, str]
K3S_DEFAULT_CIDR = "10.42.0.0/16"
FLANNEL_URL = "https://github.com/flannel-io/flannel/releases/latest/download/kube-flannel.yml"
_K3S_FILES = ("/etc/rancher/k3s/config.yaml", "/etc/systemd/system/k3s.service")


def check_cidr(value: str, *, field: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as exc:
        raise UsageError(f"{field}: {value!r} is not a network CIDR ({exc})",
                         hint="e.g. 10.42.0.0/16") from exc


def k3s_commands(step: K3sWithoutFlannel) -> list[str]:
    exec_args = "server --flannel-backend=none"
    if step.pod_cidr != K3S_DEFAULT_CIDR:
        exec_args += f" --cluster-cidr={step.pod_cidr}"
    sed = f"s|{step.flannel_manifest_cidr}|{step.pod_cidr}|g"
    return [
        # Double quotes as in the guide; every part of exec_args is a validated CIDR or literal.
        f'curl -sfL https://get.k3s.io | INSTALL_K3S_EXEC="{exec_args}" sh -',
        f"curl -L {FLANNEL_URL} -o /tmp/flannel.yml",
        f"sed -i {shlex.quote(sed)} /tmp/flannel.yml",
        "kubectl apply -f /tmp/flannel.yml",
    ]


def flannel_off(ctx: StepContext) -> str | None:
    """The k3s file that shows flannel is off, or None."""
    for rel in _K3S_FILES:
        text = ctx.host.read(rel) or ""
        squashed = text.replace('"', "").replace("'", "")
        if "--flannel-backend=none" in squashed or "flannel-backend: none" in squashed:
            return str(ctx.host.path(rel))
    return None


def k3s_without_flannel(step: K3sWithoutFlannel, ctx: StepContext) -> Result:
    where = flannel_off(ctx)
    ctx.checked = True
    if where is not None:
        return StepStatus.UNCHANGED, f"k3s runs without built-in flannel ({where})"
    ctx.printed.extend(k3s_commands(step))
    ctx.notes.append("not executed: run these yourself; the node stays NotReady until flannel "
                     "(the primary CNI) is applied")
    return StepStatus.MANUAL, "install k3s with --flannel-backend=none, then flannel for " \
        f"{step.pod_cidr}"
