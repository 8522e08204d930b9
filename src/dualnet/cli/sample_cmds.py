"""`dualnet sample`: the whole path on the bundled GH200 node, no cluster and no RDMA hardware.

It builds the guide's GH200 as a sysfs/procfs tree, then runs the same verbs a user runs on a real
node: discover, doctor, plan, render. Everything it writes goes under `--out`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from dualnet.cli.output import stdout

if TYPE_CHECKING:
    from dualnet.doctor import DoctorResult
    from dualnet.host.models import HostReport
    from dualnet.plan import Plan


def register(app: typer.Typer) -> None:
    app.command("sample")(sample)


def sample(
    out: Path = typer.Option(
        Path("dualnet-sample"), "--out", help="where the rendered manifests and the plan go"
    ),
    node: str = typer.Option("gh200", "--node", help="bundled sample node to use"),
) -> None:
    """Run discover, doctor, plan and render on a bundled sample node (the GH200 of the guide).

    Nodes with a bundled spec (gh200, dgx_h100_ib, roce_sriov) go the whole way; the others stop
    after the doctor, as a user should on a node that cannot carry RDMA yet."""
    from dualnet.cli.discover_cmds import discover_table
    from dualnet.cli.doctor_cmds import findings_table
    from dualnet.doctor import doctor_result
    from dualnet.doctor.findings import Severity
    from dualnet.errors import UsageError
    from dualnet.host.discover import discover
    from dualnet.host.samples import SAMPLES, build_sample
    from dualnet.modes import Mode
    from dualnet.plan import build_plan
    from dualnet.render import plan_markdown, render, validate_objects, write_kustomize
    from dualnet.render.writers import check_out_parent, write_file
    from dualnet.report.inputs import doctor_options
    from dualnet.spec import load_spec

    if node not in SAMPLES:
        raise UsageError(f"--node: unknown sample {node!r}", hint=f"one of: {', '.join(SAMPLES)}")
    check_out_parent(out, "--out")
    spec_path = _example_for(node)
    with tempfile.TemporaryDirectory(prefix="dualnet-sample-") as tmp:
        root = build_sample(node, Path(tmp) / node)
        report = discover(root)
        stdout.rule(f"[bold]1. discover[/]  (sample node {node!r}, tree at a temp dir)")
        stdout.print(discover_table(report))

        spec = load_spec(spec_path) if spec_path.is_file() else None
        mode = Mode(spec.spec.mode) if spec is not None else None
        stdout.rule(f"[bold]2. doctor[/]  (mode {mode.value if mode else 'none chosen'})")
        verdict = doctor_result(report, doctor_options(spec))
        stdout.print(findings_table(verdict))
        # CNI findings (no Multus, missing plugins) are what the rendered components install;
        # any other error means the node cannot carry RDMA yet.
        blocking = [f for f in verdict.findings
                    if f.severity is Severity.ERROR and not f.id.startswith("cni.")]
        if spec is None or blocking:
            # What a user should do on such a node too: no plan until the node can carry RDMA.
            why = (
                "the doctor found errors on this node that a rollout cannot fix; fix them "
                "first (the commands are above)"
                if blocking
                else "this node has no bundled spec (gh200, dgx_h100_ib and roce_sriov have one)"
            )
            stdout.print(f"plan and render skipped: {why}", highlight=False)
            _report(out, report, verdict, None, node)
            return

        stdout.rule(f"[bold]3. plan[/]  ({spec_path.name})")
        plan = build_plan(spec, [report])
        stdout.print(plan_markdown(plan), markup=False, highlight=False)

        stdout.rule("[bold]4. render[/]")
        objects = render(plan)
        validate_objects(objects)
        out.mkdir(exist_ok=True)
        backups: list[Path] = []
        written = write_kustomize(objects, out / "manifests", backups)
        write_file(out / "PLAN.md", plan_markdown(plan), backups)  # a changed one is backed up
        for b in backups:
            stdout.print(f"kept the previous version as {b}", highlight=False)
        stdout.print(
            f"{len(objects)} objects validated and written to [bold]{out / 'manifests'}[/] "
            f"({len(written)} files, kustomize); plan in [bold]{out / 'PLAN.md'}[/]"
        )
        stdout.print(
            "next: [bold]dualnet lab "
            f"{out / 'manifests'}[/] rehearses the NetworkAttachmentDefinition on real CNI plugins"
            " (root)."
        )
        _report(out, report, verdict, plan, node)


def _report(out: Path, report: HostReport, verdict: DoctorResult, plan: Plan | None,
            node: str) -> None:
    from dualnet.cli.report_cmds import write_report

    path = write_report(out / "report.html", report, doctor=verdict, plan=plan,
                        source=f"sample node {node}", stamp=False)
    stdout.print(f"report (topology, pod network, findings) in [bold]{path}[/]")


def _example_for(node: str) -> Path:
    from importlib.resources import files

    return Path(str(files("dualnet") / "data" / "examples" / f"{node}.yaml"))
