"""CLI verbs of the plan layer: `plan`, `render`, `schema`."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from dualnet.cli.output import OUTPUT_HELP, OutputFormat, emit, stderr
from dualnet.errors import UsageError

if TYPE_CHECKING:
    from rich.console import RenderableType

    from dualnet.host.models import HostReport
    from dualnet.plan import Plan

ROOT_HELP = "a node's filesystem root to discover (repeat for more nodes)"
REPORT_HELP = "a node report (dualnet discover --output json) (repeat for more nodes)"
FROM_HELP = ("a folder of saved tool outputs, as doctor --from reads (repeat for more nodes); "
             "its device_plugin_config.yaml lets render --target dra check over-admission")


class RenderTarget(StrEnum):
    """render's TARGETS as choices for --help (tests/cli holds the two lists equal)."""

    PLAIN = "plain"
    NETWORK_OPERATOR = "network-operator"
    DRA = "dra"


def register(app: typer.Typer) -> None:
    """Add this layer's verbs to the dualnet app."""
    app.command("plan")(plan_cmd)
    app.command("render")(render_cmd)
    app.command("schema")(schema_cmd)


def gather_hosts(roots: list[Path], reports: list[Path],
                 from_dirs: list[Path] | None = None) -> list[HostReport]:
    """Host facts from --root trees (discovered now), --report files and --from folders of saved
    tool outputs; `/` when none is given."""
    from dualnet.host.report_file import load_host_report

    hosts = [load_host_report(p, option="--report") for p in reports]
    for folder in from_dirs or []:
        from dualnet.cli.doctor_cmds import load_report

        hosts.append(load_report(None, folder))
    if roots or not (reports or from_dirs):
        from dualnet.cli.discover_cmds import check_root
        from dualnet.host.discover import discover

        for root in roots or [Path("/")]:
            hosts.append(discover(check_root(root)))
    return hosts


def _plan(spec_path: Path, roots: list[Path], reports: list[Path],
          from_dirs: list[Path] | None = None) -> Plan:
    from dualnet.plan import build_plan
    from dualnet.spec import load_spec

    spec = load_spec(spec_path)
    return build_plan(spec, gather_hosts(roots, reports, from_dirs))


def plan_table(plan: Plan) -> RenderableType:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    head = Table(show_header=False, box=None)
    head.add_row("network", plan.name)
    head.add_row("mode", plan.mode.value)
    head.add_row("net1", f"{plan.cni_type}" + (f" on {plan.master}" if plan.master else ""))
    head.add_row("IPAM", plan.spec.spec.ipam.type.value + (
        f" {plan.spec.spec.ipam.subnet}" if plan.spec.spec.ipam.subnet else ""))
    head.add_row("resource", plan.resource_name)
    head.add_row("components", ", ".join(plan.components))
    nics = Table(title="selected NICs")
    for col in ("host", "netdev", "PCI", "id", "driver", "link", "RDMA", "port"):
        nics.add_column(col)
    steps = Table(title="host steps")
    for col in ("host", "step", "why"):
        steps.add_column(col)
    for hp in plan.hosts:
        for n in hp.nics:
            nics.add_row(hp.hostname, n.netdev, n.pci_address, f"{n.vendor_id}:{n.device_id}",
                         n.driver or "?", n.link_layer, n.rdma_device or "-", n.port_state or "?")
        for st in hp.steps:
            steps.add_row(hp.hostname, st.kind, st.why)
    parts: list[RenderableType] = [head, nics, steps]
    for w in plan.warnings:
        parts.append(Text(f"warning [{w.code}]: {w.message}", style="yellow"))
    return Group(*parts)


def plan_cmd(
    spec: Path = typer.Argument(..., help="TrainingNetwork spec (YAML)"),
    root: list[Path] = typer.Option([], "--root", help=ROOT_HELP),
    report: list[Path] = typer.Option([], "--report", help=REPORT_HELP),
    from_dir: list[Path] = typer.Option([], "--from", help=FROM_HELP),
    output: OutputFormat = typer.Option(OutputFormat.TABLE, "--output", "-o",
                                        help=OUTPUT_HELP),
) -> None:
    """Resolve a spec against node facts: selectors, resource name, host steps, warnings."""
    plan = _plan(spec, root, report, from_dir)
    emit(plan, output, lambda: plan_table(plan))


