"""Reading a saved host report (`dualnet discover -o json`, or the same as YAML): the one reader
behind `plan/render --report`, `prepare --facts` and `bench --host-report`."""

from __future__ import annotations

from pathlib import Path

from dualnet.errors import UsageError
from dualnet.host.models import HostReport
from dualnet.inputs import load_mapping, validation_problems

EXPECT = "a host report: `dualnet discover --output json > node.json` (JSON or YAML)"


def load_host_report(path: Path, *, option: str) -> HostReport:
    """The report in `path`, named as the user gave it (`option`), or a usage error."""
    from pydantic import ValidationError

    from dualnet.host.schema import adapter

    data = load_mapping(path, what=option, expect=EXPECT)
    try:
        return adapter(HostReport).validate_python(data)
    except ValidationError as exc:
        raise UsageError(
            f"{option} {path}: not a dualnet host report:\n  "
            + validation_problems(exc.errors(include_url=False)),
            hint=f"expected {EXPECT}",
        ) from None
