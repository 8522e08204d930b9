"""Which PCI functions of a node a device plugin advertises, and where a DRA driver would hand
out the same ones (over-admission): the one derivation behind the render warning
(`render --target dra`) and the doctor rule `dra.device-plugin-overlap`.

Selector semantics are the plugins' own:

* SR-IOV network device plugin v3.9.0 (pkg/netdevice/netDeviceProvider.go, pkg/resources/
  deviceSelectors.go): candidates are the network-class PCI functions without a default route,
  less the PFs that have VFs configured; the non-empty selectors are ANDed (vendors, devices,
  drivers, pciAddresses, pfNames and rootDevices, which match VFs only, by their PF's netdev or
  PCI address and an optional `#first-last` VF index range, linkTypes, isRdma); a resource with
  several selector objects takes the union.
* RDMA shared device plugin v1.5.3 (pkg/resources/device_selectors.go, resources_manager.go):
  every network-class PCI function; vendors, deviceIDs, drivers, ifNames, linkTypes ANDed.

`resources_from_config` reads the plugins' config.json (`resourceList` / `configList`), so the
live ConfigMaps, a NicClusterPolicy and dualnet's own rendered copies go through one reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from dualnet.host.models import (
    DevicePluginResource,
    HostReport,
    Nic,
    PluginName,
    PluginSelector,
)

SRIOV_PLUGIN: Final = "sriov-network-device-plugin"
SHARED_PLUGIN: Final = "rdma-shared-device-plugin"
_SRIOV_DEFAULT_PREFIX = "intel.com"  # cmd/sriovdp/main.go --resource-prefix default
_SHARED_DEFAULT_PREFIX = "rdma"
_NET_CLASS = "0x02"
# config.json key -> PluginSelector field; the SR-IOV plugin's `IsRdma` has no JSON tag, and Go
# matches JSON keys to it case-insensitively
_KEYS = {
    "vendors": "vendors", "devices": "devices", "deviceids": "devices", "drivers": "drivers",
    "pciaddresses": "pci_addresses", "pfnames": "pf_names", "rootdevices": "root_devices",
    "linktypes": "link_types", "ifnames": "if_names", "isrdma": "is_rdma",
}
_RANGE = re.compile(r"^\d+(-\d+)?$")


class ConfigError(ValueError):
    """A device plugin config that is not one: the message names the field."""


def resources_from_config(config: Any, *, source: str) -> list[DevicePluginResource]:
    """The resources of one plugin config.json (already decoded): `resourceList` (SR-IOV network
    device plugin) or `configList` (RDMA shared device plugin)."""
    if not isinstance(config, dict):
        raise ConfigError(f"{source}: config.json is not a JSON object")
    plugin: PluginName
    if "resourceList" in config:
        plugin, key, prefix = SRIOV_PLUGIN, "resourceList", _SRIOV_DEFAULT_PREFIX
    elif "configList" in config:
        plugin, key, prefix = SHARED_PLUGIN, "configList", _SHARED_DEFAULT_PREFIX
    else:
        raise ConfigError(f"{source}: config.json has neither resourceList (SR-IOV network "
                          "device plugin) nor configList (RDMA shared device plugin)")
    entries = config[key]
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: {key} is not a list")
    out: list[DevicePluginResource] = []
    for i, entry in enumerate(entries):
        where = f"{source}: {key}[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("resourceName"), str):
            raise ConfigError(f"{where}: an entry without a resourceName string")
        if entry.get("deviceType") not in (None, "netDevice"):
            continue  # accelerators and auxiliary (SF) devices are not PCI network functions
        raw = entry.get("selectors", {})
        if plugin == SHARED_PLUGIN and not raw and entry.get("devices"):
            raw = {"ifNames": entry["devices"]}  # the shared plugin's legacy `devices` list
        objs = raw if isinstance(raw, list) else [raw]
        out.append(DevicePluginResource(
            plugin=plugin,
            resource_name=f"{entry.get('resourcePrefix') or prefix}/{entry['resourceName']}",
            selectors=[_selector(o, f"{where}.selectors") for o in objs],
            source=source,
        ))
    return out


def _selector(obj: Any, where: str) -> PluginSelector:
    if not isinstance(obj, dict):
        raise ConfigError(f"{where}: not an object")
    fields: dict[str, Any] = {}
    for key, value in obj.items():
        name = _KEYS.get(key.lower())
        if name is None:
            continue  # ddpProfiles, acpiIndexes, pKeys, vdpaType: not in the node facts
        if name == "is_rdma":
            fields[name] = value is True
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            fields[name] = value
        else:
            raise ConfigError(f"{where}.{key}: expected a list of strings")
    return PluginSelector(**fields)


def _link_type(nic: Nic) -> str | None:
    if nic.link_type:
        return nic.link_type
    return "infiniband" if nic.pci_class == "0x020700" else None


def _indexed(items: list[str], name: str | None, index: int | None) -> bool:
    """pfNames / rootDevices: `name` alone, or `name#0-3,5`, compared case-insensitively."""
    if not name or index is None:
        return False
    for item in items:
        head, _, ranges = item.partition("#")
        if head.lower() != name.lower():
            continue
        if not ranges:
            return True
        for part in ranges.split(","):
            if _RANGE.match(part):
                first, _, last = part.partition("-")
                if int(first) <= index <= int(last or first):
                    return True
    return False


def _matches(report: HostReport, res: DevicePluginResource, sel: PluginSelector,
             nic: Nic) -> bool:
    pf = report.nic_by_pci(nic.pf_pci_address) if nic.pf_pci_address else None
    netdevs = {nic.netdev, *nic.netdevs} - {None}
    checks: list[tuple[list[str], bool]] = [
        (sel.vendors, nic.vendor_id in sel.vendors),
        (sel.devices, nic.device_id in sel.devices),
        (sel.drivers, nic.driver in sel.drivers),
        (sel.link_types, _link_type(nic) in sel.link_types),
    ]
    if res.plugin == SRIOV_PLUGIN:
        checks += [
            (sel.pci_addresses, nic.pci_address in sel.pci_addresses),
            (sel.pf_names, nic.is_vf and pf is not None
             and _indexed(sel.pf_names, pf.netdev, nic.vf_index)),
            (sel.root_devices, nic.is_vf
             and _indexed(sel.root_devices, nic.pf_pci_address, nic.vf_index)),
        ]
    else:
        checks.append((sel.if_names, bool(netdevs & set(sel.if_names))))
    if sel.is_rdma and res.plugin == SRIOV_PLUGIN and not nic.rdma_devices:
        return False
    return all(ok for values, ok in checks if values)


def _candidate(report: HostReport, res: DevicePluginResource, nic: Nic) -> bool:
    if nic.pci_class is not None and not nic.pci_class.startswith(_NET_CLASS):
        return False
    if res.plugin == SHARED_PLUGIN:
        return True
    if {nic.netdev, *nic.netdevs} & report.default_route_netdevs():
        return False
    return not (nic.sriov_numvfs or nic.vfs)  # a PF with VFs configured: its VFs are the pool


def advertises(report: HostReport, res: DevicePluginResource, nic: Nic) -> bool:
    """Whether the plugin would advertise `nic` (a function of `report`) under `res`."""
    return _candidate(report, res, nic) and any(_matches(report, res, s, nic)
                                                for s in res.selectors)


def selected_functions(report: HostReport, res: DevicePluginResource) -> list[str]:
    """The PCI addresses of the node's functions `res` advertises."""
    return sorted(n.pci_address for n in report.nics if advertises(report, res, n))


