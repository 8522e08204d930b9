"""dualnet.cli.plugin_scan: the CLI skips importing pydantic's plugin scanner while plugins are
off, and changes nothing else (each case in a fresh interpreter: it is about sys.modules)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def probe(code: str, disable: str | None, *, install: bool = True) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    if disable is not None:
        env["PYDANTIC_DISABLE_PLUGINS"] = disable
    head = "import json, sys\nfrom dualnet.cli import plugin_scan\n"
    if install:
        head += "plugin_scan.install()\n"
    r = subprocess.run([sys.executable, "-c", head + code], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    out: dict[str, object] = json.loads(r.stdout.strip().splitlines()[-1])
    return out


BUILD = """
from pydantic import BaseModel
class M(BaseModel):
    x: int
assert M(x=1).x == 1
from pydantic.plugin._loader import get_plugins
print(json.dumps({"metadata": "importlib.metadata" in sys.modules,
                  "standin": type(sys.modules["pydantic.plugin._loader"]).__name__ == "_StandIn",
                  "plugins": len(list(get_plugins()))}))
"""


@pytest.mark.parametrize("off", ["__all__", "1", "true"])
def test_plugins_off_builds_models_without_the_scanner(off: str) -> None:
    assert probe(BUILD, off) == {"metadata": False, "standin": True, "plugins": 0}


@pytest.mark.parametrize("setting", [None, "", "some_plugin"])
def test_plugins_on_use_pydantics_own_loader(setting: str | None) -> None:
    got = probe(BUILD, setting)
    assert got["metadata"] is True and got["standin"] is False


def test_other_names_come_from_the_real_module() -> None:
    got = probe("from pydantic.plugin._loader import PYDANTIC_ENTRY_POINT_GROUP as g\n"
                "print(json.dumps({'g': g}))", "__all__")
    assert got == {"g": "pydantic"}


def test_install_after_pydantic_loaded_its_loader_changes_nothing() -> None:
    code = ("import pydantic.plugin._loader as real\nplugin_scan.install()\n"
            "print(json.dumps({'same': sys.modules[plugin_scan.NAME] is real}))")
    assert probe(code, None, install=False) == {"same": True}


def test_discover_through_the_cli_skips_the_scanner(tmp_path: Path) -> None:
    from dualnet.host.samples import build_sample

    root = build_sample("gh200", tmp_path / "gh200")
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    code = ("import sys\nsys.argv = ['dualnet', 'discover', '--root', sys.argv[1], '-o', 'json']\n"
            "from dualnet.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            "sys.stderr.write('META %s' % ('importlib.metadata' in sys.modules))\n")
    r = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True,
                       env=env, timeout=120)
    assert json.loads(r.stdout)["hostname"]
    assert r.stderr.endswith("META False")
