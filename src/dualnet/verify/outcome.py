"""The three outcomes of every verify and bench check, and the exit status of each.

A check ends `passed`, `failed` (with the evidence it decided on) or `could not measure` (the
tool is missing in the image, the pod never became Ready, the output did not parse): a
measurement that could not be taken is never a number and never a pass. `skipped` is kept for a
check that ran but whose result proves nothing here (two pods on one node: no cross-node path).
The CLI maps a report's worst outcome to its exit status with `exit_status`.
"""

from __future__ import annotations

from collections.abc import Iterable

from dualnet.errors import Exit
from dualnet.verify.models import Status

# the CLI's one exit-status table (dualnet.errors.Exit) gives each outcome its own status
EXIT_PASSED = Exit.OK
EXIT_FAILED = Exit.FAILED
EXIT_UNMEASURED = Exit.UNMEASURED

# worst first: a failure outranks a check that could not be measured, which outranks a skip
_ORDER = (Status.FAIL, Status.UNMEASURED, Status.SKIP, Status.PASS)


def worst(statuses: Iterable[Status]) -> Status | None:
    seen = set(statuses)
    return next((s for s in _ORDER if s in seen), None)


def exit_status(statuses: Iterable[Status]) -> int:
    """0 when nothing failed and everything was measured; 1 on a failure; 7 when something
    could not be measured (and nothing failed). No checks at all could not measure anything."""
    w = worst(statuses)
    if w is Status.FAIL:
        return EXIT_FAILED
    if w is Status.UNMEASURED or w is None:
        return EXIT_UNMEASURED
    return EXIT_PASSED
