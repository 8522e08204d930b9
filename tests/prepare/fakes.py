"""Test doubles for the prepare layer: a runner that records argv and plays the kernel's part on a
fixture tree (modprobe, `rdma system set netns`, `ip link set ... vf N mac`, mtu). Used only where
the real command cannot run here (no mlx5 hardware, no ib_core); link steps on veths use the real
`ip` in test namespaces instead."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from dualnet.prepare.runner import CommandResult, check_argv


class FakeKernel:
    def __init__(self, root: Path, *, busy_netns: bool = False,
                 fail: Sequence[tuple[str, ...]] = ()) -> None:
        self.root = root
        self.calls: list[tuple[str, ...]] = []
        self.busy_netns = busy_netns
        self.fail = [tuple(f) for f in fail]

    def __call__(self, argv: Sequence[str]) -> CommandResult:
        args = check_argv(argv)
        self.calls.append(args)
        if any(args[: len(f)] == f for f in self.fail):
            return CommandResult(args, 1, "", "injected failure")
        if args[0] == "modprobe":
            return self._modprobe(args)
        if args[:4] == ("rdma", "system", "set", "netns"):
            if self.busy_netns:
                return CommandResult(args, 1, "", "error: Device or resource busy")
            p = self.root / "sys/module/ib_core/parameters/netns_mode"
            p.write_text("Y\n" if args[4] == "shared" else "N\n")
            return CommandResult(args, 0)
        if args[:3] == ("ip", "link", "set"):
            return self._ip_link_set(args[3:])
        return CommandResult(args, 127, "", f"{args[0]}: not simulated")

    def _modprobe(self, args: tuple[str, ...]) -> CommandResult:
        mods = self.root / "proc/modules"
        lines = mods.read_text().splitlines() if mods.exists() else []
        if args[1] == "-r":
            name = args[2]
            mods.write_text("".join(f"{ln}\n" for ln in lines if ln.split()[0] != name))
            (self.root / "sys/module" / name).rmdir()
        else:
            name = args[1]
            mods.write_text("".join(f"{ln}\n" for ln in lines)
                            + f"{name} 16384 0 - Live 0x0000000000000000\n")
            (self.root / "sys/module" / name).mkdir(parents=True, exist_ok=True)
        return CommandResult(args, 0)

    def _ip_link_set(self, rest: tuple[str, ...]) -> CommandResult:
        if len(rest) == 5 and rest[1] == "vf" and rest[3] == "mac":
            net = self.root / f"sys/class/net/{rest[0]}/device/virtfn{rest[2]}/net"
            for nd in net.iterdir():
                (nd / "address").write_text(rest[4] + "\n")
            return CommandResult(("ip", "link", "set", *rest), 0)
        if len(rest) == 4 and rest[0] == "dev" and rest[2] in {"mtu", "address"}:
            (self.root / f"sys/class/net/{rest[1]}/{rest[2]}").write_text(rest[3] + "\n")
            return CommandResult(("ip", "link", "set", *rest), 0)
        return CommandResult(("ip", "link", "set", *rest), 2, "", "not simulated")


def ip(*args: str) -> str:
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True).stdout


def new_netns() -> str:
    return f"dnprep-{secrets.token_hex(3)}"


def veth_netns() -> Iterator[str]:
    """A namespace with veth pair dnpa <-> dnpb (both down, mtu 1500); deleted afterwards."""
    ns = new_netns()
    ip("netns", "add", ns)
    try:
        ip("-n", ns, "link", "add", "dnpa", "type", "veth", "peer", "name", "dnpb")
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)
