"""What the lab can rehearse, and the minimal changes it makes to a NAD's CNI config so it runs
in throw-away namespaces: state directories moved into the run's temp dir, IPAMs this machine
cannot serve replaced by an equivalent host-local range. Every change is reported."""

from __future__ import annotations

import contextlib
import copy
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dualnet.lab.conflist import chain

# plugin types that need hardware or kernel features no lab machine of this kind has
HARDWARE_PLUGINS: dict[str, str] = {
    "sriov": "SR-IOV CNI needs SR-IOV virtual functions: no such hardware here",
    "ib-sriov": "ib-sriov CNI needs InfiniBand SR-IOV virtual functions: no such hardware here",
    "ipoib": "ipoib CNI needs an IPoIB (InfiniBand) parent interface: this kernel has no "
    "InfiniBand support and there is no such hardware",
    "rdma": "rdma CNI moves an RDMA device into the pod: needs RDMA hardware in exclusive "
    "netns mode, none here",
    # OVS offload NADs (dualnet render with spec.offload): the cluster CNI itself plugs a VF
    "ovn-k8s-cni-overlay": "an OVS offload NAD: OVN-Kubernetes plugs a switchdev VF through its "
    "own node daemon (ovnkube-node, OVS); neither runs here, nor is there a switchdev NIC",
    "antrea": "an OVS offload NAD: Antrea plugs a switchdev VF through its own agent and OVS; "
    "neither runs here, nor is there a switchdev NIC",
}
# link types the lab tries anyway; "operation not supported" from them means the kernel lacks them
KERNEL_LINK_PLUGINS = {"ipvlan": "CONFIG_IPVLAN", "vlan": "CONFIG_VLAN_8021Q",
                       "vrf": "CONFIG_NET_VRF"}
MASTER_PLUGINS = ("macvlan", "ipvlan", "vlan")
LAB_NIC = "dnlab-nic0"
LAB_DEVICE = "dnlab-hd0"
LAB_STATIC_BASE = "192.0.2.10/24"  # TEST-NET-1: never routed anywhere


@dataclass
class LabConfig:
    """A NAD config prepared for the lab, with what was changed and what the node needs."""

    config: dict[str, Any]
    rewrites: list[str] = field(default_factory=list)
    unsupported: str = ""
    master: str | None = None  # NIC the node must have for macvlan/ipvlan/vlan
    device: str | None = None  # NIC the node must have for host-device (one per pod)
    device_mac: str | None = None
    mtu: int = 1500
    ipam_types: list[str] = field(default_factory=list)
    plugin_types: list[str] = field(default_factory=list)
    static_ips_capability: bool = False
    static_base: str | None = None  # first per-pod address when the NAD names none


