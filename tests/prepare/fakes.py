"""Test doubles for the prepare layer: a runner that records argv and plays the kernel's part on a
fixture tree (modprobe, `rdma system set netns`, `ip link set ... vf N mac`, mtu). Used only where
the real command cannot run here (no mlx5 hardware, no ib_core); link steps on veths use the real
`ip` in test namespaces instead."""

from __future__ import annotations

import json
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
        # OVS offload state the real tools would hold: devlink eswitch modes by PF PCI address
        # (unset: legacy), ethtool's hw-tc-offload by netdev (unset: off), OVS other_config
        self.eswitch: dict[str, str] = {}
        self.hw_tc: dict[str, str] = {}
        self.ovs_config: dict[str, str] = {}
        self.units = {"openvswitch-switch.service"}

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
        if args[0] in ("devlink", "ethtool", "ovs-vsctl", "systemctl"):
            return self._offload(args)
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

    def _offload(self, args: tuple[str, ...]) -> CommandResult:
        """devlink/ethtool/ovs-vsctl as their outputs read (iproute2 devlink -j, ethtool -k,
        ovs-vsctl's `no key` error, systemctl show --value)."""
        if args[:5] == ("devlink", "-j", "dev", "eswitch", "show"):
            dev = args[5]
            mode = self.eswitch.get(dev.removeprefix("pci/"), "legacy")
            return CommandResult(args, 0, json.dumps({"dev": {dev: {
                "mode": mode, "inline-mode": "none", "encap-mode": "basic"}}}))
        if args[:4] == ("devlink", "dev", "eswitch", "set") and args[5] == "mode":
            pci = args[4].removeprefix("pci/")
            self.eswitch[pci] = args[6]
            # and where MOFED shows it, so a read of the tree sees the new mode
            for net in (self.root / f"sys/bus/pci/devices/{pci}/net").glob("*"):
                compat = net / "compat/devlink/mode"
                compat.parent.mkdir(parents=True, exist_ok=True)
                compat.write_text(args[6] + "\n")
            return CommandResult(args, 0)
        if args[:2] == ("ethtool", "-k"):
            state = self.hw_tc.get(args[2], "off")
            return CommandResult(args, 0, f"Features for {args[2]}:\nrx-checksumming: on\n"
                                 f"hw-tc-offload: {state}\nesp-hw-offload: off [fixed]\n")
        if args[:2] == ("ethtool", "-K") and args[3] == "hw-tc-offload":
            self.hw_tc[args[2]] = args[4]
            return CommandResult(args, 0)
        if args[:4] == ("ovs-vsctl", "get", "Open_vSwitch", "."):
            key = args[4].removeprefix("other_config:")
            if key not in self.ovs_config:
                return CommandResult(args, 1, "", f'ovs-vsctl: no key "{key}" in Open_vSwitch '
                                     'record "." column other_config')
            return CommandResult(args, 0, f'"{self.ovs_config[key]}"\n')
        if args[:4] == ("ovs-vsctl", "set", "Open_vSwitch", "."):
            key, value = args[4].removeprefix("other_config:").split("=", 1)
            self.ovs_config[key] = value
            return CommandResult(args, 0)
        if args[:3] == ("systemctl", "show", "-p"):
            return CommandResult(args, 0, "loaded\n" if args[-1] in self.units
                                 else "not-found\n")
        if args[:2] == ("systemctl", "restart"):
            return CommandResult(args, 0)
        return CommandResult(args, 127, "", f"{args[0]}: not simulated")

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
