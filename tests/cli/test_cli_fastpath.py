"""`discover` and `doctor` with plain arguments run without typer (dualnet.cli.fastpath); the two
parsers must agree on every command line the fast one takes, and the fast one must hand every
other command line to typer, so help, usage errors and exit codes stay typer's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dualnet.cli.fastpath import FastVerb, parse
from dualnet.cli.help import load_module_verbs
from dualnet.cli.options import FAST_VERBS

VERBS = {v.name: v for v in FAST_VERBS}
MODULES = {"discover": "discover_cmds", "doctor": "doctor_cmds"}


@pytest.mark.parametrize("verb", FAST_VERBS, ids=lambda v: v.name)
def test_the_table_is_the_typer_commands_options(verb: FastVerb) -> None:
    command = load_module_verbs(MODULES[verb.name])[verb.name]
    typer_opts = {p.name: (tuple(p.opts), p.is_flag, p.default)  # type: ignore[attr-defined]
                  for p in command.params if p.name != "help"}
    table = {o.name: (o.flags, o.read is None, o.default) for o in verb.opts}
    assert typer_opts == table


def typer_kwargs(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> dict[str, Any]:
    """The keyword arguments typer's command hands to the verb function for argv."""
    from dualnet.cli import app

    verb = VERBS[argv[0]]
    module_name, func = verb.target.split(":")
    seen: dict[str, Any] = {}

    def fake(**kwargs: Any) -> int:
        seen.update(kwargs)
        return 0

    module = __import__(f"dualnet.cli.{module_name}", fromlist=[func])
    monkeypatch.setattr(module, func, fake)
    r = CliRunner().invoke(app, argv)
    assert r.exit_code == 0, r.output
    return seen


PLAIN = [
    ["discover"],
    ["discover", "--root", "/tmp/x"],
    ["discover", "--root=/tmp/x", "-o", "json"],
    ["discover", "-o", "yaml", "--root", "relative/dir"],
    ["discover", "--output=table"],
    ["doctor"],
    ["doctor", "--root", "/r", "-o", "json"],
    ["doctor", "--from", "saved", "--strict", "--mode", "sriov", "--vfs", "8"],
    ["doctor", "--rdma-cni", "--dpdk", "--ovs-offload", "--dra", "--mode=ib-sriov"],
    ["doctor", "--vfs=12", "--output", "yaml", "--root", "a b"],
]


@pytest.mark.parametrize("argv", PLAIN, ids=" ".join)
def test_both_parsers_give_the_verb_the_same_arguments(
    monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    fast = parse(argv[1:], VERBS[argv[0]].opts)
    assert fast is not None, "the fast path should take this command line"
    assert fast == typer_kwargs(monkeypatch, argv)


NOT_PLAIN = [
    ["discover", "--help"],
    ["discover", "-h"],
    ["discover", "--root"],
    ["discover", "--root", ""],
    ["discover", "--root", "-o"],
    ["discover", "-o", "xml"],
    ["discover", "-ojson"],
    ["discover", "-o", "json", "-o", "yaml"],
    ["discover", "--roo", "/x"],
    ["discover", "extra"],
    ["discover", "--", "--root", "/x"],
    ["doctor", "--vfs", "0"],
    ["doctor", "--vfs", "+3"],
    ["doctor", "--vfs", "007"],
    ["doctor", "--mode", "SRIOV"],
    ["doctor", "--dpdk=true"],
    ["doctor", "--no-dpdk"],
    ["doctor", "--dpdk", "--dpdk"],
]


@pytest.mark.parametrize("argv", NOT_PLAIN, ids=" ".join)
def test_anything_else_goes_to_typer(argv: list[str]) -> None:
    assert parse(argv[1:], VERBS[argv[0]].opts) is None


def _dualnet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from dualnet.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=120)


def test_a_bad_value_is_typers_usage_error(tmp_path: Path) -> None:
    r = _dualnet("discover", "--root", str(tmp_path), "-o", "xml")
    assert r.returncode == 2
    assert "discover [OPTIONS]" in r.stderr and "'xml'" in r.stderr
    assert "Traceback" not in r.stderr


def test_errors_and_exit_status_of_the_fast_path(tmp_path: Path, gh200_root: Path) -> None:
    missing = _dualnet("discover", "--root", str(tmp_path / "nope"), "-o", "json")
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr
    doctor = _dualnet("doctor", "--root", str(gh200_root), "-o", "json")
    typer_doctor = _dualnet("doctor", "--root", str(gh200_root), "-o", "json", "-o", "json")
    assert (doctor.returncode, doctor.stdout) == (typer_doctor.returncode, typer_doctor.stdout)
    assert doctor.returncode == 1  # the sample's warnings


def test_a_closed_pipe_ends_quietly(gh200_root: Path) -> None:
    # `dualnet discover -o json | head -0`: the reader is gone before the first write; no
    # traceback, status 1, as click's standalone mode does it
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from dualnet.cli import main; main()", "discover", "--root",
         str(gh200_root), "-o", "json"],
        stdout=write_end, stderr=subprocess.PIPE)
    os.close(read_end)  # long before the child has imported enough to write
    os.close(write_end)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert b"Traceback" not in err and b"Exception ignored" not in err


@pytest.fixture(scope="module")
def gh200_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from dualnet.host.samples import build_sample

    return build_sample("gh200", tmp_path_factory.mktemp("fastpath") / "gh200")


@pytest.fixture(scope="module")
def sample_roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from dualnet.host.samples import SAMPLES, build_sample

    base = tmp_path_factory.mktemp("fastpath-samples")
    return {name: build_sample(name, base / name) for name in SAMPLES}


@pytest.mark.parametrize("verb", ["discover", "doctor"])
@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_every_sample_prints_the_same_either_way(
    capsys: pytest.CaptureFixture[str], sample_roots: dict[str, Path], verb: str, fmt: str
) -> None:
    from dualnet.cli import app
    from tests.helpers import run_cli

    for name, root in sample_roots.items():
        fast = run_cli(capsys, verb, "--root", str(root), "-o", fmt)
        # the same command line, parsed by typer (the app itself)
        r = CliRunner().invoke(app, [verb, "--root", str(root), "-o", fmt])
        assert (fast[0], fast[1]) == (r.exit_code, r.stdout), name
