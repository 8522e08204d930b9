"""Field types for pydantic models built from the checks in dualnet.names.

Apart from names.py so that the code that only checks names (discovery, the parsers) does not
import pydantic."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from dualnet.names import IFNAME_RULE, ifname_problem


def _ifname_field(name: str) -> str:
    # Inside pydantic a ValueError, so the error carries the field's path.
    problem = ifname_problem(name)
    if problem is not None:
        raise ValueError(f"not a valid interface name: {problem}; an interface name is "
                         f"{IFNAME_RULE}")
    return name


# The one type of every interface-name field in a model (spec, host steps).
IfName = Annotated[str, AfterValidator(_ifname_field)]
