"""Kubernetes resource quantities ("8", "1k", "500m", "131747876Ki"), read as Kubernetes reads
them. Shared vocabulary: the kubectl parser, doctor and the cluster layer's node snapshots all
count device-plugin resources with this one function.

The arithmetic is lightkube's `parse_quantity` (the suffix table of the API's `Quantity`); it is
a pure function, not an API call, which is why this module may be imported from any layer.
"""

from __future__ import annotations

import math


def quantity_count(raw: str) -> int | None:
    """Whole units in a quantity (`1k` -> 1000, `1500m` -> 1); None when it is not one."""
    # imported here: lightkube (and httpx2 under it) is most of a cold start, and only a node
    # object's quantities need it (tests/cli/test_cli_imports.py)
    from lightkube.utils.quantity import parse_quantity

    try:
        value = parse_quantity(raw.strip())
    except ValueError:
        return None
    if value is None or not value.is_finite():
        return None
    return math.floor(value)
