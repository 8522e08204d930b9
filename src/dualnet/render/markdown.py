"""The plan for humans: what each node needs, the warnings, and the guide's k3s notes."""

from __future__ import annotations

from shlex import quote

from dualnet.host.switchdev import hw_tc_offload_commands, ovs_hw_offload_commands, switchdev_steps
from dualnet.plan.model import Plan
from dualnet.plan.steps import (
    BindDriver,
    CreateVfs,
    HostStep,
    InstallCniPlugins,
    K3sWithoutFlannel,
    LoadModules,
    SetEswitchMode,
    SetHwTcOffload,
    SetMtu,
    SetNetnsMode,
    SetOvsHwOffload,
    SetVfMacs,
)

CNI_PLUGINS_VERSION = "v1.5.1"  # the guide's release of containernetworking/plugins


def _arch(arch: str | None) -> str:
    return {"aarch64": "arm64", "arm64": "arm64", "x86_64": "amd64", "amd64": "amd64"}.get(
        arch or "", "<amd64|arm64>")


def step_commands(step: HostStep, arch: str | None = None) -> list[str]:
    """Shell lines a person would run for `step` (prepare runs the same, safely)."""
    if isinstance(step, LoadModules):
        lines = [f"modprobe {m}" for m in step.modules]
        if step.persist:
            lines.append("printf '%s\\n' " + " ".join(step.modules)
                         + " > /etc/modules-load.d/dualnet.conf")
        return lines
    if isinstance(step, SetNetnsMode):
        lines = [f"rdma system set netns {step.mode}"]
        if step.persist:
            value = 1 if step.mode == "shared" else 0
            lines.append(f"echo 'options ib_core netns_mode={value}' > "
                         "/etc/modprobe.d/dualnet-rdma-netns.conf")
        return lines
    if isinstance(step, SetMtu):
        return [f"ip link set dev {quote(step.interface)} mtu {step.mtu}"]
    if isinstance(step, CreateVfs):
        path = quote(f"/sys/class/net/{step.pf}/device/sriov_numvfs")
        return [f"echo 0 > {path}", f"echo {step.num_vfs} > {path}"]
    if isinstance(step, SetVfMacs):
        return [
            f"ip link set {quote(step.pf)} vf <index> mac {step.mac_prefix}:<xx>:<xx>:<xx>",
            "echo <vf-pci-address> > /sys/bus/pci/drivers/mlx5_core/unbind",
            "echo <vf-pci-address> > /sys/bus/pci/drivers/mlx5_core/bind",
        ]
    if isinstance(step, InstallCniPlugins):
        a = _arch(arch)
        return [
            f"curl -L https://github.com/containernetworking/plugins/releases/download/"
            f"{CNI_PLUGINS_VERSION}/cni-plugins-linux-{a}-{CNI_PLUGINS_VERSION}.tgz "
            f"| tar -xz -C {step.bin_dir}/",
        ]
    if isinstance(step, K3sWithoutFlannel):
        return [
            "curl -sfL https://get.k3s.io | INSTALL_K3S_EXEC=\"server --flannel-backend=none\" "
            "sh -",
            "curl -L https://github.com/flannel-io/flannel/releases/latest/download/"
            "kube-flannel.yml -o /tmp/flannel.yml",
            f"sed -i 's|{step.flannel_manifest_cidr}|{step.pod_cidr}|g' /tmp/flannel.yml",
            "kubectl apply -f /tmp/flannel.yml",
        ]
    if isinstance(step, BindDriver):
        return [f"driverctl set-override {step.pci_address} {step.driver}"]
    if isinstance(step, SetEswitchMode):
        # the one order (host.switchdev), as doctor prints it; its first line only shows the mode
        return switchdev_steps(step.pf_pci_address, step.vfs, len(step.vfs))[1:-1]
    if isinstance(step, SetHwTcOffload):
        return hw_tc_offload_commands(step.pf)
    if isinstance(step, SetOvsHwOffload):
        return ovs_hw_offload_commands(step.service)
    return []  # pragma: no cover