def plugin_functions(report: HostReport) -> dict[str, list[str]] | None:
    """PCI address -> the device-plugin resources that advertise it on this node; None where
    the node's device-plugin configs were not read."""
    if report.device_plugins is None:
        return None
    out: dict[str, list[str]] = {}
    for res in report.device_plugins:
        for pci in selected_functions(report, res):
            out.setdefault(pci, []).append(res.resource_name)
    return {pci: sorted(set(names)) for pci, names in sorted(out.items())}


@dataclass(frozen=True)
class Overlap:
    """One PCI function that a device plugin and a DRA driver would both hand out."""

    pci_address: str
    plugin_resources: tuple[str, ...]
    dra: str  # the DRA side: 'DeviceClass x (driver dra.net)' or 'dra.net/eth1'


def overlaps(plugin: dict[str, list[str]], dra: dict[str, str]) -> list[Overlap]:
    """The functions in both maps (PCI address -> who advertises it), in address order."""
    return [Overlap(pci, tuple(plugin[pci]), dra[pci]) for pci in sorted(set(plugin) & set(dra))]


def describe(found: list[Overlap]) -> str:
    """'0000:01:00.0, 0000:01:00.1 (rdma/hca_shared and DeviceClass x)' for a warning or a
    finding: the functions grouped by the two sides that advertise them."""
    groups: dict[tuple[tuple[str, ...], str], list[str]] = {}
    for o in found:
        groups.setdefault((o.plugin_resources, o.dra), []).append(o.pci_address)
    return "; ".join(f"{', '.join(pcis)} ({' and '.join(plugin)} and {dra})"
                     for (plugin, dra), pcis in groups.items())


def overlap_fix(found: list[Overlap]) -> list[str]:
    """What to do about `found`, the same for the render warning and the doctor finding."""
    pcis = ", ".join(o.pci_address for o in found)
    names = ", ".join(sorted({r for o in found for r in o.plugin_resources}))
    return [
        f"# take {pcis} out of the device plugin resource(s) {names}: narrow their selectors "
        "(pciAddresses / pfNames / ifNames) in the sriovdp-config or rdma-devices ConfigMap "
        "(or the NicClusterPolicy), or remove the plugin from these nodes",
        "kubectl -n kube-system rollout restart daemonset/kube-sriov-device-plugin   # or "
        "daemonset/rdma-shared-dp-ds (the names dualnet renders): a plugin reads its config at "
        "start",
        "# then: kubectl describe node NODE shows the resource without those functions",
    ]
