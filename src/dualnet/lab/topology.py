"""The lab's namespaces and links: a wire (the switch), one or more nodes each holding the
training NIC as a veth whose peer sits on the wire bridge, and the pods."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dualnet.errors import UsageError
from dualnet.lab import netns
from dualnet.lab.rewrite import LabConfig, cidrs_in
from dualnet.names import check_ifname

PREFIX = "dnlab-"
WIRE_BRIDGE = "dnwire"
PRIMARY_NETWORK = "dnlab-pods"
# Runs sharing a machine (two CI jobs, two test suites) set this so each can tell its own
# namespaces from the other's: every generated run id starts with it.
RUN_PREFIX_ENV = "DUALNET_LAB_RUN_PREFIX"
# the run id ends up in interface names ("dnbr-<id>", IFNAMSIZ 15): the prefix plus the 4 random
# hex digits of a run id must stay within 10 characters
_RUN_PREFIX = re.compile(r"[a-z0-9]{0,6}")
_POD_SUBNETS = ("10.244.0.0/24", "10.245.0.0/24", "172.30.0.0/24", "100.64.0.0/24")


def run_id_prefix(environ: Mapping[str, str]) -> str:
    """The prefix of generated run ids ($DUALNET_LAB_RUN_PREFIX, empty when unset)."""
    value = environ.get(RUN_PREFIX_ENV, "")
    if not _RUN_PREFIX.fullmatch(value):
        raise UsageError(f"{RUN_PREFIX_ENV}={value!r} is not a run id prefix",
                         hint="use up to 6 lowercase letters or digits (the run id becomes part "
                              "of interface names of at most 15 characters)")
    return value


@dataclass
class Names:
    run_id: str

    @property
    def prefix(self) -> str:
        return f"{PREFIX}{self.run_id}"

    @property
    def wire(self) -> str:
        return f"{self.prefix}-wire"

    def node(self, k: int) -> str:
        return f"{self.prefix}-node" if k == 0 else f"{self.prefix}-node{k}"

    def pod(self, i: int) -> str:
        return f"{self.prefix}-p{i}"

    def container_id(self, i: int) -> str:
        return f"{self.prefix}-c{i}"

    def wire_port(self, k: int) -> str:
        return f"dnw{k}-{self.run_id}"

    @property
    def primary_bridge(self) -> str:
        return f"dnbr-{self.run_id}"


@dataclass
class Topology:
    names: Names
    nodes: list[str] = field(default_factory=list)
    node_nic: str | None = None  # the master as the node has it
    device: str | None = None
    created: list[str] = field(default_factory=list)  # namespaces, in creation order

    def node_of(self, pod_index: int) -> str:
        return self.nodes[pod_index % len(self.nodes)]


def pod_subnet(config: dict[str, Any]) -> str:
    """A pod-network subnet that overlaps nothing in the NAD's IPAM."""
    taken = cidrs_in(config)
    for cand in _POD_SUBNETS:
        net = ipaddress.ip_network(cand)
        if not any(net.version == t.version and net.overlaps(t) for t in taken):
            return cand
    return _POD_SUBNETS[-1]


def primary_config(names: Names, subnet: str, run_dir: Path) -> dict[str, Any]:
    """The cluster network stand-in: bridge + host-local, default route on eth0."""
    return {
        "cniVersion": "1.0.0",
        "name": PRIMARY_NETWORK,
        "type": "bridge",
        "bridge": names.primary_bridge,
        "isGateway": True,
        "isDefaultGateway": True,
        "ipam": {"type": "host-local", "subnet": subnet,
                 "dataDir": str(run_dir / "host-local")},
    }


def build(topo: Topology, lab: LabConfig, node_count: int) -> None:
    """Wire, nodes and their NICs. Veths are created straight inside the namespaces, so
    nothing ever appears in the root netns."""
    names = topo.names
    # each name is recorded before it is created: a signal between the two must not leak it
    topo.created.append(names.wire)
    netns.create_netns(names.wire)
    netns.add_bridge(WIRE_BRIDGE, names.wire)
    netns.link_up(WIRE_BRIDGE, names.wire)
    nic = topo.node_nic or lab.master
    for k in range(node_count):
        node = names.node(k)
        topo.created.append(node)
        topo.nodes.append(node)
        netns.create_netns(node)
        ifname = nic or lab.device
        if not ifname:
            continue
        check_ifname(ifname, field="host-device device" if lab.device else "master")
        port = names.wire_port(k)
        netns.add_veth(ifname, node, port, names.wire)
        if lab.device_mac and lab.device:
            netns.run_ip(["link", "set", ifname, "address", lab.device_mac], netns=node)
        if lab.mtu != 1500:
            # a training NIC runs jumbo frames; the plugin refuses an mtu above its master's
            netns.run_ip(["link", "set", ifname, "mtu", str(lab.mtu)], netns=node)
            netns.run_ip(["link", "set", port, "mtu", str(lab.mtu)], netns=names.wire)
        netns.set_master(port, WIRE_BRIDGE, names.wire)
        netns.link_up(port, names.wire)
        netns.link_up(ifname, node)
    topo.device = (nic or lab.device) if lab.device else None


def add_pod(topo: Topology, i: int) -> str:
    name = topo.names.pod(i)
    topo.created.append(name)
    netns.create_netns(name)
    return name


def destroy(topo: Topology) -> None:
    # pods first (their veths die with them), then nodes, then the wire
    for name in reversed(topo.created):
        netns.delete_netns(name)