def _offload_rows(plan: Plan) -> list[str]:
    return [f"| pod interface | eth0 (the default network): a switchdev VF plugged by "
            f"{plan.offload_cni} ({plan.cni_type}), OVS offload |",
            f"| IPAM | {plan.offload_cni}'s own |"]


def plan_markdown(plan: Plan, notes: list[str] | None = None) -> str:
    """PLAN.md. `notes`: what the render target chose (render_notes), as a section of its own."""
    s = plan.spec.spec
    lines = [
        f"# Training network `{plan.name}` — plan",
        "",
        "| | |",
        "|---|---|",
        f"| mode | {plan.mode.value} |",
        *(_offload_rows(plan) if plan.offload_cni else [
            f"| pod interface | net1 via {plan.cni_type}"
            + (f" on `{plan.master}`" if plan.master else "") + " |",
            f"| IPAM | {s.ipam.type.value}" + (f" {s.ipam.subnet}" if s.ipam.subnet else "")
            + " |"]),
        f"| resource | `{plan.resource_name}: 1` in each pod's limits |",
        f"| RDMA netns mode | {plan.netns_mode or 'either'} |",
        f"| RDMA CNI | {'chained' if plan.rdma_cni else 'no'} |",
        f"| components | {', '.join(plan.components)} |",
        f"| NCCL_IB_HCA | {','.join(plan.nccl_ib_hca) or '-'} |",
        "",
    ]
    if notes:
        lines += ["## Render target", ""]
        lines += [f"- {n}" for n in notes]
        lines.append("")
    if plan.warnings:
        lines += ["## Warnings", ""]
        lines += [f"- **{w.code}**: {w.message}" for w in plan.warnings]
        lines.append("")
    lines += ["## Hosts", ""]
    for hp in plan.hosts:
        lines += [f"### {hp.hostname}", ""]
        if hp.management_interface:
            lines.append(f"Management (default route): `{hp.management_interface}`")
            lines.append("")
        lines += ["| netdev | PCI | vendor:device | driver | link | RDMA | port | GPU |",
                  "|---|---|---|---|---|---|---|---|"]
        for n in hp.nics:
            lines.append(
                f"| {n.netdev} | {n.pci_address} | {n.vendor_id}:{n.device_id} | "
                f"{n.driver or '?'} | {n.link_layer} | {n.rdma_device or '-'} | "
                f"{n.port_state or '?'} | {n.nearest_gpu or '-'} |"
            )
        lines.append("")
        if not hp.steps:
            lines += ["No host changes needed.", ""]
            continue
        lines += ["Host steps (`dualnet prepare` runs them; or by hand, as root):", ""]
        for i, step in enumerate(hp.steps, 1):
            lines.append(f"{i}. **{step.kind}**: {step.why}")
            lines.append("")
            lines.append("   ```sh")
            lines += [f"   {c}" for c in step_commands(step, hp.arch)]
            lines.append("   ```")
            lines.append("")
    if any(isinstance(st, K3sWithoutFlannel) for hp in plan.hosts for st in hp.steps):
        lines += [
            "## k3s notes",
            "",
            "- k3s bundles flannel and bypasses `/etc/cni/net.d`; Multus must be the first CNI "
            "config there (`00-multus.conf` before `10-flannel.conflist`), so install k3s with "
            "`--flannel-backend=none`.",
            f"- Install flannel yourself, patched from 10.244.0.0/16 to the k3s pod CIDR "
            f"{s.pod_cidr}; the node stays NotReady until it runs.",
            "- Wait until every kube-system pod is Running before applying these manifests.",
            "",
        ]
    lines += [
        "## Apply and check",
        "",
        "```sh",
        "kubectl apply -k <out-dir>        # or kubectl apply -f <stream.yaml>",
        f"kubectl describe node | grep {plan.resource_name}",
        f"kubectl -n {plan.namespace} exec <test-pod> -- ls /dev/infiniband/",
        "```",
        "",
    ]
    return "\n".join(lines)
