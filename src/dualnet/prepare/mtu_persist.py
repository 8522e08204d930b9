"""Where an MTU survives a reboot: find the host's network configuration under root.

systemd-networkd gets a drop-in file (additive, nothing of the user's is edited). netplan,
ifupdown and NetworkManager files are the user's: dualnet prints the exact change instead of
rewriting them (comments and ordering would be lost, and netplan regenerates other files).
"""

from __future__ import annotations

import configparser
import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dualnet.prepare.context import StepContext, StepError

NETWORKD_DIR = "/etc/systemd/network"


@dataclass
class MtuPersist:
    notes: list[str] = field(default_factory=list)
    dropin: str | None = None  # node path of the networkd drop-in to write
    content: str | None = None

    @property
    def needs_write(self) -> bool:
        return self.dropin is not None

    def write(self, ctx: StepContext) -> None:
        assert self.dropin is not None and self.content is not None
        ctx.acted = True
        ctx.push_undo(ctx.host.write_file(self.dropin, self.content))

    def verify(self, ctx: StepContext) -> None:
        if self.dropin is not None and ctx.host.read(self.dropin) != (self.content or "").rstrip():
            raise StepError(f"{ctx.host.path(self.dropin)} does not read back as written")


def persist_mtu(ctx: StepContext, ifname: str, mtu: int) -> MtuPersist:
    out = MtuPersist()
    if ctx.host.netns is not None:
        out.notes.append(f"{ifname} lives in netns {ctx.host.netns}: MTU not persisted")
        return out
    found = False
    for unit in _networkd_units(ctx, ifname):
        found = True
        dropin = f"{NETWORKD_DIR}/{unit.name}.d/dualnet-mtu.conf"
        content = f"# written by dualnet prepare\n[Link]\nMTUBytes={mtu}\n"
        if ctx.host.read(dropin) != content.rstrip("\n"):
            out.dropin, out.content = dropin, content
            out.notes.append(f"persisted for systemd-networkd in {ctx.host.path(dropin)} "
                             "(applies at `networkctl reload` or next boot)")
        else:
            out.notes.append(f"persisted already in {ctx.host.path(dropin)}")
        break
    for path, have in _netplan(ctx, ifname):
        found = True
        if have == mtu:
            out.notes.append(f"persisted already in {path} (mtu: {mtu})")
        else:
            out.notes.append(f"to persist: set `mtu: {mtu}` for {ifname} in {path}, then "
                             "`netplan apply` (dualnet does not rewrite netplan files)")
    for path, have in _ifupdown(ctx, ifname):
        found = True
        if have == mtu:
            out.notes.append(f"persisted already in {path} (mtu {mtu})")
        else:
            out.notes.append(f"to persist: add `mtu {mtu}` to the `iface {ifname}` stanza in "
                             f"{path}")
    for path, conn in _network_manager(ctx, ifname):
        found = True
        out.notes.append(f"to persist (NetworkManager, {path}): "
                         f"nmcli connection modify {conn} 802-3-ethernet.mtu {mtu}")
    if not found:
        out.notes.append(f"no network configuration for {ifname} found under {ctx.host.root} "
                         "(netplan, systemd-networkd, ifupdown, NetworkManager): the MTU is lost "
                         "at reboot unless you persist it")
    return out


def _networkd_units(ctx: StepContext, ifname: str) -> list[Path]:
    d = ctx.host.path(NETWORKD_DIR)
    out = []
    for f in sorted(d.glob("*.network")) if d.is_dir() else []:
        cp = configparser.ConfigParser(strict=False, interpolation=None)
        try:
            cp.read_string(f.read_text())
        except (OSError, configparser.Error):
            continue
        names = cp.get("Match", "Name", fallback="").split()
        if any(fnmatch.fnmatchcase(ifname, n) for n in names):
            out.append(f)
    return out


def _netplan(ctx: StepContext, ifname: str) -> list[tuple[Path, int | None]]:
    d = ctx.host.path("/etc/netplan")
    out: list[tuple[Path, int | None]] = []
    for f in sorted(d.glob("*.yaml")) if d.is_dir() else []:
        try:
            doc: Any = yaml.safe_load(f.read_text())
        except (OSError, yaml.YAMLError):
            continue
        net = doc.get("network") if isinstance(doc, dict) else None
        if not isinstance(net, dict):
            continue
        for kind in ("ethernets", "bonds", "vlans", "bridges"):
            section = net.get(kind)
            if isinstance(section, dict) and isinstance(section.get(ifname), dict):
                mtu = section[ifname].get("mtu")
                out.append((f, mtu if isinstance(mtu, int) else None))
    return out


def _ifupdown(ctx: StepContext, ifname: str) -> list[tuple[Path, int | None]]:
    files = [ctx.host.path("/etc/network/interfaces")]
    d = ctx.host.path("/etc/network/interfaces.d")
    if d.is_dir():
        files.extend(sorted(p for p in d.iterdir() if p.is_file()))
    out: list[tuple[Path, int | None]] = []
    for f in files:
        try:
            lines = f.read_text().splitlines()
        except OSError:
            continue
        in_stanza, found, mtu = False, False, None
        for ln in lines:
            words = ln.split()
            if not words or words[0].startswith("#"):
                continue
            if words[0] in {"iface", "auto", "allow-hotplug", "mapping", "source"}:
                in_stanza = words[0] == "iface" and len(words) > 1 and words[1] == ifname
                found = found or in_stanza
            elif in_stanza and words[0] == "mtu" and len(words) > 1 and words[1].isdigit():
                mtu = int(words[1])
        if found:
            out.append((f, mtu))
    return out


def _network_manager(ctx: StepContext, ifname: str) -> list[tuple[Path, str]]:
    d = ctx.host.path("/etc/NetworkManager/system-connections")
    out = []
    for f in sorted(d.glob("*.nmconnection")) if d.is_dir() else []:
        cp = configparser.ConfigParser(strict=False, interpolation=None)
        try:
            cp.read_string(f.read_text())
        except (OSError, configparser.Error):
            continue
        if cp.get("connection", "interface-name", fallback="") == ifname:
            out.append((f, cp.get("connection", "id", fallback=f.stem)))
    return out
