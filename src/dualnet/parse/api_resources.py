"""Which API group/versions a cluster serves -> sorted list of 'group/version' strings.

Three captures are accepted, because users paste whichever they ran:

- `kubectl api-versions`: one group/version per line (`resource.k8s.io/v1`, `v1`);
- `kubectl api-resources`: the table `NAME SHORTNAMES APIVERSION NAMESPACED KIND`; the version
  is the first cell after NAME that looks like one (SHORTNAMES is often blank, so cells cannot
  be counted);
- `kubectl get --raw /apis`: the discovery document `APIGroupList` (JSON), whose
  `groups[].versions[].groupVersion` are the served versions. The core group (`v1`) lives under
  `/api`, not `/apis`, so it is absent from this capture.

Best effort: a line that is none of these is skipped with a warning.
"""

from __future__ import annotations

import json
import re
from typing import Any

from dualnet.parse._text import Skipped, fail, guarded, prepare

SOURCE = "kubectl api-resources"

# `resource.k8s.io/v1`, `apps/v1`, `v1`, `resource.k8s.io/v1beta2`
_GROUP_VERSION = re.compile(r"^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*/)?v\d+(?:(?:alpha|beta)\d+)?$")
_HEADER = re.compile(r"^NAME\s+(?:SHORTNAMES\s+)?APIVERSION\s+NAMESPACED\s+KIND\b")


@guarded(SOURCE)
def parse_api_resources(text: str) -> list[str]:
    body = text.lstrip()
    if body.startswith("# source:"):  # the header fixtures carry, before JSON too
        body = body.partition("\n")[2].lstrip()
    if body.startswith("{"):
        return _from_discovery(body)
    served: set[str] = set()
    skipped = Skipped(SOURCE, "a group/version ('resource.k8s.io/v1') or an api-resources row")
    for line in prepare(text):
        cells = line.stripped.split()
        if _HEADER.match(line.stripped):
            continue
        if len(cells) == 1 and _GROUP_VERSION.match(cells[0]):  # kubectl api-versions
            served.add(cells[0])
            continue
        at = next((i for i, c in enumerate(cells) if i and _GROUP_VERSION.match(c)), None)
        # a row goes on with NAMESPACED (true/false) and KIND; `-o wide` adds VERBS after them
        if at is None or cells[at + 1:at + 2] not in (["true"], ["false"]):
            skipped.skip(line)
            continue
        served.add(cells[at])
    skipped.check(len(served))
    return sorted(served)


def _from_discovery(text: str) -> list[str]:
    try:
        doc: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(SOURCE, f"not JSON: {exc.msg} at line {exc.lineno}") from None
    groups = doc.get("groups") if isinstance(doc, dict) else None
    if not isinstance(groups, list):
        raise fail(
            SOURCE,
            "JSON without a `groups` list",
            hint="give the output of `kubectl get --raw /apis` (kind APIGroupList)",
        )
    served: set[str] = set()
    for group in groups:
        versions = group.get("versions") if isinstance(group, dict) else None
        for v in versions if isinstance(versions, list) else []:
            gv = v.get("groupVersion") if isinstance(v, dict) else None
            if isinstance(gv, str) and _GROUP_VERSION.match(gv):
                served.add(gv)
    return sorted(served)
