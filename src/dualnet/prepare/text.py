"""Plain-text forms of a prepare report: the dry-run script and the human summary."""

from __future__ import annotations

from dualnet.prepare.outcome import PrepareReport, StepOutcome, StepStatus


def _head(s: StepOutcome) -> str:
    return f"# [{s.index + 1}] {s.title}: {s.status.value}" + (f" ({s.message})" if s.message
                                                               else "")


def render_dry_run(report: PrepareReport) -> str:
    """Every command and file write that a real run would make, in order, under one comment
    line per step; commands printed for the user (k3s) stay comments: they are never run."""
    lines = [f"# dualnet prepare --dry-run: {len(report.steps)} steps, root {report.root}"
             + (f", netns {report.netns}" if report.netns else "")]
    for s in report.steps:
        lines.append(_head(s))
        lines.extend(a.render() for a in s.commands)
        lines.extend(f"#   print: {p}" for p in s.printed)
        lines.extend(f"#   note: {n}" for n in s.notes)
        if s.hint:
            lines.append(f"#   hint: {s.hint}")
    return "\n".join(lines) + "\n"


_FLAGS = (("checked", "check"), ("acted", "act"), ("verified", "verify"))


def render_report(report: PrepareReport) -> str:
    if report.dry_run:
        return render_dry_run(report)
    out: list[str] = []
    for s in report.steps:
        did = "+".join(label for attr, label in _FLAGS if getattr(s, attr)) or "-"
        out.append(f"[{s.index + 1}] {s.status.value:<12} {s.title}  ({did})"
                   + (f": {s.message}" if s.message and s.status is not StepStatus.FAILED
                      else ""))
        for a in s.commands:
            text = a.render().replace("\n", "\n           ")
            out.append(f"      {'ran' if a.phase == 'act' else 'undo'}: {text}")
        for n in s.notes:
            out.append(f"      note: {n}")
        for p in s.printed:
            out.append(f"      run yourself: {p}")
        if s.error:
            out.append(f"      error: {s.error}")
        if s.hint:
            out.append(f"      hint: {s.hint}")
    if report.refused:
        out.append("refused: nothing was changed")
    elif report.failed:
        if report.rolled_back:
            out.append("failed: everything this run changed was rolled back (in reverse order)")
        elif report.manual_undo:
            if report.rollback_errors:
                out.append("failed, and the rollback stopped: " + "; ".join(report.rollback_errors))
            out.append("done so far:")
            out.extend(f"  {a.render()}" for a in report.journal if a.phase == "act" and a.ok)
            out.append("to undo, run in this order:")
            out.extend(f"  {u}" for u in report.manual_undo)
        else:
            out.append("failed before changing anything")
    elif report.changed:
        out.append("done: the node is prepared")
    else:
        out.append("nothing to do: the node was prepared already (no change)")
    return "\n".join(out) + "\n"
