"""The command line: verbs only. Each module registers the verbs of one layer and calls into it;
no logic lives here beyond parsing arguments and printing.

Verbs are listed in `dualnet.cli.verbs.VERBS` and loaded lazily: `dualnet --help` imports no verb
module, `dualnet discover` imports only the discover layer, and `dualnet --version` does not
even import typer (the app, `dualnet.cli.app`, is built on first access).
"""

from __future__ import annotations

import sys

from dualnet.errors import DualnetError

TYPE_CHECKING = False  # not typing's: importing typing is a measurable part of `--version`
if TYPE_CHECKING:
    import typer


def __getattr__(name: str) -> typer.Typer:
    if name == "app":
        from dualnet.cli.root import app

        return app
    raise AttributeError(name)


def main() -> None:
    if sys.argv[1:] in (["--version"], ["version"]):
        # the question scripts and `kubectl plugin list` ask most, answered before typer (and
        # the pydantic it checks every option value with) is imported
        from dualnet import __version__

        sys.stdout.write(f"{__version__}\n")
        return
    if sys.argv[1:] in ([], ["--help"], ["-h"]):
        # printed from the verb table, as the typer app prints it (tests/cli hold them equal)
        from dualnet.cli.verbs import root_help

        sys.stdout.write(root_help())
        sys.exit(0 if sys.argv[1:] else 2)
    # pydantic looks for plugins by scanning every installed package's entry points the first
    # time a model is built (~15 ms of every verb that goes through typer, which builds models
    # for its options; discover and doctor on a node import no pydantic); dualnet uses none. A
    # user's own setting still wins.
    import os

    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from dualnet.cli import plugin_scan

    plugin_scan.install()  # and not even import the scanner while they are off
    from dualnet.cli.fastpath import run_fast
    from dualnet.cli.output import widen_for_pipes

    widen_for_pipes()
    # click (standalone mode) handles usage errors itself (exit 2) and turns Ctrl-C into Abort;
    # everything dualnet raises on purpose is a DualnetError and is printed without a traceback.
    try:
        # discover and doctor with plain arguments run without typer; the rest (and their
        # --help and usage errors) go through the app
        code = run_fast(sys.argv[1:])
        if code is not None:
            sys.exit(code)
        from dualnet.cli.root import app

        app()
    except DualnetError as exc:
        from dualnet.cli.output import print_error

        print_error(exc)
        sys.exit(exc.exit_code)
