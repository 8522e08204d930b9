"""CLI verb of the report layer: `dualnet report`."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from dualnet.cli.output import stdout
from dualnet.cli.plan_cmds import RenderTarget

if TYPE_CHECKING:
    from dualnet.doctor import DoctorResult
    from dualnet.host.models import HostReport
    from dualnet.plan import Plan


def register(app: typer.Typer) -> None:
    """Add this layer's verb to the dualnet app."""
    app.command("report")(report_cmd)


def report_cmd(
    root: Path | None = typer.Option(
        None, "--root", help="read a live sysfs/procfs tree under DIR (default /)"),
    from_dir: Path | None = typer.Option(
        None, "--from", help="read saved tool outputs from DIR (as `dualnet doctor --from`)"),
    spec: Path | None = typer.Option(
        None, "--spec", help="TrainingNetwork spec: adds the plan's pod network picture"),
    bench: list[Path] = typer.Option(
        [], "--bench", help="a `dualnet bench --output json` result (repeat for more runs)"),
    out: Path = typer.Option(Path("report.html"), "--out", help="the HTML file to write"),
    target: RenderTarget = typer.Option(
        RenderTarget.PLAIN, "--target",
        help="draw the pod network as `render --target` deploys it: device plugin resources "
        "(plain, network-operator) or a DRA ResourceClaim (dra)"),
) -> None:
    """Write one self-contained HTML page: topology, pod network, findings, benchmarks.

    The page loads nothing from anywhere (inline SVG and CSS); open it offline or attach it to a
    ticket. An existing different file at --out is kept as <file>.bak.
    """
    from dualnet.cli.doctor_cmds import load_report

    report = load_report(root, from_dir)
    source = f"--from {from_dir}" if from_dir is not None else f"--root {root or '/'}"
    path = write_report(out, report, spec_path=spec, bench_paths=bench, source=source,
                        target=target.value)
    stdout.print(f"report written to [bold]{path}[/]", highlight=False)


def write_report(out: Path, report: HostReport, *, spec_path: Path | None = None,
                 bench_paths: list[Path] | None = None, source: str = "",
                 doctor: DoctorResult | None = None, plan: Plan | None = None,
                 stamp: bool = True, target: str = "plain") -> Path:
    """Write the page for `report` at `out` (an existing different file is kept as .bak);
    `sample` passes the verdict and plan it already has, and no time stamp: the same sample
    gives the same bytes, so a rerun leaves no backup behind."""
    from dualnet.render.writers import write_file
    from dualnet.report import report_html
    from dualnet.report.inputs import gather
    from dualnet.spec import load_spec

    spec = load_spec(spec_path) if spec_path is not None else None
    made = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC") if stamp else ""
    inputs = gather(report, spec=spec, bench_paths=bench_paths, doctor=doctor, plan=plan,
                    generated=made, source=source, target=target)
    return write_file(out, report_html(inputs))
