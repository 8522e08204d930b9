"""CLI verbs of the doctor layer: `dualnet doctor`.

typer is imported only in `register`: `dualnet doctor` with plain arguments runs
`run_doctor_verb` without it (dualnet.cli.fastpath)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dualnet.cli.discover_cmds import check_root
from dualnet.cli.options import DOCTOR
from dualnet.cli.output import OutputFormat, emit
from dualnet.doctor import (
    DoctorOptions,
    DoctorResult,
    Finding,
    Severity,
    doctor_result,
    exit_code_for,
    sort_findings,
    worst_severity,
)
from dualnet.errors import UsageError
from dualnet.modes import Mode

if TYPE_CHECKING:
    import typer
    from rich.console import Console, ConsoleOptions, RenderableType
    from rich.table import Table
    from rich.text import Text

    from dualnet.host.models import HostReport

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def load_report(root: Path | None, from_dir: Path | None, *, strict: bool = False) -> HostReport:
    """The node's facts: a live tree (`--root`, default `/`) or saved tool outputs (`--from`)."""
    if root is not None and from_dir is not None:
        raise UsageError(
            "--root and --from cannot be used together",
            hint="--root DIR reads a live sysfs/procfs tree; --from DIR reads saved tool "
            "outputs (lsmod.txt, ibv_devinfo.txt, ...). Give one.",
        )
    if from_dir is not None:
        if not from_dir.is_dir():
            raise UsageError(
                f"--from {from_dir}: not a directory",
                hint="give a folder of saved outputs named like lsmod.txt, rdma_link.txt",
            )
        from dualnet.parse.from_dir import report_from_dir

        return report_from_dir(from_dir, strict=strict)
    from dualnet.host.discover import discover

    # the same check as discover and plan: a folder without sys/ or proc/ is a wrong path, not
    # a node without RDMA
    return discover(check_root(root if root is not None else Path("/")))


def run_doctor(report: HostReport, opts: DoctorOptions) -> DoctorResult:
    return doctor_result(report, opts)


def _fix_cell(f: Finding) -> Text:
    from rich.text import Text

    text = Text("\n".join(f.fix))
    if f.persist:
        # The first way to make it stick; the others are in --output json.
        more = f" (+{len(f.persist) - 1} more in --output json)" if len(f.persist) > 1 else ""
        text.append(f"\npersist: {f.persist[0]}{more}", style="dim")
    return text


# Below this width a five-column table leaves the fix column too narrow to read; findings are
# then printed one block each.
TABLE_MIN_WIDTH = 120


def _summary(result: DoctorResult) -> str:
    where = result.hostname or "node"
    counts = {s: sum(1 for f in result.findings if f.severity is s) for s in Severity}
    how = ", ".join(x for x in (result.source, f"mode {result.mode}" if result.mode else "") if x)
    return (
        f"dualnet doctor: {where}{f' ({how})' if how else ''} - {counts[Severity.ERROR]} error(s), "
        f"{counts[Severity.WARNING]} warning(s), {counts[Severity.INFO]} info"
    )


class FindingsView:
    """The findings as a table (severity, id, subject, what, fix) on a wide console, or one
    block per finding on a narrow one; chosen when rich renders it, from the real width."""

    def __init__(self, result: DoctorResult) -> None:
        self.result = result

    def __rich_console__(
        self, console: Console, options: ConsoleOptions
    ) -> Iterator[RenderableType]:
        from rich.text import Text

        if not self.result.findings:
            yield Text(f"doctor: {self.result.hostname or 'node'}: no findings")
        elif options.max_width < TABLE_MIN_WIDTH:
            yield _findings_blocks(self.result)
        else:
            yield _findings_table(self.result)


def findings_table(result: DoctorResult | Sequence[Finding]) -> RenderableType:
    """The renderable `dualnet doctor` prints; a bare list of findings is accepted too."""
    if not isinstance(result, DoctorResult):
        findings = sort_findings(result)
        result = DoctorResult(
            source="",
            worst=worst_severity(findings),
            exit_code=exit_code_for(findings),
            findings=findings,
        )
    return FindingsView(result)


def _findings_table(result: DoctorResult) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=_summary(result), show_lines=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("id", no_wrap=True)
    table.add_column("subject", no_wrap=True)
    table.add_column("what", ratio=2)
    # fold, never ellipsize: a fix is a command to copy, so every character must be shown.
    table.add_column("fix", ratio=3, overflow="fold")
    for f in result.findings:
        table.add_row(
            Text(str(f.severity), style=_STYLE[f.severity]),
            f.id,
            f.subject,
            Text(f.title),
            _fix_cell(f),
        )
    return table


def _findings_blocks(result: DoctorResult) -> RenderableType:
    from rich.console import Group
    from rich.text import Text

    parts: list[RenderableType] = [Text(_summary(result), style="bold")]
    for f in result.findings:
        head = Text()
        head.append(f"{f.severity.upper():<8}", style=_STYLE[f.severity])
        head.append(f" {f.id}  ")
        head.append(f.subject, style="bold")
        parts.append(Text(""))
        parts.append(head)
        parts.append(Text(f"  {f.title}"))
        for i, cmd in enumerate(f.fix):
            parts.append(Text(("  fix: " if i == 0 else "       ") + cmd))
        if f.persist:
            more = f" (+{len(f.persist) - 1} more in --output json)" if len(f.persist) > 1 else ""
            parts.append(Text(f"  persist: {f.persist[0]}{more}", style="dim"))
    return Group(*parts)


def register(app: typer.Typer) -> None:
    """Add this layer's verbs to the dualnet app."""
    import typer

    o_root, o_from, o_mode, o_rdma_cni, o_dpdk, o_vfs, o_strict, o_ovs, o_dra, o_output = DOCTOR

    @app.command("doctor")
    def doctor(
        root: Path | None = o_root.option(),
        from_dir: Path | None = o_from.option(),
        mode: Mode | None = o_mode.option(),
        rdma_cni: bool = o_rdma_cni.option(),
        dpdk: bool = o_dpdk.option(),
        vfs: int | None = o_vfs.option(min=1),
        strict: bool = o_strict.option(),
        ovs_offload: bool = o_ovs.option(),
        dra: bool = o_dra.option(),
        output: OutputFormat = o_output.option(),
    ) -> None:
        """Diagnose a node: each finding has evidence, why it matters, and the exact fix.

        Exit status: 0 nothing above info, 1 warnings, 4 errors (2 usage errors).
        """
        raise typer.Exit(run_doctor_verb(
            root=root, from_dir=from_dir, mode=mode, rdma_cni=rdma_cni, dpdk=dpdk, vfs=vfs,
            strict=strict, ovs_offload=ovs_offload, dra=dra, output=output))


def run_doctor_verb(
    *, root: Path | None, from_dir: Path | None, mode: Mode | None, rdma_cni: bool, dpdk: bool,
    vfs: int | None, strict: bool, ovs_offload: bool, dra: bool, output: OutputFormat,
) -> int:
    """`dualnet doctor`, after its arguments are parsed (by typer or the fast path): prints the
    findings and returns the exit status."""
    report = load_report(root, from_dir, strict=strict)
    opts = DoctorOptions(mode=mode, rdma_cni=rdma_cni, dpdk=dpdk, vfs=vfs,
                         ovs_offload=ovs_offload, dra=dra)
    result = run_doctor(report, opts)
    emit(result, output, lambda: findings_table(result))
    return result.exit_code
