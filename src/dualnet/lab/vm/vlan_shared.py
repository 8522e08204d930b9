"""Shared RoCE over a `vlan` NAD on Soft-RoCE: two tenants (VLANs) on one rxe device per node,
each pod transferring with the GID index dualnet derives for it, and the node-wide index shown
to pick another pod's GID.

The layout (Linux refuses two vlan uppers with one id on one master, so a vlan NAD has one pod
per node): two nodes whose masters are the two ends of the lab's wire, one rxe device on each
master; tenant A is the NAD under test (its pods from `run_lab`), tenant B a second vlan NAD
that differs only in `vlanId` and its addresses, attached with the same real `vlan` plugin.

What rxe needs for this, read from drivers/infiniband/sw/rxe of the 7.x line and observed on
7.3.4:
- Send: `rxe_init_packet()` takes the netdev from the QP's source GID (`ndev` of the GID
  entry), so a pod's packets leave through the vlan upper that holds its GID, routed in that
  netdev's namespace. The GID index decides the source address and the VLAN.
- Receive: the UDP/4791 tunnel socket is per network namespace (rxe_ns.c) and is created only
  when an rxe device is added on a netdev of that namespace (`rxe_net_ipv4_init`). A pod's
  vlan upper lives in the pod's namespace, where no rxe device is: the packet finds no socket
  (the namespace's UDP NoPorts counter rises) and is dropped. Where a socket exists,
  `rxe_udp_encap_recv()` finds no rxe device on the vlan upper and falls back to
  `vlan_dev_real_dev()`, the master's device: the shared device receives it.
- So the lab opens that socket in each pod namespace with an rxe device on a dummy netdev
  (a "socket anchor" that carries no traffic and holds no IPv4 GID). RoCE hardware steers
  packets in the NIC and needs no such socket: the anchor stands in for that, and the run also
  shows the transfer failing without it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from dualnet.errors import UsageError
from dualnet.host.models import Gid
from dualnet.host.roce import pod_roce_v2_gid, roce_v2_ipv4_gid_index
from dualnet.lab import conflist, netns, topology, where
from dualnet.lab.host import find_cni_bin
from dualnet.lab.models import Check, PodInterface, PodReport
from dualnet.lab.rewrite import LabConfig
from dualnet.lab.topology import Topology
from dualnet.lab.vm import rdma
from dualnet.render import podhelper

# tenant B's addresses: the benchmarking range (RFC 2544), never a real network's
TENANT_B_SUBNETS = ("198.18.0.0/24", "198.18.1.0/24")
ANCHOR_IF = "dnsock"
BYTES = rdma.BW_SIZE * rdma.BW_ITERS
LABEL = "vlan-shared"


@dataclass
class SharedPod:
    pod: PodReport
    node: int
    ipv4: str
    tenant: str  # "A" (the NAD under test) or "B" (the second vlan)
    derived: int | None = None
    helper: str = ""  # what `dualnet-pod nccl-exec` exported, as text


def vlan_of(config: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The vlan plugin object of a conf or conflist, and its vlanId."""
    for plugin in conflist.chain(config):
        if plugin.get("type") == "vlan":
            vid = plugin.get("vlanId")
            if not isinstance(vid, int) or not 0 < vid < 4095:
                raise UsageError(f"vlanId {vid!r}: not a VLAN id", hint="1 to 4094")
            return plugin, vid
    raise UsageError("the NAD has no `vlan` plugin")


def other_vlan(vid: int) -> int:
    return vid + 1 if vid < 4094 else vid - 1


def tenant_b_subnet(config: dict[str, Any]) -> ipaddress.IPv4Network:
    """A subnet for tenant B that overlaps nothing the NAD declares."""
    from dualnet.lab.rewrite import cidrs_in

    taken = cidrs_in(config)
    for cand in TENANT_B_SUBNETS:
        net = ipaddress.IPv4Network(cand)
        if not any(t.version == 4 and net.overlaps(t) for t in taken):
            return net
    return ipaddress.IPv4Network(TENANT_B_SUBNETS[-1])