def render_cmd(
    spec: Path = typer.Argument(..., help="TrainingNetwork spec (YAML)"),
    root: list[Path] = typer.Option([], "--root", help=ROOT_HELP),
    report: list[Path] = typer.Option([], "--report", help=REPORT_HELP),
    from_dir: list[Path] = typer.Option([], "--from", help=FROM_HELP),
    out: Path | None = typer.Option(None, "--out", help="write a kustomize directory here"),
    stream: str | None = typer.Option(
        None, "--stream", help="write one YAML stream to this file ('-' = stdout, the default)"
    ),
    target: RenderTarget = typer.Option(RenderTarget.PLAIN, "--target",
                                        help="plain manifests, NVIDIA Network Operator "
                                        "custom resources, or DRA (resource.k8s.io/v1) claims"),
    k8s_version: str = typer.Option("1.34", "--k8s-version",
                                    help="Kubernetes version whose schemas validate the objects"),
    operator_version: str = typer.Option(
        "v26.4", "--network-operator-version",
        help="--target network-operator: the NVIDIA Network Operator release to render for"),
) -> None:
    """Render the plan's Kubernetes objects, validate them, and write them out."""
    from dualnet.render import (
        TARGETS,
        operator_release,
        plan_markdown,
        render,
        render_notes,
        render_warnings,
        validate_objects,
        write_kustomize,
        write_stream,
    )
    from dualnet.render.validate import check_k8s_version
    from dualnet.render.writers import check_out_parent, write_file

    if target.value not in TARGETS:  # the choices above are render's own list
        raise UsageError(f"--target: {target.value!r} is not a render target",
                         hint=f"one of: {', '.join(TARGETS)}")
    if out is not None and stream is not None:
        raise UsageError("--out and --stream: give one of them", hint="--out DIR or --stream FILE")
    check_k8s_version(k8s_version)
    operator_release(operator_version)
    if out is not None:
        check_out_parent(out, "--out")
    elif stream not in (None, "-"):
        check_out_parent(Path(str(stream)), "--stream")
    plan = _plan(spec, root, report, from_dir)
    objects = render(plan, target=target.value,
                     operator_version=operator_version, k8s_version=k8s_version)
    validate_objects(objects, k8s_version=k8s_version, operator_version=operator_version)
    plan = plan.model_copy(update={"warnings": [
        *plan.warnings, *render_warnings(plan, target=target.value)]})
    from rich.markup import escape

    notes = render_notes(plan, target=target.value,
                         operator_version=operator_version)
    for n in notes:
        stderr.print(f"note: {escape(n)}", highlight=False)
    for w in plan.warnings:
        stderr.print(f"[yellow]warning[/] {escape(f'[{w.code}]')}: {escape(w.message)}",
                     highlight=False)
    backups: list[Path] = []
    if out is not None:
        files = write_kustomize(objects, out, backups)
        write_file(out / "PLAN.md", plan_markdown(plan, notes), backups)
        stderr.print(f"{len(objects)} objects validated (Kubernetes {k8s_version}); "
                     f"{len(files)} files in {out}, plan in {out / 'PLAN.md'}", highlight=False)
    elif stream is None or stream == "-":
        write_stream(objects, sys.stdout)
    else:
        write_stream(objects, Path(stream), backups)
        stderr.print(f"{len(objects)} objects validated; written to {stream}", highlight=False)
    for b in backups:
        stderr.print(f"kept the previous version as {b}", highlight=False)


def schema_cmd(
    crd: bool = typer.Option(False, "--crd", help="only spec:, as a CRD openAPIV3Schema"),
) -> None:
    """Print the JSON Schema of the TrainingNetwork spec (for editors and CRDs)."""
    from dualnet.spec import spec_crd_schema, spec_json_schema

    data = spec_crd_schema() if crd else spec_json_schema()
    sys.stdout.write(json.dumps(data, indent=2) + "\n")
