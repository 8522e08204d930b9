"""`lsmod` (or `lsmod | grep ...`) -> KernelModule list.

Columns `Module Size Used-by`: `name size refcount [user,user,...]`; the header is optional since
people grep. An empty output is valid (grep found nothing): an empty list. A used-by list cut by
the source's line wrapping is kept as printed (it is informational; the refcount is exact).
"""

from __future__ import annotations

import re

from dualnet.host.models import KernelModule
from dualnet.parse._text import Skipped, guarded, prepare

SOURCE = "lsmod"

_HEADER = re.compile(r"^Module\s+Size\s+Used\s+by$")
_ROW = re.compile(r"^([A-Za-z0-9_\-]+)\s+(\d+)\s+(-?\d+)(?:\s+(\S+))?(?:\s+\[permanent\])?$")


@guarded(SOURCE)
def parse_lsmod(text: str) -> list[KernelModule]:
    modules: list[KernelModule] = []
    skipped = Skipped(SOURCE, "'<module> <size> <refcount> [used,by]'")
    for line in prepare(text):
        s = line.stripped
        if _HEADER.match(s):
            continue
        m = _ROW.match(s)
        if m is None:
            skipped.skip(line)
            continue
        name = m.group(1).replace("-", "_")  # the kernel reports names with underscores
        users = m.group(4) or ""
        used_by = [] if users in ("", "-") else [u for u in users.split(",") if u]
        module = KernelModule(name=name, loaded=True, refcount=int(m.group(3)), used_by=used_by)
        # `lsmod; lsmod | grep x` pasted together repeats modules: keep the first, same facts.
        if all(existing.name != name for existing in modules):
            modules.append(module)
    skipped.check(len(modules))
    return modules
