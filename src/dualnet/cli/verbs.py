"""The verbs of `dualnet`, as a table: name, the module that defines it, and the line
`dualnet --help` prints for it.

This is the one place a verb is listed. `dualnet --help` is printed from this table alone, and a
verb's module is imported only when that verb runs, so a command pays only for its own imports
(see benchmarks/bench_cli.py). To add a verb, write `dualnet/cli/<layer>_cmds.py` with a
`register(app)` that adds it, and append one line here; tests/cli/test_cli_verbs.py checks that
every line resolves to a command and that no module registers a verb this table does not list.
"""

from __future__ import annotations

import textwrap

from dualnet.errors import EXIT_CODES


class Verb:
    """One line of the table (a plain class: `typing` is not free at start-up)."""

    __slots__ = ("module", "name", "summary")

    def __init__(self, name: str, module: str, summary: str) -> None:
        self.name = name
        self.module = module  # dualnet.cli.<module>, whose register(app) adds the verb
        self.summary = summary  # one line for `dualnet --help`; its own --help says the rest

    def __repr__(self) -> str:
        return f"Verb({self.name!r}, {self.module!r})"


VERBS: tuple[Verb, ...] = (
    Verb("sample", "sample_cmds", "Run discover, doctor, plan and render on a bundled sample "
         "node."),
    Verb("discover", "discover_cmds", "Report a node's NICs, RDMA devices, GPUs, topology, "
         "modules and CNI, read from sysfs."),
    Verb("show-gids", "discover_cmds", "GID tables in the layout of MOFED's show_gids."),
    Verb("ibdev2netdev", "discover_cmds", "RDMA device -> netdev map in the layout of "
         "ibdev2netdev."),
    Verb("topo", "discover_cmds", "GPU/NIC PCI relation matrix in the layout of "
         "`nvidia-smi topo -m`."),
    Verb("doctor", "doctor_cmds", "Diagnose a node: findings with evidence and the exact fix."),
    Verb("parse", "parse_cmds", "Show what dualnet reads from one saved tool output, and "
         "every line it skipped."),
    Verb("plan", "plan_cmds", "Resolve a spec against node facts: selectors, resource name, "
         "host steps, warnings."),
    Verb("render", "plan_cmds", "Render the plan's Kubernetes objects, validate them, write "
         "them out."),
    Verb("schema", "plan_cmds", "Print the JSON Schema of the TrainingNetwork spec."),
    Verb("lab", "lab_cmds", "Rehearse a NAD on the real CNI plugins in throw-away network "
         "namespaces."),
    Verb("apply", "cluster_cmds", "Server-side apply rendered objects and wait until the "
         "network is usable."),
    Verb("verify", "cluster_cmds", "The guide's step-7 checks on live pods: pass/fail with "
         "evidence."),
    Verb("bench", "cluster_cmds", "ib_write_bw between two pods, NCCL all_reduce_perf across "
         "nodes, vs line rate."),
    Verb("nccl-env", "cluster_cmds", "The NCCL_* settings a training pod on this node needs."),
    Verb("prepare", "prepare_cmds", "Carry out a plan's host steps on this node: check, act, "
         "verify."),
    Verb("operator", "operator_cmds", "The cluster side: operator, node agent, CRDs, per-node "
         "readiness."),
    Verb("agent", "operator_cmds", "The node agent (same as `dualnet operator agent`)."),
    Verb("report", "report_cmds", "One self-contained HTML page: topology, pod network, "
         "findings, benchmarks."),
    Verb("version", "version_cmds", "Print dualnet's version."),
)


ABOUT = ("Give Kubernetes pods on GPU nodes a second, RDMA-capable training network, and prove "
         "that it works.")
ROOT_OPTIONS = (("--version", "Print dualnet's version and exit."),
                ("-h, --help", "Show this message and exit."))


def _rows(rows: tuple[tuple[str, str], ...], width: int) -> list[str]:
    first = max(len(name) for name, _ in rows)
    out: list[str] = []
    for name, text in rows:
        lines = textwrap.wrap(text, max(20, width - first - 4)) or [""]
        out.append(f"  {name:<{first}}  {lines[0]}")
        out.extend(f"  {'':<{first}}  {line}" for line in lines[1:])
    return out


def root_help(width: int = 80) -> str:
    """`dualnet --help`: from this table alone, without typer (which costs most of a start);
    the typer app prints the same text (dualnet.cli.help.LazyVerbGroup.format_help)."""
    lines = ["Usage: dualnet [OPTIONS] COMMAND [ARGS]...", ""]
    lines += textwrap.wrap(ABOUT, width - 2, initial_indent="  ", subsequent_indent="  ")
    lines += ["", "  Exit status (every verb):", ""]
    lines += [f"    {int(code)}  {what}" for code, what in EXIT_CODES.items()]
    lines += ["", "Options:", *_rows(ROOT_OPTIONS, width), "", "Commands:"]
    lines += _rows(tuple((v.name, v.summary) for v in VERBS), width)
    return "\n".join(lines) + "\n"
