"""Where host steps come from: a plan file (`dualnet plan --output yaml`) or a plain step list.

The plan's `host_steps` is read tolerantly: a list (one node), a mapping host -> list, or a list of
{host, steps} entries. The node is picked by --host or by this node's hostname.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from dualnet.errors import UsageError
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
        raise UsageError(f"{where}{loc}: {err['msg']} (got {err.get('input')!r})",
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


def select_host_steps(doc: Any, *, host_name: str | None, root: Path) -> tuple[Any, str]:
    """The raw step list for this node out of a plan document, and where it came from."""
    if isinstance(doc, list):
        return doc, "steps"
    if not isinstance(doc, dict):
        raise UsageError("plan: expected a mapping with `host_steps` (from `dualnet plan "
                         "--output yaml`)")
    if "host_steps" not in doc:
        if "steps" in doc:
            return doc["steps"], "steps"
        raise UsageError("plan: no `host_steps` key", hint=f"keys: {', '.join(map(str, doc))}")
    hs = doc["host_steps"]
    if hs is None:
        return [], "host_steps"
    per_host: dict[str, Any] | None = None
    if isinstance(hs, dict):
        per_host = {str(k): v for k, v in hs.items()}
    elif isinstance(hs, list) and hs and all(
        isinstance(e, dict) and "steps" in e and any(k in e for k in _HOST_KEYS) for e in hs
    ):
        per_host = {str(next(e[k] for k in _HOST_KEYS if k in e)): e["steps"] for e in hs}
    if per_host is None:
        return hs, "host_steps"
    wanted = host_name or this_hostname(root)
    if wanted not in per_host:
        raise UsageError(f"plan: no host_steps for host {wanted!r}",
                         hint=f"hosts in the plan: {', '.join(sorted(per_host)) or 'none'}; "
                         "pick one with --host NAME")
    return per_host[wanted], f"host_steps.{wanted}"


def load_steps(path: Path, *, plan: bool, host_name: str | None = None,
               root: Path = Path("/")) -> list[HostStep]:
    try:
        doc = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise UsageError(f"{'--plan' if plan else '--steps'}: cannot read {path}: "
                         f"{exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML: {exc}") from exc
    if plan:
        raw, where = select_host_steps(doc, host_name=host_name, root=root)
    else:
        raw, where = doc, str(path)
    return parse_steps(raw, where=where)