def tenant_b_config(config: dict[str, Any], address: str) -> dict[str, Any]:
    """Tenant B's NAD: the vlan plugin of `config` on the next VLAN id, one static address."""
    plugin, vid = vlan_of(config)
    conf = {k: v for k, v in plugin.items() if k not in ("ipam", "prevResult")}
    conf.update({"cniVersion": str(config.get("cniVersion", plugin.get("cniVersion", "1.0.0"))),
                 "name": f"{config.get('name', 'vlan')}-tenant-b", "vlanId": other_vlan(vid),
                 "ipam": {"type": "static", "addresses": [{"address": address}]}})
    return conf


def helper_index(text: str) -> int | None:
    m = re.search(r"^NCCL_IB_GID_INDEX=(\d+)$", text, re.M)
    return int(m.group(1)) if m else None


def _bytes(pod: SharedPod) -> tuple[int, int]:
    """(tx, rx) bytes of the pod's net1."""
    res = where.in_netns(pod.pod.netns, ["cat", f"/sys/class/net/{rdma.IFNAME}/statistics/"
                                         "tx_bytes", f"/sys/class/net/{rdma.IFNAME}/"
                                         "statistics/rx_bytes"])
    vals = [int(x) for x in res.out.split() if x.isdigit()]
    return (vals[0], vals[1]) if len(vals) == 2 else (0, 0)


def _udp_noports(netns_name: str) -> int:
    res = where.in_netns(netns_name, ["cat", "/proc/net/snmp"])
    rows = [line.split() for line in res.out.splitlines() if line.startswith("Udp:")]
    if len(rows) >= 2 and "NoPorts" in rows[0]:
        col = rows[0].index("NoPorts")
        return int(rows[1][col]) if rows[1][col].isdigit() else 0
    return 0


def _bw(server: SharedPod, s_dev: str, s_idx: int, client: SharedPod, c_dev: str, c_idx: int,
        timeout_s: float) -> rdma.PairResult:
    return rdma.write_bw_pair(server.pod.netns, s_dev, s_idx, client.pod.netns, c_dev, c_idx,
                              server.ipv4, timeout_s=timeout_s)


class _Run:
    """One proof run: what it created, so `close` removes exactly that."""

    def __init__(self, topo: Topology, lab: LabConfig) -> None:
        self.topo, self.lab = topo, lab
        self.rid = topo.names.run_id
        self.rxe: list[tuple[str, str | None]] = []
        self.anchors: list[str] = []  # pod namespaces holding an anchor dummy
        self.attached: list[tuple[dict[str, Any], conflist.Attachment,
                                  dict[str, Any] | None]] = []

    def close(self) -> None:
        for ibdev, ns in reversed(self.rxe):
            rdma.delete_rxe(ibdev, ns)
        for ns in self.anchors:
            netns.run_ip(["link", "del", ANCHOR_IF], netns=ns, check=False)
        for conf, att, result in reversed(self.attached):
            conflist.delete(conf, att, result)

    def add_tenant_b(self, count: int, first: int) -> tuple[list[SharedPod], str]:
        """Tenant B's pods, one per node, attached with the real vlan plugin."""
        bin_dir = find_cni_bin(None)
        subnet = tenant_b_subnet(self.lab.config)
        hosts = list(subnet.hosts())
        out: list[SharedPod] = []
        names = self.topo.names
        for k in range(count):
            i = first + k
            ns = topology.add_pod(self.topo, i)
            address = f"{hosts[k]}/{subnet.prefixlen}"
            conf = tenant_b_config(self.lab.config, address)
            att = conflist.Attachment(
                bin_dir=bin_dir, netns_path=netns.netns_path(ns), ifname=rdma.IFNAME,
                container_id=names.container_id(i), run_in_netns=self.topo.nodes[k],
                cni_args=f"IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME="
                f"{names.pod(i)};K8S_POD_INFRA_CONTAINER_ID={names.container_id(i)}")
            outcome = conflist.add(conf, att)
            self.attached.append((conf, att, outcome.result))
            if outcome.error is not None:
                return out, f"tenant B ADD (vlan {conf['vlanId']}) in {ns}: " \
                    f"{outcome.error.text()}"
            pod = PodReport(pod=names.pod(i), netns=ns, container_id=names.container_id(i),
                            interfaces=[PodInterface(name=rdma.IFNAME, addresses=[address])])
            out.append(SharedPod(pod=pod, node=k, ipv4=str(hosts[k]), tenant="B"))
        return out, ""

    def add_anchor(self, pod: SharedPod, n: int) -> str:
        netns.run_ip(["link", "add", ANCHOR_IF, "type", "dummy"], netns=pod.pod.netns)
        self.anchors.append(pod.pod.netns)
        ibdev = f"rx{self.rid}s{n}"
        ok, err = rdma.add_rxe(ibdev, ANCHOR_IF, pod.pod.netns)
        if ok:
            self.rxe.append((ibdev, pod.pod.netns))
        return "" if ok else err


