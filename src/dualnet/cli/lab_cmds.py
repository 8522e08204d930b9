"""CLI verbs of the lab layer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from dualnet.cli.output import OUTPUT_HELP, OutputFormat, emit

if TYPE_CHECKING:
    from rich.console import RenderableType

# exit codes: 0 every check passed, 1 the NAD failed or a check failed, 3 the environment
# (no root, no plugins, a kernel without the link type) cannot rehearse it
EXIT = {"pass": 0, "fail": 1, "unsupported": 3}


def _table(report: Any) -> RenderableType:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from dualnet.lab.run import annotation

    colour = {"pass": "green", "fail": "red", "unsupported": "yellow"}[report.verdict]
    parts: list[RenderableType] = []
    head = Text.assemble(
        ("NAD ", "bold"), f"{report.nad} ({report.nad_type}, cniVersion {report.cni_version})",
        "  run ", report.run_id, "  verdict ", (report.verdict.upper(), f"bold {colour}"))
    parts.append(head)
    if report.machine:
        parts.append(Text(f"  on {report.machine}", style="dim"))
    if report.reason:
        parts.append(Text(f"  {report.reason}", style=colour))
    for line in report.rewrites:
        parts.append(Text(f"  rewritten for the lab: {line}", style="dim"))
    if report.pods:
        pods = Table(title="pods", title_justify="left")
        for col in ("pod", "interface", "state", "mtu", "addresses", "mac"):
            pods.add_column(col)
        for pod in report.pods:
            for itf in pod.interfaces or []:
                pods.add_row(pod.pod, itf.name, itf.state, str(itf.mtu),
                             ", ".join(itf.addresses), itf.mac)
            if pod.error:
                pods.add_row(pod.pod, "-", "-", "-", Text(pod.error, style="red"), "")
        parts.append(pods)
        for pod in report.pods:
            if pod.network_status:
                parts.append(Text(f"{pod.pod}  k8s.v1.cni.cncf.io/network-status:", style="bold"))
                parts.append(Text(annotation(pod)))
    if report.checks:
        checks = Table(title="checks", title_justify="left")
        for col in ("check", "where", "result", "evidence"):
            checks.add_column(col)
        looks = {"pass": Text("pass", style="green"), "fail": Text("FAIL", style="bold red"),
                 "skipped": Text("skipped", style="yellow"),
                 "unsupported": Text("unsupported", style="yellow")}
        for c in report.checks:
            checks.add_row(c.name, c.pod, looks[c.result], c.evidence)
        parts.append(checks)
        counts = report.check_counts
        parts.append(Text(f"checks: {counts['pass']} passed, {counts['fail']} failed, "
                          f"{counts['skipped']} skipped (not run)"
                          + (f", {counts['unsupported']} unsupported here"
                             if counts["unsupported"] else "")))
    timings = Table(title="timings", title_justify="left")
    timings.add_column("step")
    timings.add_column("ms", justify="right")
    for t in report.timings:
        timings.add_row(t.step, f"{t.ms:.1f}")
    parts.append(timings)
    for line in report.cleanup:
        parts.append(Text(f"cleanup: {line}", style="red" if line.startswith("LEFT") else "dim"))
    return Group(*parts)


def register(app: typer.Typer) -> None:
    """Add this layer's verbs to the dualnet app."""

    @app.command("lab")
    def lab(
        nad_file: Path | None = typer.Argument(None, metavar="PATH",
                                               help="NetworkAttachmentDefinition YAML (one "
                                               "object or the stream `dualnet render` writes)"),
        pods: int = typer.Option(2, "--pods", min=1, max=64, help="pods to attach"),
        keep: bool = typer.Option(False, "--keep", help="leave the namespaces for inspection"),
        cni_bin: Path | None = typer.Option(None, "--cni-bin", metavar="DIR",
                                            help="CNI plugin binaries (default /usr/lib/cni, "
                                            "then /opt/cni/bin)"),
        nad_name: str | None = typer.Option(None, "--nad", metavar="NAME",
                                            help="which NAD, when the file holds several"),
        node_nic: str | None = typer.Option(None, "--node-nic", metavar="IFNAME",
                                            help="name of the training NIC on the lab node "
                                            "(default: the NAD's master/device)"),
        output: OutputFormat = typer.Option(OutputFormat.TABLE, "--output", "-o",
                                            help=OUTPUT_HELP),
        vm: bool = typer.Option(False, "--vm", help="rehearse in a throw-away QEMU VM with "
                                "Debian's kernel: Soft-RoCE GIDs and RDMA transfers, ipvlan, "
                                "vlan, RDMA netns modes"),
        fetch_kernel: bool = typer.Option(False, "--fetch-kernel", help="with --vm: download "
                                          "Debian's kernel into ~/.cache/dualnet/kernels"),
        kernel: Path | None = typer.Option(None, "--kernel", metavar="VMLINUZ",
                                           help="with --vm: boot your own kernel"),
        initrd: Path | None = typer.Option(None, "--initrd", metavar="FILE",
                                           help="with --kernel: your own initramfs"),
        modules: Path | None = typer.Option(None, "--modules", metavar="DIR",
                                            help="with --kernel: DIR/lib/modules/<release>"),
        accel: str = typer.Option("auto", "--accel", metavar="auto|kvm|tcg",
                                  help="with --vm: KVM where it boots, else TCG"),
        netns_mode: str = typer.Option("shared", "--netns-mode", metavar="shared|exclusive",
                                       help="with --vm: the guest's RDMA netns mode"),
    ) -> None:
        """Rehearse a NAD on the real CNI plugins in throw-away network namespaces: attach
        pods (eth0 + net1), ADD and CHECK, check routes, reachability and the master, tear
        down. Exit 0 all passed, 1 a check or the NAD failed, 3 this machine cannot run it."""
        from dualnet.errors import UsageError
        from dualnet.lab.nad import load_nad
        from dualnet.lab.run import annotation, run_lab
        from dualnet.names import check_ifname

        if not vm and (fetch_kernel or kernel or initrd or modules):
            raise UsageError("--fetch-kernel, --kernel, --initrd and --modules need --vm")
        if vm and fetch_kernel:
            from dualnet.lab.vm.kernel import PACKAGES
            from dualnet.lab.vm.kernel import fetch_kernel as fetch

            got = fetch()
            typer.echo(f"kernel {got.release} ({', '.join(PACKAGES)}): {got.vmlinuz}")
            if nad_file is None:
                raise typer.Exit(0)
        if nad_file is None:
            raise UsageError("lab: the NAD file (PATH) is missing",
                             hint="dualnet lab PATH [options]")
        nad = load_nad(nad_file, nad_name)
        if node_nic is not None:
            check_ifname(node_nic, field="--node-nic")
        if vm:
            from dualnet.lab.vm.cli import run_vm_lab

            report = run_vm_lab(nad, pods=pods, node_nic=node_nic, kernel=kernel,
                                initrd=initrd, modules=modules, accel=accel,
                                netns_mode=netns_mode)
        else:
            report = run_lab(nad, pods=pods, cni_bin=cni_bin, keep=keep, node_nic=node_nic)
        if output is OutputFormat.TABLE:
            emit(report, output, lambda: _table(report))
        else:
            data = json.loads(report.model_dump_json())
            for pod, rep in zip(data["pods"], report.pods, strict=True):
                pod["annotation"] = annotation(rep) if rep.network_status else ""
            emit(data, output, lambda: "")
        raise typer.Exit(EXIT[report.verdict])
