"""What the lab checks after the attachments, and what it verifies after teardown. Every
check carries the evidence it saw (a route line, an operstate, a ping summary)."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from dualnet.lab import netns
from dualnet.lab.models import Check, PodInterface, PodReport
from dualnet.lab.rewrite import LabConfig
from dualnet.lab.topology import Topology

_OK_STATES = {"UP", "UNKNOWN"}  # UNKNOWN: drivers that do not report operstate


def _route_text(r: dict[str, Any]) -> str:
    parts = [str(r.get("dst", ""))]
    if r.get("gateway"):
        parts.append(f"via {r['gateway']}")
    if r.get("dev"):
        parts.append(f"dev {r['dev']}")
    return " ".join(parts)


def describe_pod(pod: PodReport) -> None:
    """Fill the pod's interfaces and routes from the kernel, not from the CNI result."""
    pod.interfaces = []
    for item in netns.links(pod.netns):
        if item.get("ifname") == "lo":
            continue
        addrs = [f"{a['local']}/{a['prefixlen']}" for a in item.get("addr_info") or []
                 if a.get("scope") != "link"]
        pod.interfaces.append(PodInterface(
            name=str(item.get("ifname")), mac=str(item.get("address", "")),
            state=str(item.get("operstate", "")), mtu=int(item.get("mtu", 0)), addresses=addrs))
    pod.routes = [_route_text(r) for r in netns.routes(pod.netns)]


def _addresses(pod: PodReport, ifname: str) -> list[str]:
    for itf in pod.interfaces:
        if itf.name == ifname:
            return itf.addresses
    return []


def check_default_route(pod: PodReport) -> Check:
    defaults = [r for r in pod.routes if r.startswith("default")]
    ok = bool(defaults) and all(r.endswith("dev eth0") for r in defaults)
    evidence = "; ".join(defaults) or "no default route"
    if not ok and len(defaults) > 1:
        evidence += " (a secondary network installed a default route: it can take pod egress)"
    return Check(name="default-route-on-eth0", pod=pod.pod, passed=ok, evidence=evidence)


def check_master(topo: Topology, lab: LabConfig) -> list[Check]:
    """The master's real operstate: a DOWN master is no CNI error, pods just lose carrier."""
    nic = topo.node_nic or lab.master
    if not nic:
        return []
    out = []
    for node in topo.nodes:
        state = netns.operstate(nic, node)
        out.append(Check(name="master-up", pod=node, passed=state in _OK_STATES,
                         evidence=f"{nic} operstate {state} in {node}"))
    return out


def check_net1_up(pod: PodReport, ifname: str) -> Check:
    itf = next((i for i in pod.interfaces if i.name == ifname), None)
    state = itf.state if itf else "ABSENT"
    return Check(name=f"{ifname}-up", pod=pod.pod, passed=state in _OK_STATES,
                 evidence=f"{ifname} operstate {state}")


def check_unique(pods: list[PodReport], ifname: str, lab: LabConfig) -> Check:
    owners: dict[str, list[str]] = defaultdict(list)
    for pod in pods:
        for cidr in _addresses(pod, ifname):
            owners[str(ipaddress.ip_interface(cidr).ip)].append(pod.pod)
    dups = {ip: who for ip, who in owners.items() if len(who) > 1}
    if dups:
        text = "; ".join(f"{ip} on {', '.join(who)}" for ip, who in dups.items())
        if "static" in lab.ipam_types:
            text += (" (static IPAM keeps no state: give each pod its own address with the "
                     "`ips` capability and the networks annotation, or use host-local/whereabouts)")
        return Check(name="addresses-unique", passed=False, evidence=text)
    return Check(name="addresses-unique", passed=True,
                 evidence=f"{len(owners)} distinct {ifname} address(es) on {len(pods)} pod(s)")


