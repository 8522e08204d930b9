"""Where host steps come from: a plan file (`dualnet plan --output yaml`) or a plain step list.

The plan's `host_steps` is read tolerantly: a list (one node), a mapping host -> list, or a list of
{host, steps} entries. The node is picked by --host or by this node's hostname.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from dualnet.errors import UsageError
from dualnet.inputs import plain_message
from dualnet.plan.steps import HostStep

_STEPS: TypeAdapter[list[HostStep]] = TypeAdapter(list[HostStep])
_HOST_KEYS = ("host", "hostname", "node", "name")


def parse_steps(data: Any, *, where: str = "steps") -> list[HostStep]:
    if not isinstance(data, list):
        raise UsageError(f"{where}: expected a list of step objects, got {type(data).__name__}")
    try:
        return _STEPS.validate_python(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        raise UsageError(f"{where}{loc}: {plain_message(err['msg'])} (got {err.get('input')!r})",
                         hint="kinds: load_modules, netns_mode, mtu, link_mac, sriov_numvfs, "
                         "vf_macs, cni_plugins, k3s, bind_driver") from None


def this_hostname(root: Path) -> str:
    """The node's hostname as the kernel (or, in a bare tree, /etc/hostname) has it under root."""
    for rel in ("proc/sys/kernel/hostname", "etc/hostname"):
        try:
            name = (root / rel).read_text().strip()
        except OSError:
            continue
        if name:
            return name
    return socket.gethostname()


@dataclass(frozen=True)
class LoadedSteps:
    steps: list[HostStep]
    where: str
    protect: tuple[str, ...] = ()  # the plan's own idea of the management interface


def _per_host(entries: Any) -> dict[str, dict[str, Any]] | None:
    """A list of {hostname|host|node|name, steps, ...} entries, keyed by host; None otherwise."""
    if not (isinstance(entries, list) and entries and all(
            isinstance(e, dict) and "steps" in e and any(k in e for k in _HOST_KEYS)
            for e in entries)):
        return None
    return {str(next(e[k] for k in _HOST_KEYS if k in e)): e for e in entries}


def select_host_steps(doc: Any, *, host_name: str | None, root: Path) -> tuple[Any, str,
                                                                              tuple[str, ...]]:
    """The raw step list for this node out of a plan document, where it came from, and the
    management interface the plan names for that host (if any)."""
    if isinstance(doc, list):
        return doc, "steps", ()
    if not isinstance(doc, dict):
        raise UsageError("plan: expected a mapping with `host_steps` or `hosts` (from "
                         "`dualnet plan --output yaml`)")
    per_host: dict[str, dict[str, Any]] | None = None
    key = "host_steps"
    if "host_steps" in doc:
        hs = doc["host_steps"]
        if hs is None:
            return [], key, ()
        if isinstance(hs, dict):
            per_host = {str(k): {"steps": v} for k, v in hs.items()}
        else:
            per_host = _per_host(hs)
            if per_host is None:
                return hs, key, ()
    elif "hosts" in doc:
        key = "hosts"
        per_host = _per_host(doc["hosts"])
        if per_host is None:
            raise UsageError("plan.hosts: expected a list of {hostname, steps} entries")
    elif "steps" in doc:
        return doc["steps"], "steps", ()
    else:
        raise UsageError("plan: no `host_steps` or `hosts` key",
                         hint=f"keys: {', '.join(map(str, doc))}")
    wanted = host_name or this_hostname(root)
    if wanted not in per_host:
        raise UsageError(f"plan: no host steps for host {wanted!r}",
                         hint=f"hosts in the plan: {', '.join(sorted(per_host)) or 'none'}; "
                         "pick one with --host NAME")
    entry = per_host[wanted]
    mgmt = entry.get("management_interface")
    return entry["steps"] or [], f"{key}.{wanted}", (mgmt,) if isinstance(mgmt, str) else ()


def load_source(path: Path, *, plan: bool, host_name: str | None = None,
                root: Path = Path("/")) -> LoadedSteps:
    from dualnet.inputs import parse_json_or_yaml, read_text

    flag = "--plan" if plan else "--steps"
    expect = ("PLAN.yaml from `dualnet plan --output yaml`" if plan
              else "STEPS.yaml: a YAML list of host steps")
    doc = parse_json_or_yaml(read_text(path, what=flag, expect=expect), f"{flag} {path}",
                             expect=expect)
    try:
        if plan:
            raw, where, protect = select_host_steps(doc, host_name=host_name, root=root)
        else:
            raw, where, protect = doc, str(path), ()
        return LoadedSteps(parse_steps(raw, where=where), where, protect)
    except UsageError as exc:
        if str(path) in exc.message:
            raise
        raise UsageError(f"{flag} {path}: {exc.message}", hint=exc.hint) from None


def load_steps(path: Path, *, plan: bool, host_name: str | None = None,
               root: Path = Path("/")) -> list[HostStep]:
    return load_source(path, plan=plan, host_name=host_name, root=root).steps
