"""A verb imports what it uses and nothing more: `--help` of every verb, `version`, and the
JSON output of discover/doctor start without the API client (lightkube, kopf), the schema
validators (kubernetes_validate, jsonschema) or rich, and discover and doctor on a node without
pydantic (the node model and the findings are plain dataclasses; pydantic checks them only where
a report file is read). Those imports are most of a cold start (issue 14;
benchmarks/bench_cli.py measures it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dualnet.cli.verbs import VERBS

HEAVY = {"lightkube", "kopf", "kubernetes_validate", "jsonschema", "rich", "httpx2", "kmock"}

PROBE = """
import json, sys
sys.argv = ["dualnet", *json.loads(sys.argv[1])]
from dualnet.cli import main
try:
    main()
except SystemExit:
    pass
# a module without a spec was never imported: dualnet.cli.plugin_scan's stand-in for pydantic's
# plugin loader (and -c's __main__)
names = {m.split(".")[0] for m, mod in list(sys.modules.items())
         if getattr(mod, "__spec__", None) is not None}
sys.__stderr__.write("\\nMODULES " + json.dumps(sorted(names)) + "\\n")
"""


def loaded(*args: str) -> set[str]:
    r = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True,
                       text=True, timeout=120)
    line = [ln for ln in r.stderr.splitlines() if ln.startswith("MODULES ")]
    assert line, r.stderr
    return set(json.loads(line[-1].removeprefix("MODULES ")))


@pytest.fixture(scope="module")
def gh200(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from dualnet.host.samples import build_sample

    return build_sample("gh200", tmp_path_factory.mktemp("imports") / "gh200")


@pytest.mark.parametrize("verb", [v.name for v in VERBS])
def test_help_of_a_verb_imports_nothing_heavy(verb: str) -> None:
    assert loaded(verb, "--help") & HEAVY == set()


def test_root_help_and_version_import_no_layer() -> None:
    for args in (("--help",), ("version",), ("--version",)):
        mods = loaded(*args)
        assert mods & (HEAVY | {"pydantic", "yaml"}) == set(), args


def test_discover_and_doctor_json_need_neither_rich_nor_the_api(gh200: Path) -> None:
    assert loaded("discover", "--root", str(gh200), "-o", "json") & HEAVY == set()
    assert loaded("doctor", "--root", str(gh200), "-o", "json") & HEAVY == set()
    assert loaded("nccl-env", "--root", str(gh200), "-o", "env") & HEAVY == set()


def test_discover_and_doctor_on_a_node_run_without_pydantic(gh200: Path) -> None:
    # importing pydantic alone took longer than all the rest of `discover -o json`
    for verb in ("discover", "doctor"):
        for out in (("-o", "json"), ("-o", "yaml"), ()):
            assert "pydantic" not in loaded(verb, "--root", str(gh200), *out), (verb, out)
    # where a report file is read, pydantic checks it: the test can tell the two apart
    report = gh200.parent / "gh200.json"
    report.write_text(subprocess.run(
        [sys.executable, "-c", "from dualnet.cli import main; main()", "discover", "--root",
         str(gh200), "-o", "json"], capture_output=True, text=True, check=True).stdout)
    spec = Path(__file__).resolve().parents[2] / "examples" / "gh200-shared-roce.yaml"
    assert "pydantic" in loaded("plan", str(spec), "--report", str(report), "-o", "json")


def test_discover_and_doctor_run_without_typer(gh200: Path) -> None:
    # plain arguments take dualnet.cli.fastpath: typer, its vendored click and the pydantic
    # adapters it builds per option were a fifth of discover's start
    for verb in ("discover", "doctor"):
        assert "typer" not in loaded(verb, "--root", str(gh200), "-o", "json"), verb
        assert "typer" not in loaded(verb, "--root", str(gh200)), verb
    assert "typer" in loaded("discover", "--root", str(gh200), "-o", "xml")  # typer says why


def test_a_table_uses_rich_but_not_the_api(gh200: Path) -> None:
    mods = loaded("discover", "--root", str(gh200))
    assert "rich" in mods and mods & {"lightkube", "kopf", "kubernetes_validate"} == set()
