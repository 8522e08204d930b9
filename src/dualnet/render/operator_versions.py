"""The NVIDIA Network Operator releases the `network-operator` target renders for, and what
differs between them for the objects dualnet writes. Read from each release's NicClusterPolicy
CRD (deployment/network-operator/crds/mellanox.com_nicclusterpolicies.yaml at the tag):

* `secondaryNetwork.ipamPlugin` (whereabouts) exists up to v25.7 and is gone from v25.10.0 on:
  a strict apply rejects it there, a server-side apply drops it, and nothing installs IPAM.
* every image section requires image, repository and version up to v26.1; from v26.4.0 on only
  image is required (repository and version may come from `spec.global`).

Within one minor release the CRD is the same, so versions are named by minor (v26.4 for v26.4.1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dualnet.errors import UsageError


@dataclass(frozen=True)
class OperatorRelease:
    name: str
    ipam_plugin: bool
    image_required: tuple[str, ...]

    @property
    def key(self) -> tuple[int, int]:
        major, minor = self.name.removeprefix("v").split(".")
        return int(major), int(minor)


_ALL_IMAGE_FIELDS = ("image", "repository", "version")

RELEASES: dict[str, OperatorRelease] = {
    r.name: r
    for r in (
        OperatorRelease("v25.4", ipam_plugin=True, image_required=_ALL_IMAGE_FIELDS),
        OperatorRelease("v25.7", ipam_plugin=True, image_required=_ALL_IMAGE_FIELDS),
        OperatorRelease("v25.10", ipam_plugin=False, image_required=_ALL_IMAGE_FIELDS),
        OperatorRelease("v26.1", ipam_plugin=False, image_required=_ALL_IMAGE_FIELDS),
        OperatorRelease("v26.4", ipam_plugin=False, image_required=("image",)),
        OperatorRelease("v26.7", ipam_plugin=False, image_required=("image",)),
    )
}
# the newest release that is not a pre-release (v26.4.1); v26.7 is at release candidates
DEFAULT_OPERATOR_VERSION = "v26.4"


def supported_operator_versions() -> list[str]:
    return sorted(RELEASES, key=lambda v: RELEASES[v].key)


def operator_release(version: str) -> OperatorRelease:
    """'v26.4.1', '26.4', 'v26.7.0-rc.2' -> the release's facts; a UsageError for any other."""
    m = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?(?:-[0-9A-Za-z.]+)?", version.strip())
    name = f"v{int(m.group(1))}.{int(m.group(2))}" if m else None
    if name is None or name not in RELEASES:
        raise UsageError(
            f"--network-operator-version: {version!r} is not a Network Operator release dualnet "
            "renders for",
            hint=f"one of {', '.join(supported_operator_versions())} (patch releases of these "
            f"are the same; default {DEFAULT_OPERATOR_VERSION})",
        )
    return RELEASES[name]
