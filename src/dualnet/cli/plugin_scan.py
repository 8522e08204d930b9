"""Skip the import pydantic makes to look for plugins when plugins are turned off.

pydantic asks `pydantic.plugin._loader.get_plugins()` before it builds each model's validator;
that module imports `importlib.metadata` (and with it email, zipfile, csv, tempfile: ~15 ms on a
quiet machine, in every verb that goes through typer; discover and doctor on a node import no
pydantic at all) even when PYDANTIC_DISABLE_PLUGINS turns every plugin off, as
`dualnet.cli.main` does by default.

`install()` puts a stand-in under that module's name before pydantic imports it. The stand-in
answers `get_plugins()` with no plugins exactly when the real one would (the variable set to
`__all__`, `1` or `true` at call time); for anything else, a user's own plugin setting or a name
a later pydantic reads from that module, it imports the real module in its place and hands the
question to it, so nothing changes but the cost.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Iterable
from typing import Any

NAME = "pydantic.plugin._loader"
_OFF = ("__all__", "1", "true")  # the values pydantic's get_plugins reads as "no plugins"


def _real() -> types.ModuleType:
    """The real loader module, imported in the stand-in's place."""
    import importlib

    if isinstance(sys.modules.get(NAME), _StandIn):
        del sys.modules[NAME]
    module = importlib.import_module(NAME)
    package = sys.modules.get("pydantic.plugin")
    if package is not None:
        package._loader = module  # type: ignore[attr-defined]
    return module


class _StandIn(types.ModuleType):
    def get_plugins(self) -> Iterable[Any]:
        if os.getenv("PYDANTIC_DISABLE_PLUGINS") in _OFF:
            return ()
        plugins: Iterable[Any] = _real().get_plugins()
        return plugins

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            # the import system asks a module for __path__ and the like: this one is no
            # package and has none, which must not cost the import it saves
            raise AttributeError(name)
        return getattr(_real(), name)


def install() -> None:
    """Use the stand-in, unless pydantic has already imported its loader."""
    if NAME not in sys.modules:
        sys.modules[NAME] = _StandIn(NAME, __doc__)