def _run_helper(pod: SharedPod) -> str:
    """The pod's own `dualnet-pod nccl-exec`, on this kernel's sysfs, printing what it
    exports (the command it execs is `env`)."""
    # the script goes on stdin, not by its host path: the guest sees the host's / but its own
    # tmpfs /tmp (and a checkout may live under /tmp)
    res = where.in_netns(pod.pod.netns, ["sh", "-s", "nccl-exec", "--", "env"],
                         stdin=podhelper.SCRIPT.encode(), timeout_s=180)
    keep = [line for line in res.out.splitlines() if line.startswith("NCCL_IB_")]
    return "\n".join(sorted(keep)) if res.ok else f"rc {res.returncode}: {res.err.strip()[-160:]}"


def vlan_shared_checks(topo: Topology, lab: LabConfig, pods: list[PodReport]) -> list[Check]:
    """The shared-mode proof on a vlan NAD (module docstring); removes all it created."""
    if len(topo.nodes) < 2 or len(pods) < 2:
        return [Check(name=f"rdma-write-{LABEL}", pod=pods[0].pod if pods else "",
                      passed=False, skipped=True,
                      evidence="needs two pods on two nodes (a vlan NAD has one pod per node: "
                      "Linux refuses two vlan uppers with one id on one master): run --pods 2")]
    master = topo.node_nic or lab.master
    assert master is not None
    run = _Run(topo, lab)
    out: list[Check] = []
    try:
        a_pods = []
        for k, p in enumerate(pods[:2]):
            ip = rdma.pod_ipv4(p)
            if ip is None:
                return [Check(name=f"rdma-write-{LABEL}", pod=p.pod, passed=False,
                              evidence=f"{rdma.IFNAME} has no IPv4 address: RoCE v2 needs one")]
            a_pods.append(SharedPod(pod=p, node=k, ipv4=ip, tenant="A"))
        b_pods, problem = run.add_tenant_b(2, first=len(pods))
        if problem:
            return [Check(name="tenant-b-attached", pod=topo.names.pod(len(pods)), passed=False,
                          evidence=problem)]
        out.extend(_proof(run, master, a_pods, b_pods))
    finally:
        run.close()
    return out