def _plugins_of(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The plugin objects inside `config` itself (mutable), in chain order."""
    if "plugins" in config:
        return [p for p in config["plugins"] if isinstance(p, dict)]
    return [config]


def _whereabouts_to_host_local(ipam: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """whereabouts `range` (CIDR or first-last/len) -> the same pool as a host-local range."""
    raw = str(ipam.get("range") or "")
    ranges = ipam.get("ipRanges") or []
    if not raw and ranges and isinstance(ranges[0], dict):
        raw = str(ranges[0].get("range") or "")
        ipam = {**ipam, **{k: v for k, v in ranges[0].items() if k != "range"}}
    start = ipam.get("range_start")
    end = ipam.get("range_end")
    if "-" in raw:
        first, rest = raw.split("-", 1)
        last, _, plen = rest.partition("/")
        net = ipaddress.ip_interface(f"{first}/{plen}").network
        start, end = start or first, end or last
    else:
        net = ipaddress.ip_network(raw, strict=False)
    excluded = [ipaddress.ip_network(str(e), strict=False) for e in ipam.get("exclude") or []]
    if excluded and not start:
        # host-local cannot exclude; an exclusion at the start of the range is a rangeStart
        first_ok = net.network_address + 1
        while any(first_ok in e for e in excluded) and first_ok in net:
            first_ok += 1
        if first_ok != net.network_address + 1:
            start = str(first_ok)
    rng: dict[str, Any] = {"subnet": str(net)}
    if start:
        rng["rangeStart"] = str(start)
    if end:
        rng["rangeEnd"] = str(end)
    if ipam.get("gateway"):
        rng["gateway"] = str(ipam["gateway"])
    new: dict[str, Any] = {"type": "host-local", "ranges": [[rng]]}
    if ipam.get("routes"):
        new["routes"] = ipam["routes"]
    note = f"ipam whereabouts (range {raw}) -> host-local {rng} (no whereabouts API here)"
    if excluded:
        note += ("; `exclude` honoured only where it covers the start of the range"
                 f" (rangeStart {start})" if start else "; `exclude` not rehearsed")
    return new, note


def prepare(config: dict[str, Any], run_dir: Path) -> LabConfig:
    """Copy `config` and apply the lab rewrites; never changes what the plugins are asked to do
    beyond where they keep state and which IPAM serves the same addresses."""
    conf = copy.deepcopy(config)
    out = LabConfig(config=conf)
    plugins = conf.get("plugins")
    if isinstance(plugins, list) and len(plugins) > 1 and any(
            isinstance(p, dict) and p.get("type") == "rdma" for p in plugins):
        # RDMA CNI only moves the RDMA device of the netdev the plugin before it attached; the
        # netdev part of the chain is still worth rehearsing, so drop it and say so
        conf["plugins"] = [p for p in plugins if not (isinstance(p, dict)
                                                      and p.get("type") == "rdma")]
        out.rewrites.append("rdma (RDMA CNI) dropped from the chain: it needs an RDMA device in "
                            "exclusive netns mode, none here; the rest of the chain is rehearsed")
    for plugin in _plugins_of(conf):
        ptype = str(plugin.get("type", ""))
        out.plugin_types.append(ptype)
        if ptype in HARDWARE_PLUGINS and not out.unsupported:
            out.unsupported = HARDWARE_PLUGINS[ptype]
        mtu = plugin.get("mtu")
        if isinstance(mtu, int) and mtu > out.mtu:
            out.mtu = mtu
        if ptype in MASTER_PLUGINS:
            if plugin.get("master"):
                out.master = str(plugin["master"])
            else:
                plugin["master"] = LAB_NIC
                out.master = LAB_NIC
                out.rewrites.append(f"{ptype}.master: unset (the plugin would take the node's "
                                    f"default-route interface) -> {LAB_NIC}")
        if ptype == "host-device":
            _host_device(plugin, out)
        if ptype == "tuning":
            old = plugin.get("dataDir")
            plugin["dataDir"] = str(run_dir / "tuning")
            out.rewrites.append(f"tuning.dataDir: {old or '/run/cni/tuning (default)'} -> "
                                f"{plugin['dataDir']}")
        ipam = plugin.get("ipam")
        if isinstance(ipam, dict) and ipam.get("type"):
            _ipam(plugin, ipam, run_dir, out)
    return out


def _host_device(plugin: dict[str, Any], out: LabConfig) -> None:
    if plugin.get("device"):
        out.device = str(plugin["device"])
        return
    if plugin.get("hwaddr"):
        out.device = LAB_DEVICE
        out.device_mac = str(plugin["hwaddr"])
        return
    picked = [k for k in ("pciBusID", "kernelpath") if plugin.get(k)]
    for key in picked:
        plugin.pop(key)
    plugin["device"] = LAB_DEVICE
    out.device = LAB_DEVICE
    what = ", ".join(picked) or "runtimeConfig.deviceID (from the device plugin)"
    out.rewrites.append(f"host-device: {what} names a PCI device this machine lacks -> "
                        f"device {LAB_DEVICE} (a veth the lab creates on the node)")


def _ipam(plugin: dict[str, Any], ipam: dict[str, Any], run_dir: Path, out: LabConfig) -> None:
    itype = str(ipam["type"])
    if itype == "whereabouts":
        try:
            new, note = _whereabouts_to_host_local(ipam)
        except ValueError as exc:
            out.unsupported = out.unsupported or f"whereabouts range not understood: {exc}"
            return
        plugin["ipam"] = ipam = new
        out.rewrites.append(note)
        itype = "host-local"
    if itype == "dhcp" and not out.unsupported:
        out.unsupported = ("dhcp IPAM needs a DHCP server on the wire and the CNI dhcp daemon; "
                           "the lab rehearses host-local, static and whereabouts (as host-local)")
    if itype == "host-local":
        old = ipam.get("dataDir")
        ipam["dataDir"] = str(run_dir / "host-local")
        out.rewrites.append(f"ipam.dataDir: {old or '/var/lib/cni/networks (default)'} -> "
                            f"{ipam['dataDir']}")
    if itype == "static":
        caps = plugin.get("capabilities") or {}
        out.static_ips_capability = bool(isinstance(caps, dict) and caps.get("ips"))
        if out.static_ips_capability and not ipam.get("addresses"):
            out.static_base = LAB_STATIC_BASE
            out.rewrites.append("static IPAM has no addresses (each pod brings its own in the "
                                f"networks annotation `ips`): the lab gives pod i "
                                f"{LAB_STATIC_BASE} + i")
    out.ipam_types.append(itype)


def cidrs_in(config: dict[str, Any]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Every network named in the config's IPAM sections (to keep the lab's eth0 clear of it)."""
    found: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, str) and "/" in node:
            with contextlib.suppress(ValueError):  # not every "a/b" string is a network
                found.append(ipaddress.ip_network(node.split("-")[-1], strict=False))

    for plugin in chain(config):
        walk(plugin.get("ipam"))
    return found


def static_address_for(config: dict[str, Any], index: int,
                       base: str | None = None) -> list[str]:
    """Pod `index`'s address for a static IPAM with the `ips` capability: the configured
    address (or `base`) plus `index`, as a user would write in each pod's networks annotation."""
    out: list[str] = []
    for plugin in chain(config):
        ipam = plugin.get("ipam") or {}
        if ipam.get("type") != "static":
            continue
        addresses = ipam.get("addresses") or ([{"address": base}] if base else [])
        for addr in addresses:
            try:
                iface = ipaddress.ip_interface(str(addr.get("address")))
            except ValueError:
                continue  # the plugin itself reports a bad address, with its own words
            out.append(f"{iface.ip + index}/{iface.network.prefixlen}")
    return out
