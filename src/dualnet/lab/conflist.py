"""A conf or conflist run as one attachment: ADD through the chain with prevResult, CHECK with
the final result, DEL in reverse order (every plugin, also after a failed ADD)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dualnet.lab.cni import run_plugin, supports_check
from dualnet.lab.models import CniErrorResult, CniResult

# keys the runtime copies from a conflist into every plugin object
_INHERITED = ("cniVersion", "name")


def chain(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Plugin objects in order, each carrying the list's name and cniVersion."""
    if "plugins" not in config:
        return [dict(config)]
    out = []
    for plugin in config.get("plugins") or []:
        merged = dict(plugin)
        for key in _INHERITED:
            if key in config:
                merged[key] = config[key]
        out.append(merged)
    return out


def with_prev(plugin: dict[str, Any], prev: dict[str, Any] | None) -> dict[str, Any]:
    conf = dict(plugin)
    if prev:
        conf["prevResult"] = prev
    return conf


@dataclass
class Attachment:
    """Where a chain runs: one interface in one pod, executed inside `run_in_netns`."""

    bin_dir: Path
    netns_path: str
    ifname: str
    container_id: str
    cni_args: str = ""
    run_in_netns: str | None = None

    def call(self, command: str, conf: dict[str, Any]) -> CniResult | CniErrorResult:
        ptype = str(conf.get("type", ""))
        binary = self.bin_dir / ptype
        if not ptype or "/" in ptype or not binary.is_file():
            return CniErrorResult(plugin=ptype or "?", command=command, code=50,
                                  msg=f"plugin binary {ptype!r} not found in {self.bin_dir}")
        return run_plugin(binary, command, conf, self.netns_path, self.ifname,
                          self.container_id, self.cni_args, self.run_in_netns)


@dataclass
class ChainOutcome:
    result: dict[str, Any] | None = None
    error: CniErrorResult | None = None
    calls: list[CniResult | CniErrorResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def elapsed_ms(self) -> float:
        return sum(c.elapsed_ms for c in self.calls)


def add(config: dict[str, Any], att: Attachment) -> ChainOutcome:
    out = ChainOutcome()
    prev: dict[str, Any] | None = None
    for plugin in chain(config):
        res = att.call("ADD", with_prev(plugin, prev))
        out.calls.append(res)
        if isinstance(res, CniErrorResult):
            out.error = res
            return out
        prev = res.result
    out.result = prev
    return out


def check(config: dict[str, Any], att: Attachment, result: dict[str, Any]) -> ChainOutcome:
    """CHECK every plugin with the ADD result as prevResult (needs cniVersion >= 0.4.0)."""
    out = ChainOutcome(result=result)
    if not supports_check(str(config.get("cniVersion", "0.2.0"))):
        return out
    for plugin in chain(config):
        res = att.call("CHECK", with_prev(plugin, result))
        out.calls.append(res)
        if isinstance(res, CniErrorResult):
            out.error = res
            return out
    return out


def delete(config: dict[str, Any], att: Attachment,
           result: dict[str, Any] | None) -> ChainOutcome:
    """DEL in reverse; keeps going past errors so every plugin gets its chance to clean up."""
    out = ChainOutcome()
    prev = result if supports_check(str(config.get("cniVersion", "0.2.0"))) else None
    for plugin in reversed(chain(config)):
        res = att.call("DEL", with_prev(plugin, prev))
        out.calls.append(res)
        if isinstance(res, CniErrorResult) and out.error is None:
            out.error = res
    return out