def _proof(run: _Run, master: str, a_pods: list[SharedPod],
           b_pods: list[SharedPod]) -> list[Check]:
    topo = run.topo
    out: list[Check] = []
    devs: list[str] = []
    for k, node in enumerate(topo.nodes[:2]):
        ibdev = f"rx{run.rid}n{k}"
        ok, err = rdma.add_rxe(ibdev, master, node)
        if not ok:
            return [Check(name="roce-gid-on-master", pod=node, passed=False,
                          evidence=f"rdma link add {ibdev} type rxe netdev {master}: {err}")]
        run.rxe.append((ibdev, node))
        devs.append(ibdev)
    everyone = [*a_pods, *b_pods]
    # the GID tables are read after every address exists: the kernel adds a pod's GID when
    # the device appears, and again whenever an address is set later
    tables = [rdma.read_gid_table(d, netns=topo.nodes[k]) for k, d in enumerate(devs)]
    node_wide = [roce_v2_ipv4_gid_index(t) for t in tables]

    # without a UDP/4791 socket in the pods' namespaces: nothing arrives (rxe_ns.c)
    a0, a1 = a_pods
    derived_ok = True
    for p in everyone:
        gids = tables[p.node]
        # host.roce.pod_roce_v2_gid: the derivation plan.pod_nccl_env makes (lab may not
        # import plan); the in-pod helper is run below and must agree with it
        gid = pod_roce_v2_gid(gids, p.ipv4, rdma.IFNAME)
        p.derived = gid.index if gid is not None else None
        if gid is None:
            derived_ok = False
            out.append(Check(name="roce-gid-index-per-pod", pod=p.pod.pod, passed=False,
                             evidence=f"{devs[p.node]}: no RoCE v2 GID holds {p.ipv4} "
                             f"(ndev {rdma.IFNAME})"))
    if not derived_ok:
        return out
    assert a0.derived is not None and a1.derived is not None
    before = _udp_noports(a0.pod.netns)
    bare = _bw(a0, devs[0], a0.derived, a1, devs[1], a1.derived, rdma.WRONG_TIMEOUT_S)
    lost = _udp_noports(a0.pod.netns) - before
    out.append(Check(
        name="rxe-needs-socket-in-pod-netns", pod=a1.pod.pod, passed=not bare.ok,
        evidence=f"ib_write_bw {a1.pod.pod} -> {a0.pod.pod} with the derived indexes before "
        "any rxe socket exists in the pods' namespaces: "
        + (f"failed (client rc {bare.client_rc}, server rc {bare.server_rc}); UDP NoPorts in "
           f"{a0.pod.pod}'s namespace +{lost} (rxe_ns.c: the 4791 socket is per namespace, "
           "made by the first rxe device there)" if not bare.ok else
           "completed: this kernel receives without a socket in the pod namespace")))

    for n, p in enumerate(everyone):
        err = run.add_anchor(p, n)
        if err:
            out.append(Check(name="rxe-socket-anchor", pod=p.pod.pod, passed=False,
                             evidence=f"rdma link add on a dummy in {p.pod.netns}: {err}"))
            return out

    for p in everyone:
        gids = tables[p.node]
        p.helper = _run_helper(p)
        mine = next((g for g in gids if g.index == p.derived), None)
        wide = next((g for g in gids if g.index == node_wide[p.node]), None)
        agree = helper_index(p.helper) == p.derived
        out.append(Check(
            name="roce-gid-index-per-pod", pod=p.pod.pod,
            passed=agree and mine is not None and mine.ipv4 == p.ipv4,
            evidence=f"tenant {p.tenant} on {topo.nodes[p.node]}: {devs[p.node]} GID "
            f"{p.derived} = {p.ipv4} (ndev {mine.netdev if mine else '-'}); "
            f"dualnet-pod nccl-exec in the pod exported "
            f"{p.helper.replace(chr(10), ' ') or 'nothing'}"
            + ("" if agree else " (differs from the derivation of plan.pod_nccl_env)")
            + f"; node-wide index {node_wide[p.node]} = {_gid_text(wide)}"))
    for k in range(2):
        on_node = [p for p in everyone if p.node == k]
        wrong = [p for p in on_node if p.derived != node_wide[k]]
        out.append(Check(
            name="node-wide-gid-index-wrong", pod=topo.nodes[k], passed=bool(wrong),
            evidence=f"{devs[k]}: node-wide NCCL_IB_GID_INDEX {node_wide[k]} (plan/nccl.py, "
            "lowest RoCE v2 IPv4 GID of the node's table); per pod: "
            + ", ".join(f"{p.pod.pod} {p.derived}" for p in on_node)
            + (f"; wrong for {', '.join(p.pod.pod for p in wrong)}" if wrong else
               "; right for every pod (the proof needs a pod it is wrong for)")))

    for server, client in ((a_pods[0], a_pods[1]), (b_pods[0], b_pods[1])):
        out.extend(_derived_transfer(server, client, devs))
    out.append(_node_wide_transfer(b_pods, a_pods, devs, node_wide))
    return out


