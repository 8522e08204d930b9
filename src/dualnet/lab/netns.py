"""Network namespaces and links through `ip` argument lists.

iproute2 rather than pyroute2: it is already a system requirement of the lab (the CNI plugins
are run under `ip netns exec`), it needs no extra dependency, and every call is a plain argument
list that a user can copy and replay by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dualnet.errors import HostError
from dualnet.lab import where
from dualnet.names import check_ifname

NETNS_DIR = Path("/var/run/netns")
_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}


class IpError(Exception):
    """An `ip` call that failed; carries the command and its stderr."""

    def __init__(self, argv: list[str], stderr: str) -> None:
        super().__init__(f"{' '.join(argv)}: {stderr.strip()}")
        self.argv = argv
        self.stderr = stderr.strip()


def run_ip(args: list[str], *, netns: str | None = None, check: bool = True) -> str:
    """Run `ip [-n NS] ARGS...`; return stdout; raise IpError on failure when `check`."""
    argv = ["ip", *(["-n", netns] if netns else []), *args]
    try:
        proc = where.current().run(argv, env=_ENV, timeout_s=30)
    except FileNotFoundError as exc:
        raise HostError("`ip` (iproute2) is not installed",
                        hint="apt-get install iproute2") from exc
    if check and proc.returncode != 0:
        raise IpError(argv, proc.err)
    return proc.out


def netns_path(name: str) -> str:
    return str(NETNS_DIR / name)


def create_netns(name: str) -> None:
    run_ip(["netns", "add", name])
    # lo up so that local traffic inside the namespace behaves as in a pod
    run_ip(["link", "set", "lo", "up"], netns=name)


def delete_netns(name: str) -> None:
    run_ip(["netns", "delete", name], check=False)


def list_netns(prefix: str = "") -> list[str]:
    return sorted(n for n in where.current().listdir(str(NETNS_DIR)) if n.startswith(prefix))


def add_veth(name: str, netns: str, peer: str, peer_netns: str) -> None:
    """A veth pair created straight inside two namespaces, so it never exists in the root."""
    check_ifname(name, field="veth name")
    check_ifname(peer, field="veth peer name")
    run_ip(["link", "add", name, "netns", netns, "type", "veth",
            "peer", "name", peer, "netns", peer_netns])


def add_bridge(name: str, netns: str) -> None:
    check_ifname(name, field="bridge name")
    run_ip(["link", "add", name, "type", "bridge"], netns=netns)


def set_master(name: str, master: str, netns: str) -> None:
    run_ip(["link", "set", name, "master", master], netns=netns)


def link_up(name: str, netns: str) -> None:
    run_ip(["link", "set", name, "up"], netns=netns)


def links(netns: str) -> list[dict[str, Any]]:
    """`ip -j addr` of a namespace: links with their addresses."""
    out = run_ip(["-j", "addr", "show"], netns=netns)
    data: list[dict[str, Any]] = json.loads(out or "[]")
    return data


def link(name: str, netns: str) -> dict[str, Any] | None:
    for item in links(netns):
        if item.get("ifname") == name:
            return item
    return None


def routes(netns: str) -> list[dict[str, Any]]:
    out = run_ip(["-j", "route", "show"], netns=netns)
    data: list[dict[str, Any]] = json.loads(out or "[]")
    return data


def operstate(name: str, netns: str) -> str:
    """The kernel's operstate (UP, DOWN, LOWERLAYERDOWN...), read from the namespace."""
    item = link(name, netns)
    return str(item.get("operstate", "ABSENT")) if item else "ABSENT"


def ping(netns: str, ifname: str, dst: str, *, count: int = 1, wait_s: int = 1) -> tuple[bool, str]:
    """One ping from a namespace over one interface; (ok, last line of output)."""
    argv = ["ip", "netns", "exec", netns, "ping", "-n", "-q", "-c", str(count),
            "-W", str(wait_s), "-I", ifname, dst]
    proc = where.current().run(argv, env=_ENV, timeout_s=30)
    text = (proc.out + proc.err).strip().splitlines()
    summary = next((line for line in text if "packets transmitted" in line), text[-1] if text
                   else "")
    # "1 packets transmitted, 1 received, 0% packet loss, time 0ms" -> "1/1 received"
    parts = [p.strip() for p in summary.split(",")]
    if len(parts) >= 2 and parts[0].endswith("packets transmitted"):
        summary = f"{parts[1].split()[0]}/{parts[0].split()[0]} received"
    return proc.returncode == 0, summary.strip()
