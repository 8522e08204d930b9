"""CLI verbs of the prepare layer: `dualnet prepare`."""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from dualnet.cli.output import OUTPUT_HELP, OutputFormat, emit
from dualnet.errors import HostError, UsageError

if TYPE_CHECKING:
    from dualnet.host.models import HostReport


def _facts(root: Path, facts_file: Path | None, netns: str | None) -> HostReport | None:
    """The host facts that say which interface is the management one. Discovery failing is not
    silently ignored: without it the safety checks would lose the management interface."""
    if facts_file is not None:
        from dualnet.host.report_file import load_host_report

        return load_host_report(facts_file, option="--facts")
    if netns is not None:
        # Discovery reads the root namespace; the links being changed live in `netns`, whose own
        # default routes say what to protect.
        return None
    from dualnet.host.models import HostReport

    try:
        mod = importlib.import_module("dualnet.host.discover")
        report = mod.discover(root)
    except Exception as exc:  # any failure: fail closed, saying why (see _require_protect)
        raise _DiscoveryFailedError(f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(report, HostReport):
        raise _DiscoveryFailedError(f"it returned {type(report).__name__}, not a host report")
    return report


class _DiscoveryFailedError(Exception):
    """Discovery of this node failed, so the management interface is unknown."""


def _discovery_failed_refusal(why: str) -> HostError:
    return HostError(
        f"discovery of this node failed ({why}), so prepare does not know which interface is "
        "the management one and will not change the host",
        hint="name it with --protect IFACE (the interface holding the node IP), or give the "
        "facts with --facts FILE from `dualnet discover --output json`; --dry-run still shows "
        "the steps")


def register(app: typer.Typer) -> None:
    """Add this layer's verbs to the dualnet app."""

    @app.command("prepare")
    def prepare_cmd(
        plan: Path | None = typer.Option(None, "--plan", help="PLAN.yaml from `dualnet plan "
                                         "--output yaml` (its host_steps)"),
        steps: Path | None = typer.Option(None, "--steps", help="STEPS.yaml: a list of steps"),
        root: Path = typer.Option(Path("/"), "--root", help="filesystem root for files/sysfs"),
        dry_run: bool = typer.Option(False, "--dry-run",
                                     help="print the commands and file writes, change nothing"),
        output: OutputFormat = typer.Option(OutputFormat.TABLE, "--output", "-o",
                                        help=OUTPUT_HELP),
        host: str | None = typer.Option(None, "--host", help="which host of the plan (default: "
                                        "this node's hostname)"),
        netns: str | None = typer.Option(None, "--netns",
                                         help="run link commands as `ip -n NETNS`"),
        protect: list[str] = typer.Option([], "--protect",
                                          help="another interface no step may touch"),
        facts_file: Path | None = typer.Option(None, "--facts", help="host report (JSON/YAML "
                                               "from `dualnet discover`); default: discover"),
        no_rollback: bool = typer.Option(False, "--no-rollback", help="on failure, print what "
                                         "was done and how to undo it instead of undoing it"),
    ) -> None:
        """Carry out the plan's host steps on this node: check -> act -> verify, idempotent."""
        from dualnet.prepare import Host, load_source, prepare, render_report

        if (plan is None) == (steps is None):
            raise UsageError("give exactly one of --plan PLAN.yaml or --steps STEPS.yaml")
        if not dry_run and os.geteuid() != 0:
            raise HostError("dualnet prepare changes the node and needs root",
                            hint="run it with sudo, or use --dry-run to see what it would do")
        if not root.is_dir():
            raise UsageError(f"--root: {root} is not a directory")
        source = plan if plan is not None else steps
        assert source is not None
        loaded = load_source(source, plan=plan is not None, host_name=host, root=root)
        # With --netns the plan's management interface names a root-netns link: not ours to use.
        plan_protect = () if netns is not None else loaded.protect
        try:
            facts = _facts(root, facts_file, netns)
        except _DiscoveryFailedError as exc:
            # Fail closed: host-changing steps need the user to name the management interface.
            if not protect and not dry_run:
                raise _discovery_failed_refusal(str(exc)) from None
            typer.echo(f"warning: discovery of this node failed ({exc}); protecting only "
                       f"{', '.join(protect) or 'nothing (dry run)'} and the routing table's "
                       "default-route interfaces", err=True)
            facts = None
        if not dry_run and root.resolve() != Path("/"):
            # Files go under --root, but commands act on this machine: their checks would read
            # the tree while they change the live host (whose default-route interface the tree
            # does not know). Only `ip -n NETNS` link commands are aimed elsewhere.
            probe = Host(root, netns=netns, dry_run=True)
            prepare(loaded.steps, probe, facts, rollback=not no_rollback,
                    protect=(*protect, *plan_protect))
            live = [a.render() for a in probe.journal
                    if a.op == "run" and not (netns and (a.argv or [])[:3] == ["ip", "-n", netns])]
            if live:
                raise UsageError(
                    f"--root {root}: these steps would run commands on this machine while "
                    f"their checks read {root}: {'; '.join(live[:3])}"
                    + (f" (+{len(live) - 3} more)" if len(live) > 3 else ""),
                    hint="run on the node with --root / ; use --dry-run to see the commands; "
                         "aim link commands at a test namespace with --netns")
        h = Host(root, netns=netns, dry_run=dry_run)
        report = prepare(loaded.steps, h, facts,
                         rollback=not no_rollback, protect=(*protect, *plan_protect))
        if output is OutputFormat.JSON:
            typer.echo(json.dumps(report.model_dump(mode="json"), indent=2))
        else:
            emit(report, output, lambda: render_report(report))
        if report.refused:
            raise typer.Exit(2)
        if report.failed:
            raise typer.Exit(1)