def _gid_text(g: Gid | None) -> str:
    if g is None:
        return "-"
    return f"{g.ipv4 or g.gid} (ndev {g.netdev or '-'})"


def _derived_transfer(server: SharedPod, client: SharedPod, devs: list[str]) -> list[Check]:
    assert server.derived is not None and client.derived is not None
    tx0 = _bytes(client)[0]
    res = _bw(server, devs[server.node], server.derived, client, devs[client.node],
              client.derived, rdma.TRANSFER_TIMEOUT_S)
    sent = _bytes(client)[0] - tx0
    avg = rdma.bw_average(res.client_out)
    what = (f"{client.pod.pod} -> {server.pod.pod} (tenant {client.tenant}): ib_write_bw -d "
            f"{devs[client.node]} -x {client.derived} {server.ipv4} (server -d "
            f"{devs[server.node]} -x {server.derived})")
    out = [Check(
        name=f"rdma-write-{LABEL}", pod=client.pod.pod,
        passed=res.ok and avg is not None and sent >= BYTES,
        evidence=f"{what}: {rdma.BW_ITERS} x {rdma.BW_SIZE} B, {avg} MB/s average; the pod's "
        f"own {rdma.IFNAME} sent {sent} B" if res.ok and avg else
        f"{what}: client rc {res.client_rc}, server rc {res.server_rc}: "
        f"{rdma.last_line(res.client_out or res.server_out)}")]
    ping, pings = rdma.rping_pair(server.pod.netns, client.pod.netns, server.ipv4,
                                  timeout_s=rdma.TRANSFER_TIMEOUT_S)
    out.append(Check(
        name=f"rping-{LABEL}", pod=client.pod.pod, passed=ping.ok and pings == 3,
        evidence=f"{client.pod.pod} -> {server.pod.pod}: rping -c -a {server.ipv4} -C 3 "
        "(RDMA CM resolves the shared device from the address): "
        + (f"{pings}/3 RDMA pings" if ping.ok else
           f"client rc {ping.client_rc}, server rc {ping.server_rc}: "
           f"{rdma.last_line(ping.client_out)}")))
    return out


def _node_wide_transfer(pods: list[SharedPod], others: list[SharedPod], devs: list[str],
                        node_wide: list[int | None]) -> Check:
    """Tenant B's pair with each node's node-wide index: it must not carry B's traffic over
    B's own net1 (it fails, or it runs as another pod, on that pod's VLAN)."""
    server, client = pods
    s_idx, c_idx = node_wide[server.node], node_wide[client.node]
    if s_idx is None or c_idx is None:
        return Check(name="rdma-write-node-wide-gid", pod=client.pod.pod, passed=False,
                     evidence="no node-wide index: the node's table has no RoCE v2 IPv4 GID")
    own0 = _bytes(client)[0]
    by_other = {p.pod.pod: _bytes(p)[0] for p in others if p.node == client.node}
    res = _bw(server, devs[server.node], s_idx, client, devs[client.node], c_idx,
              rdma.WRONG_TIMEOUT_S)
    own = _bytes(client)[0] - own0
    moved = {name: _bytes(next(p for p in others if p.pod.pod == name))[0] - b0
             for name, b0 in by_other.items()}
    hijacked = [f"{name} +{b} B" for name, b in moved.items() if b >= BYTES]
    what = (f"{client.pod.pod} -> {server.pod.pod} with the node-wide index "
            f"(-x {c_idx} / server -x {s_idx})")
    if not res.ok:
        text = (f"{what}: failed as it must (client rc {res.client_rc}, server rc "
                f"{res.server_rc})")
    elif hijacked:
        text = (f"{what}: completed, but as another pod: the bytes left through "
                f"{', '.join(hijacked)} on the other VLAN, while {client.pod.pod}'s own "
                f"{rdma.IFNAME} sent {own} B (the GID's ndev decides the netdev and source "
                "address: rxe_init_packet)")
    else:
        text = f"{what}: completed over the pod's own {rdma.IFNAME} ({own} B): not wrong here"
    return Check(name="rdma-write-node-wide-gid", pod=client.pod.pod,
                 passed=not res.ok or bool(hijacked), evidence=text)
