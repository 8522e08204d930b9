"""Checks of a CNI network config against the CNI spec and the fields each plugin reads
(formats.md section 4). Returns problems as 'path: reason' strings; empty means valid."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

CNI_VERSIONS = {"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$")
COMMON_KEYS = {"type", "name", "cniVersion", "capabilities", "ipMasq", "ipam", "dns", "args",
               "runtimeConfig"}

PLUGIN_KEYS: dict[str, set[str]] = {
    "macvlan": {"master", "mode", "mtu", "mac", "linkInContainer", "bcqueuelen"},
    "ipvlan": {"master", "mode", "mtu", "linkInContainer"},
    "host-device": {"device", "hwaddr", "kernelpath", "pciBusID"},
    # MTU and MAC have no json tag in sriov-cni's SriovNetConf (pkg/types, v2.9.0): Go matches
    # "mtu" / "mac" case-insensitively
    "sriov": {"deviceID", "vlan", "vlanQoS", "vlanProto", "mac", "mtu", "spoofchk", "trust",
              "link_state", "min_tx_rate", "max_tx_rate", "logLevel", "logFile"},
    "ib-sriov": {"deviceID", "pkey", "link_state", "rdmaIsolation", "ibKubernetesEnabled",
                 "vfioPciMode"},
    "ipoib": {"master"},
    "rdma": {"deviceID"},
    # OVS offload: the cluster CNI's default-network configs (render.networks.offload_cni_config)
    "ovn-k8s-cni-overlay": {"logFile", "logLevel", "logfile-maxsize", "logfile-maxbackups",
                            "logfile-maxage"},
    "antrea": set(),
    # containernetworking plugins' portmap, chained in Antrea's conflist
    "portmap": {"snat", "markMasqBit", "externalSetMarkChain", "conditionsV4", "conditionsV6",
                "masqAll"},
}
# An offload config stands in for the node's default network: its name is the cluster CNI's
# own network name (the offload guides' NADs), not the NAD's.
OFFLOAD_NETWORK_NAMES = {"ovn-k8s-cni-overlay": "ovn-kubernetes", "antrea": "antrea"}

_V = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]
# The newest cniVersion each plugin accepts: the versions its skel.PluginMain call declares, at
# the release dualnet pins. rdma-cni v1.1.0 lists 0.1.0..0.4.0 itself; ib-sriov-cni v1.1.1 and
# ipoib-cni v1.2.0 take version.All of libcni v1.1.2 (..1.0.0); sriov-cni v2.9.0, whereabouts
# v0.9.3 and containernetworking plugins v1.6.2 take version.All of libcni >= v1.2 (..1.1.0).
# A conflist's version must suit every plugin in it.
PLUGIN_MAX_VERSION: dict[str, str] = {
    "rdma": "0.4.0",
    "ib-sriov": "1.0.0",
    "ipoib": "1.0.0",
}


def versions_of(plugin_type: str) -> list[str]:
    newest = PLUGIN_MAX_VERSION.get(plugin_type, _V[-1])
    return _V[: _V.index(newest) + 1]


IPAM_KEYS: dict[str, set[str]] = {
    "host-local": {"ranges", "subnet", "rangeStart", "rangeEnd", "gateway", "routes", "dataDir",
                   "resolvConf"},
    "static": {"addresses", "routes", "dns"},
    "dhcp": {"daemonSocketPath", "request", "provide", "priority"},
    "whereabouts": {"range", "range_start", "range_end", "exclude", "ipRanges", "gateway",
                    "routes", "dns", "addresses", "kubernetes", "enable_overlapping_ranges",
                    "network_name", "node_slice_size", "configuration_path", "log_file",
                    "log_level", "reconciler_cron_expression", "sleep_for_race",
                    "leader_lease_duration", "leader_renew_deadline", "leader_retry_period"},
}

_ENUMS: dict[tuple[str, str], set[str]] = {
    ("macvlan", "mode"): {"bridge", "private", "vepa", "passthru"},
    ("ipvlan", "mode"): {"l2", "l3", "l3s"},
    ("sriov", "spoofchk"): {"on", "off"},
    ("sriov", "trust"): {"on", "off"},
    ("sriov", "link_state"): {"auto", "enable", "disable"},
    ("ib-sriov", "link_state"): {"auto", "enable", "disable"},
}


def _cidr(value: Any, path: str, problems: list[str], *, strict: bool = True) -> Any:
    if not isinstance(value, str):
        problems.append(f"{path}: {value!r} is not a CIDR string")
        return None
    try:
        if strict:
            return ipaddress.ip_network(value, strict=True)
        return ipaddress.ip_interface(value)
    except ValueError as exc:
        problems.append(f"{path}: {value!r} is not a valid CIDR ({exc})")
        return None


def _ip(value: Any, path: str, problems: list[str]) -> Any:
    try:
        return ipaddress.ip_address(value)
    except (ValueError, TypeError):
        problems.append(f"{path}: {value!r} is not an IP address")
        return None


def _routes(routes: Any, path: str, problems: list[str]) -> None:
    if not isinstance(routes, list):
        problems.append(f"{path}: must be a list of {{dst, gw}}")
        return
    for i, r in enumerate(routes):
        rp = f"{path}[{i}]"
        if not isinstance(r, dict) or "dst" not in r:
            problems.append(f"{rp}: a route needs dst")
            continue
        net = _cidr(r["dst"], f"{rp}.dst", problems)
        if net is not None and net.prefixlen == 0:
            problems.append(f"{rp}.dst: {r['dst']} would take the pod's default route from eth0; "
                            "the secondary network must only route specific destinations")
        if "gw" in r:
            _ip(r["gw"], f"{rp}.gw", problems)


def _range(rng: dict[str, Any], path: str, problems: list[str], start_key: str,
           end_key: str, subnet_key: str) -> None:
    net = _cidr(rng.get(subnet_key), f"{path}.{subnet_key}", problems)
    if net is None:
        return
    if net.version == 4 and net.prefixlen > 30 and subnet_key == "subnet":
        problems.append(f"{path}.subnet: host-local needs /30 or wider, not /{net.prefixlen}")
    for key in (start_key, end_key, "gateway"):
        if key in rng:
            ip = _ip(rng[key], f"{path}.{key}", problems)
            if ip is not None and ip not in net:
                problems.append(f"{path}.{key}: {rng[key]} is outside {net}")


def check_ipam(ipam: Any, path: str, plugin_type: str) -> list[str]:
    problems: list[str] = []
    if not isinstance(ipam, dict):
        return [f"{path}: must be an object"]
    if not ipam:
        return problems  # {} = L2 only, allowed
    t = ipam.get("type")
    if t not in IPAM_KEYS:
        return [f"{path}.type: {t!r} is not an IPAM plugin dualnet knows "
                f"({', '.join(sorted(IPAM_KEYS))})"]
    for key in sorted(set(ipam) - IPAM_KEYS[t] - {"type"}):
        problems.append(f"{path}.{key}: unknown key for IPAM {t}")
    if plugin_type == "antrea":
        return problems  # the Antrea agent fills host-local's ranges from the node's pod CIDR
    if "routes" in ipam:
        _routes(ipam["routes"], f"{path}.routes", problems)
    if t == "host-local":
        if "subnet" not in ipam and "ranges" not in ipam:
            problems.append(f"{path}: host-local needs subnet or ranges")
        if "subnet" in ipam:
            _range(ipam, path, problems, "rangeStart", "rangeEnd", "subnet")
        for i, rset in enumerate(ipam.get("ranges", [])):
            for j, rng in enumerate(rset if isinstance(rset, list) else []):
                _range(rng, f"{path}.ranges[{i}][{j}]", problems, "rangeStart", "rangeEnd",
                       "subnet")
    elif t == "static":
        for i, a in enumerate(ipam.get("addresses", [])):
            if not isinstance(a, dict) or "address" not in a:
                problems.append(f"{path}.addresses[{i}]: needs address (CIDR)")
                continue
            _cidr(a["address"], f"{path}.addresses[{i}].address", problems, strict=False)
    elif t == "dhcp":
        if plugin_type in ("ipvlan", "ib-sriov"):
            problems.append(f"{path}.type: dhcp does not work with {plugin_type}")
    elif t == "whereabouts":
        if "range" not in ipam and "ipRanges" not in ipam:
            problems.append(f"{path}: whereabouts needs range or ipRanges")
        if "range" in ipam:
            _range(ipam, path, problems, "range_start", "range_end", "range")
        for i, e in enumerate(ipam.get("exclude", [])):
            _cidr(e, f"{path}.exclude[{i}]", problems)
        kube = ipam.get("kubernetes")
        if not isinstance(kube, dict) or not kube.get("kubeconfig"):
            problems.append(f"{path}.kubernetes.kubeconfig: required (whereabouts: 'storage "
                            "engine not configured' otherwise)")
    return problems


def check_plugin(plugin: Any, path: str, *, chained_after: int) -> list[str]:
    problems: list[str] = []
    if not isinstance(plugin, dict):
        return [f"{path}: must be an object"]
    t = plugin.get("type")
    if not isinstance(t, str) or not t:
        return [f"{path}.type: required"]
    if t not in PLUGIN_KEYS:
        return [f"{path}.type: {t!r} is not a plugin dualnet renders "
                f"({', '.join(sorted(PLUGIN_KEYS))})"]
    for key in sorted(set(plugin) - PLUGIN_KEYS[t] - COMMON_KEYS):
        problems.append(f"{path}.{key}: unknown key for plugin {t}")
    for (ptype, key), allowed in _ENUMS.items():
        if ptype == t and key in plugin and plugin[key] not in allowed:
            problems.append(f"{path}.{key}: {plugin[key]!r} is not one of "
                            f"{', '.join(sorted(allowed))}")
    if "mtu" in plugin and (not isinstance(plugin["mtu"], int) or plugin["mtu"] < 0):
        problems.append(f"{path}.mtu: must be a non-negative integer")
    caps = plugin.get("capabilities", {})
    if not isinstance(caps, dict) or not all(isinstance(v, bool) for v in caps.values()):
        problems.append(f"{path}.capabilities: must map capability names to true/false")
        caps = {}
    if t == "ipoib" and not plugin.get("master"):
        problems.append(f"{path}.master: required for ipoib")
    if t == "host-device" and not (
        any(k in plugin for k in ("device", "hwaddr", "kernelpath", "pciBusID"))
        or caps.get("deviceID")
    ):
        problems.append(f'{path}: specify either "device", "hwaddr", "kernelpath" or '
                        '"pciBusID", or capabilities.deviceID with a device plugin')
    if t == "sriov" and "vlan" in plugin:
        v = plugin["vlan"]
        if not isinstance(v, int) or not 0 <= v <= 4094:
            problems.append(f"{path}.vlan: {v!r} is not in 0..4094")
    if t in ("rdma", "portmap") and chained_after == 0:
        problems.append(f"{path}: {t} is a chained plugin; it must follow the main plugin in "
                        "a conflist")
    if "ipam" in plugin:
        problems += check_ipam(plugin["ipam"], f"{path}.ipam", t)
    elif t == "ipvlan" and chained_after == 0:
        problems.append(f"{path}.ipam: ipvlan needs ipam unless chained")
    return problems


def check_cni_config(conf: Any, *, expected_name: str | None = None) -> list[str]:
    """Problems of one CNI network config (single plugin or conflist)."""
    if not isinstance(conf, dict):
        return ["config: must be a JSON object"]
    problems: list[str] = []
    version = conf.get("cniVersion")
    if version is None:
        problems.append("cniVersion: required (missing means 0.2.0, without rich results)")
    elif version not in CNI_VERSIONS:
        problems.append(f"cniVersion: {version!r} is not a CNI spec version "
                        f"({', '.join(sorted(CNI_VERSIONS))})")
    name = conf.get("name")
    if name is not None and (not isinstance(name, str) or not _NAME.match(name)):
        problems.append(f"name: {name!r} must start alphanumeric, then alphanumerics, _ . -")
    first = (conf.get("plugins") or [{}])[0] if "plugins" in conf else conf
    main_type = first.get("type") if isinstance(first, dict) else None
    if isinstance(main_type, str) and main_type in OFFLOAD_NETWORK_NAMES:
        if name != OFFLOAD_NETWORK_NAMES[main_type]:
            problems.append(f"name: {name!r}: a {main_type} default-network config is named "
                            f"{OFFLOAD_NETWORK_NAMES[main_type]!r}")
    elif expected_name is not None and name is not None and name != expected_name:
        problems.append(f"name: {name!r} differs from the NAD name {expected_name!r}")
    if "plugins" in conf:
        plugins = conf["plugins"]
        if not isinstance(plugins, list) or not plugins:
            return [*problems, "plugins: must be a non-empty list"]
        for i, p in enumerate(plugins):
            problems += check_plugin(p, f"plugins[{i}]", chained_after=i)
            problems += _version_fits(version, p, f"plugins[{i}]")
    else:
        problems += check_plugin({k: v for k, v in conf.items()}, "config", chained_after=0)
        problems += _version_fits(version, conf, "config")
    return problems


def _version_fits(version: Any, plugin: Any, path: str) -> list[str]:
    if version not in CNI_VERSIONS or not isinstance(plugin, dict):
        return []
    problems: list[str] = []
    types = [(plugin.get("type"), path)]
    ipam = plugin.get("ipam")
    if isinstance(ipam, dict) and ipam.get("type"):
        types.append((ipam["type"], f"{path}.ipam"))
    for t, where in types:
        if isinstance(t, str) and version not in versions_of(t):
            problems.append(f"cniVersion: {version} is newer than {t} supports ({where}: at most "
                            f"{versions_of(t)[-1]})")
    return problems
