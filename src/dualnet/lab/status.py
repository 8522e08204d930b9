"""The `k8s.v1.cni.cncf.io/network-status` entries Multus would write for one attachment,
computed from the CNI ADD result the way Multus does it."""

from __future__ import annotations

from typing import Any

from dualnet.parse.network_status import Dns, NetworkStatus

_DEFAULT_DSTS = {"0.0.0.0/0", "::/0", ""}


def _gateways(result: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for route in result.get("routes") or []:
        if str(route.get("dst", "")) in _DEFAULT_DSTS and route.get("gw"):
            out.append(str(route["gw"]))
    return out


def _legacy_ips(result: dict[str, Any]) -> list[dict[str, Any]]:
    """0.1.0/0.2.0 results carry `ip4`/`ip6` instead of `ips`."""
    out = []
    for key in ("ip4", "ip6"):
        item = result.get(key)
        if isinstance(item, dict) and item.get("ip"):
            out.append({"address": item["ip"]})
    return out


def network_status(result: dict[str, Any], network_name: str, *,
                   default: bool = False) -> list[NetworkStatus]:
    """One entry per sandbox interface of `result`; IPs bare, as Multus writes them (the
    NetworkStatus model drops the CIDR's prefix length)."""
    ips = result.get("ips") or _legacy_ips(result)
    interfaces = result.get("interfaces") or []
    dns = Dns.model_validate(result.get("dns") or {})
    gateway = _gateways(result)
    sandboxes = [i for i, itf in enumerate(interfaces) if itf.get("sandbox")]
    entries: list[NetworkStatus] = []
    if not sandboxes:
        # no interface list: every IP belongs to the one (unnamed) attachment
        cidrs = [str(ip["address"]) for ip in ips]
        return [NetworkStatus(name=network_name, ips=cidrs, default=default, dns=dns,
                              gateway=gateway)]
    for index in sandboxes:
        itf = interfaces[index]
        cidrs = [str(ip["address"]) for ip in ips if ip.get("interface") == index]
        mtu = itf.get("mtu")
        entries.append(NetworkStatus(
            name=network_name, interface=str(itf.get("name") or "") or None, ips=cidrs,
            mac=str(itf.get("mac") or "") or None, mtu=mtu if isinstance(mtu, int) else None,
            default=default, dns=dns, gateway=gateway))
    return entries