def _ping_pair(src: PodReport, dst: PodReport, ifname: str) -> Check:
    dst_ips = [str(ipaddress.ip_interface(a).ip) for a in _addresses(dst, ifname)]
    if not dst_ips:
        return Check(name=f"reach-over-{ifname}", pod=src.pod, passed=False,
                     evidence=f"{dst.pod} has no address on {ifname}")
    ok, summary = netns.ping(src.netns, ifname, dst_ips[0], wait_s=2)
    return Check(name=f"reach-over-{ifname}", pod=src.pod, passed=ok,
                 evidence=f"ping -I {ifname} {dst_ips[0]} ({dst.pod}): {summary}")


def check_reach(pods: list[PodReport], ifname: str) -> list[Check]:
    """Each pod pings the next one (a ring) over `ifname`: every pod sends and answers once."""
    if len(pods) < 2:
        return []
    if not any(_addresses(p, ifname) for p in pods):
        return [Check(name=f"reach-over-{ifname}", passed=True,
                      evidence="no IPAM on this network (L2 only): nothing to ping")]
    pairs = [(pods[i], pods[(i + 1) % len(pods)]) for i in range(len(pods))]
    if len(pods) == 2:
        pairs = pairs[:2]
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda p: _ping_pair(p[0], p[1], ifname), pairs))


def run_checks(topo: Topology, lab: LabConfig, pods: list[PodReport],
               ifname: str) -> list[Check]:
    out: list[Check] = []
    for pod in pods:
        out.append(check_default_route(pod))
        out.append(check_net1_up(pod, ifname))
    out.extend(check_master(topo, lab))
    out.append(check_unique(pods, ifname, lab))
    out.extend(check_reach(pods, ifname))
    return out


# --- after teardown -----------------------------------------------------------------------------


def leftover_links(topo: Topology) -> list[str]:
    """After DEL: pods hold only lo; nodes hold no host-side veths; host-device is back home."""
    out: list[str] = []
    existing = set(netns.list_netns(topo.names.prefix))
    for ns in topo.created:
        if ns not in existing:
            continue
        try:
            names = [str(i.get("ifname")) for i in netns.links(ns)]
        except netns.IpError:
            # a namespace file without a namespace behind it: `ip netns add` killed halfway
            # (a signal kills the running child). It holds no links; destroy removes the file
            # and leftover_namespaces verifies that.
            continue
        if ns == topo.names.wire:
            continue
        if ns not in topo.nodes:  # a pod
            extra = [n for n in names if n != "lo"]
            if extra:
                out.append(f"pod {ns} still has {', '.join(extra)}")
        else:
            veths = [n for n in names if n.startswith("veth")]
            if veths:
                out.append(f"{ns} still has host-side {', '.join(veths)}")
            if topo.device and topo.device not in names:
                out.append(f"{ns}: host-device {topo.device} did not come back")
    # the root netns must never see any of the lab's own link names
    root = {str(i.get("ifname")) for i in _root_links()}
    ours = {topo.names.primary_bridge}
    ours |= {topo.names.wire_port(k) for k in range(len(topo.nodes))}
    out.extend(f"root netns has {n}" for n in sorted(root & ours))
    return out


def _root_links() -> list[dict[str, Any]]:
    import json

    data: list[dict[str, Any]] = json.loads(netns.run_ip(["-j", "link", "show"]) or "[]")
    return data


def leftover_reservations(data_dir: Path) -> list[str]:
    """host-local keeps `<dataDir>/<network>/<ip>` per reservation; after DEL only `lock` and
    `last_reserved_ip.N` may remain."""
    if not data_dir.is_dir():
        return []
    out = []
    for f in sorted(data_dir.glob("*/*")):
        if f.name == "lock" or f.name.startswith("last_reserved_ip"):
            continue
        out.append(f"host-local reservation {f.parent.name}/{f.name}")
    return out


def leftover_namespaces(topo: Topology) -> list[str]:
    return [f"namespace {n}" for n in netns.list_netns(topo.names.prefix + "-")]
