"""Execute one CNI plugin the way a runtime does: CNI_* environment, config JSON on stdin,
result or error JSON on stdout. stderr is kept apart (sbr, for one, logs there)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from dualnet.lab import where
from dualnet.lab.models import CniErrorResult, CniResult

# env -i plus a PATH with /usr/sbin: bridge ipMasq, portmap and firewall shell out to iptables
BASE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def plugin_env(command: str, *, netns_path: str, ifname: str, container_id: str,
               cni_args: str, cni_path: str) -> dict[str, str]:
    env = {
        "PATH": BASE_PATH,
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": container_id,
        "CNI_IFNAME": ifname,
        "CNI_PATH": cni_path,
    }
    if netns_path:
        env["CNI_NETNS"] = netns_path
    if cni_args:
        env["CNI_ARGS"] = cni_args
    return env


def run_plugin(
    binary: Path,
    command: str,
    config: dict[str, Any],
    netns_path: str,
    ifname: str,
    container_id: str,
    cni_args: str = "",
    run_in_netns: str | None = None,
    *,
    timeout_s: float = 60.0,
) -> CniResult | CniErrorResult:
    """Run `binary` with CNI_COMMAND=`command`; inside `run_in_netns` when given, because a
    plugin looks up its master/device and creates host-side objects in its own netns."""
    env = plugin_env(command, netns_path=netns_path, ifname=ifname, container_id=container_id,
                     cni_args=cni_args, cni_path=str(binary.parent))
    argv = [str(binary)]
    if run_in_netns:
        argv = ["ip", "netns", "exec", run_in_netns, *argv]
    plugin = str(config.get("type", binary.name))
    start = time.perf_counter()
    try:
        proc = where.current().run(argv, stdin=json.dumps(config).encode(), env=env,
                                   timeout_s=timeout_s)
    except OSError as exc:
        return CniErrorResult(plugin=plugin, command=command, msg=f"cannot execute {binary}: {exc}",
                              elapsed_ms=(time.perf_counter() - start) * 1000)
    if proc.timed_out:
        return CniErrorResult(plugin=plugin, command=command,
                              msg=f"timed out after {timeout_s:g} s",
                              elapsed_ms=(time.perf_counter() - start) * 1000)
    elapsed = (time.perf_counter() - start) * 1000
    stdout = proc.out.strip()
    stderr = proc.err.strip()
    parsed: Any = None
    if stdout:
        try:
            parsed = json.loads(stdout)
        except json.JSONDecodeError:
            parsed = None
    if proc.returncode == 0:
        return CniResult(plugin=plugin, command=command,
                         result=parsed if isinstance(parsed, dict) else {},
                         stderr=stderr, elapsed_ms=elapsed)
    if isinstance(parsed, dict) and ("msg" in parsed or "code" in parsed):
        return CniErrorResult(plugin=plugin, command=command, code=int(parsed.get("code", 999)),
                              msg=str(parsed.get("msg", "")),
                              details=str(parsed.get("details", "")), stderr=stderr,
                              exit_code=proc.returncode, elapsed_ms=elapsed)
    # no CNI error object: the best evidence is whatever the process printed
    msg = (stdout or stderr or f"exit status {proc.returncode}").splitlines()[-1]
    return CniErrorResult(plugin=plugin, command=command, msg=msg, stderr=stderr,
                          exit_code=proc.returncode, elapsed_ms=elapsed)


def version_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in version.split("."))
    except ValueError:
        return (0,)


def supports_check(cni_version: str) -> bool:
    return version_tuple(cni_version) >= (0, 4, 0)
