"""The RDMA data path of a rehearsed NAD, on Soft-RoCE (rdma_rxe): GIDs of the pods, the GID
index dualnet derives for each pod, and real transfers between pods (`ib_write_bw -x <index>`
for verbs, `rping` for RDMA CM), plus a wrong index shown to fail.

What rxe can and cannot carry (read from drivers/infiniband/sw/rxe/rxe_net.c of the guest
kernel's line, 7.x):
- Receive: `rxe_udp_encap_recv()` finds the receiving device with
  `rxe_get_dev_from_net(skb->dev)`, falling back to `vlan_dev_real_dev()` only when
  `is_vlan_dev(skb->dev)`; the UDP/4791 tunnel sockets are per network namespace (rxe_ns.c),
  created when an rxe device is added on a netdev of that namespace. A RoCE packet for a
  macvlan/ipvlan pod arrives on the pod's own net1 in the pod's namespace: no socket there, and
  no rxe device bound to net1 (nor a fallback to its macvlan/ipvlan lower device). It is
  dropped, so a master-shared rxe device cannot carry pod-to-pod traffic over macvlan/ipvlan
  children (their GIDs do appear on it: ib_core's GID cache adds the uppers' addresses).
- vlan uppers are the shared layout rxe can carry, given a 4791 socket in the pod namespace:
  lab/vm/vlan_shared.py runs the shared-mode proof there.
- Send: `rxe_prepare()` sets RXE_LOOPBACK_MASK when the destination MAC equals the sending
  netdev's own; ipvlan children share their master's MAC, so a packet to another ipvlan pod on
  the same master is looped back to the sender's own device.
The nearest real thing dualnet rehearses instead: an rxe device on each pod's own net1
(labelled so in the table); for host-device that *is* the production model (a dedicated
device per pod, created on the moved-in netdev since rxe devices cannot move between
namespaces).
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from dualnet.host.models import Gid
from dualnet.host.roce import gid_ipv4, roce_v2_ipv4_gid_index
from dualnet.lab import where
from dualnet.lab.models import Check, PodReport
from dualnet.lab.rewrite import LabConfig
from dualnet.lab.topology import Topology

IFNAME = "net1"
ZERO_GID = "0000:0000:0000:0000:0000:0000:0000:0000"
TRANSFER_TIMEOUT_S = 40
WRONG_TIMEOUT_S = 12  # the transfer that must fail: as short as a real one may take
BW_SIZE, BW_ITERS = 65536, 10
MASTER_SHARED_UNSUPPORTED = (
    "unsupported on rxe: rxe_udp_encap_recv() resolves the receiving device from the packet's "
    "netdev (vlan uppers only, via vlan_dev_real_dev), and the pod's {plugin} net1 lives in the "
    "pod namespace with no rxe socket or device; the packet is dropped (rxe_net.c)")
IPVLAN_UNSUPPORTED = (
    "unsupported on rxe: ipvlan children share the master's MAC and rxe_prepare() treats a "
    "destination MAC equal to the sender's as loopback (RXE_LOOPBACK_MASK, rxe_net.c), so "
    "pod-to-pod RDMA between ipvlan pods never leaves the sender (observed: ib_write_bw between "
    "rxe devices on two ipvlan pods' net1 timed out on both sides)")


CM_AFTER_MOVE_UNSUPPORTED = (
    "unsupported on rxe: after `rdma dev set ... netns` the device re-registers and ib_mad "
    "cannot create its QP1 again (kernel: {kernel}); RDMA CM's connection messages travel on "
    "QP1, so rdma_connect fails with EINVAL (rxe_qp_chk_init refuses a second GSI QP while "
    "the port's qp_gsi_index is still set, rxe_qp.c); verbs with a GID index (ib_write_bw -x) "
    "do not need QP1 and pass")


def mad_qp1_failure(ibdev: str) -> str:
    """The guest kernel's lines saying ib_mad could not open `ibdev`'s port ('' if none)."""
    res = where.current().run(["sh", "-c", 'dmesg | grep -F -e "$1: rxe_create_qp" -e '
                               '"infiniband $1: Couldn\'t" | tail -n 3', "dmesg", ibdev])
    return "; ".join(x.split("] ", 1)[-1] for x in res.out.strip().splitlines())


@dataclass(frozen=True)
class PairResult:
    client_rc: int
    server_rc: int
    client_out: str
    server_out: str

    @property
    def ok(self) -> bool:
        return self.client_rc == 0 and self.server_rc == 0


def read_gid_table(ibdev: str, port: int = 1, netns: str | None = None) -> list[Gid]:
    """The non-empty GIDs of a port, with type and netdev, in two reads (one process each:
    under emulation one `cat` per slot of a 1024-slot table takes a minute). Empty slots'
    gid_attrs fail with EINVAL on a real kernel; they are never read."""
    base = f"/sys/class/infiniband/{ibdev}/ports/{port}"
    wrap: list[str] = ["ip", "netns", "exec", netns] if netns else []
    res = where.current().run([*wrap, "grep", "-r", "-H", "-v", f"^{ZERO_GID}$", f"{base}/gids"])
    rows: dict[int, str] = {}
    for line in res.out.splitlines():
        path, _, gid = line.partition(":")
        idx = path.rsplit("/", 1)[-1]
        if idx.isdigit():
            rows[int(idx)] = gid.strip()
    if not rows:
        return []
    attrs = [f"{base}/gid_attrs/{kind}/{i}" for i in sorted(rows) for kind in ("types", "ndevs")]
    res = where.current().run([*wrap, "grep", "-H", ".", *attrs])
    types: dict[int, str] = {}
    ndevs: dict[int, str] = {}
    for line in res.out.splitlines():
        path, _, value = line.partition(":")
        parts = path.rsplit("/", 2)
        if len(parts) == 3 and parts[2].isdigit():
            (types if parts[1] == "types" else ndevs)[int(parts[2])] = value.strip()
    return [Gid(index=i, gid=g, ipv4=gid_ipv4(g), type=types.get(i), netdev=ndevs.get(i))
            for i, g in sorted(rows.items())]


def pod_ipv4(pod: PodReport, ifname: str = IFNAME) -> str | None:
    for itf in pod.interfaces:
        if itf.name == ifname:
            for cidr in itf.addresses:
                ip = ipaddress.ip_interface(cidr).ip
                if ip.version == 4:
                    return str(ip)
    return None


def run_pair(server: Sequence[str], client: Sequence[str], *, timeout_s: float,
             settle_s: float = 2.0) -> PairResult:
    """A server in the background and its client, in one guest command (the agent runs one
    command at a time). Each side is killed after `timeout_s`."""
    t = f"{timeout_s:g}"
    script = (
        'd=$(mktemp -d); '
        f'(timeout {t} {shlex.join(server)} >"$d/s" 2>&1; echo $? >"$d/src") & '
        f'sleep {settle_s:g}; timeout {t} {shlex.join(client)} >"$d/c" 2>&1; crc=$?; wait; '
        'printf "client_rc=%s server_rc=%s\\n" "$crc" "$(cat "$d/src")"; '
        'echo "--- server"; cat "$d/s"; echo "--- client"; cat "$d/c"; rm -rf "$d"')
    res = where.current().run(["sh", "-c", script], timeout_s=2 * timeout_s + settle_s + 10)
    text = res.out
    m = re.search(r"client_rc=(\d+) server_rc=(\d+)", text)
    if not m:
        return PairResult(res.returncode or 1, 1, text + res.err, "")
    server_out = text.split("--- server", 1)[-1].split("--- client", 1)[0]
    client_out = text.split("--- client", 1)[-1]
    return PairResult(int(m.group(1)), int(m.group(2)), client_out, server_out)


def bw_average(out: str) -> str | None:
    """`BW average[MB/sec]` of ib_write_bw's result row."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if "BW average" in line and i + 1 < len(lines):
            cols = lines[i + 1].split()
            if len(cols) >= 4:
                return cols[3]
    return None


def last_line(text: str) -> str:
    lines = [x.strip() for x in text.strip().splitlines() if x.strip() and not x.startswith("-")]
    return lines[-1][:160] if lines else "(no output)"


@dataclass
class PodDevice:
    pod: PodReport
    ibdev: str
    ipv4: str
    gid_index: int | None
    gids: list[Gid]


def _ns(argv: Sequence[str], netns: str) -> list[str]:
    return ["ip", "netns", "exec", netns, *argv]


def add_rxe(ibdev: str, netdev: str, netns: str) -> tuple[bool, str]:
    res = where.current().run(_ns(["rdma", "link", "add", ibdev, "type", "rxe", "netdev",
                                   netdev], netns))
    return res.ok, (res.err or res.out).strip()


def delete_rxe(ibdev: str, netns: str | None) -> None:
    argv = ["rdma", "link", "delete", ibdev]
    where.current().run(_ns(argv, netns) if netns else argv)


def write_bw_pair(server_ns: str, server_dev: str, server_idx: int, client_ns: str,
                  client_dev: str, client_idx: int, server_ip: str, *,
                  timeout_s: float) -> PairResult:
    """ib_write_bw between two namespaces, each side on its own device and GID index."""
    bw = ["ib_write_bw", "-s", str(BW_SIZE), "-n", str(BW_ITERS)]
    return run_pair(_ns([*bw, "-d", server_dev, "-x", str(server_idx)], server_ns),
                    _ns([*bw, "-d", client_dev, "-x", str(client_idx), server_ip], client_ns),
                    timeout_s=timeout_s)


def rping_pair(server_ns: str, client_ns: str, server_ip: str, *,
               timeout_s: float) -> tuple[PairResult, int]:
    """Three RDMA CM pings to `server_ip`; the pair's result and the pings that came back."""
    ping = run_pair(_ns(["rping", "-s", "-a", server_ip, "-C", "3", "-v"], server_ns),
                    _ns(["rping", "-c", "-a", server_ip, "-C", "3", "-v"], client_ns),
                    timeout_s=timeout_s)
    return ping, ping.client_out.count("ping data:")


def transfer_checks(a: PodDevice, b: PodDevice, label: str, *,
                    wrong_index: bool = True) -> list[Check]:
    """ib_write_bw with each pod's derived index, rping over RDMA CM, and a wrong index."""
    out: list[Check] = []
    if a.gid_index is None or b.gid_index is None:
        missing = a if a.gid_index is None else b
        return [Check(name=f"rdma-write-{label}", pod=missing.pod.pod, passed=False,
                      evidence=f"{missing.ibdev} has no RoCE v2 IPv4 GID for "
                      f"{missing.ipv4}: dualnet cannot derive a GID index")]
    res = write_bw_pair(a.pod.netns, a.ibdev, a.gid_index, b.pod.netns, b.ibdev, b.gid_index,
                        a.ipv4, timeout_s=TRANSFER_TIMEOUT_S)
    avg = bw_average(res.client_out)
    what = (f"{b.pod.pod} -> {a.pod.pod}: ib_write_bw -d {b.ibdev} -x {b.gid_index} {a.ipv4} "
            f"(server -d {a.ibdev} -x {a.gid_index})")
    out.append(Check(
        name=f"rdma-write-{label}", pod=b.pod.pod, passed=res.ok and avg is not None,
        evidence=f"{what}: {BW_ITERS} x {BW_SIZE} B, {avg} MB/s average" if res.ok and avg
        else f"{what}: client rc {res.client_rc}, server rc {res.server_rc}: "
             f"{last_line(res.client_out or res.server_out)}"))
    # RDMA CM: rping resolves the device from the address, as NCCL's and most apps' CM does
    blocked = [x for x in (mad_qp1_failure(a.ibdev), mad_qp1_failure(b.ibdev)) if x]
    if blocked:
        out.append(Check(name=f"rping-{label}", pod=b.pod.pod, passed=False, unsupported=True,
                         evidence=CM_AFTER_MOVE_UNSUPPORTED.format(kernel=blocked[0])))
    else:
        ping, pings = rping_pair(a.pod.netns, b.pod.netns, a.ipv4, timeout_s=TRANSFER_TIMEOUT_S)
        out.append(Check(
            name=f"rping-{label}", pod=b.pod.pod, passed=ping.ok and pings == 3,
            evidence=f"{b.pod.pod} -> {a.pod.pod}: rping -c -a {a.ipv4} -C 3: "
            + (f"{pings}/3 RDMA pings" if ping.ok else
               f"client rc {ping.client_rc}, server rc {ping.server_rc}: "
               f"{last_line(ping.client_out)}")))
    if not wrong_index:
        return out
    # the same transfer with a GID index dualnet would not pick must not complete
    wrong = next((g.index for g in b.gids if g.index != b.gid_index and g.ipv4 is None), None)
    wrong = wrong if wrong is not None else max((g.index for g in b.gids), default=0) + 1
    bad = write_bw_pair(a.pod.netns, a.ibdev, a.gid_index, b.pod.netns, b.ibdev, wrong, a.ipv4,
                        timeout_s=WRONG_TIMEOUT_S)
    out.append(Check(
        name=f"rdma-write-wrong-gid-fails-{label}", pod=b.pod.pod, passed=not bad.ok,
        evidence=f"ib_write_bw -x {wrong} (not the derived {b.gid_index}): "
        + (f"failed as it must (client rc {bad.client_rc}, server rc {bad.server_rc})"
           if not bad.ok else "completed: the GID index is not what decides the path")))
    return out


def _main_plugin(lab: LabConfig) -> str:
    for t in lab.plugin_types:
        if t in ("macvlan", "ipvlan", "vlan", "host-device", "sriov", "bridge"):
            return t
    return lab.plugin_types[0] if lab.plugin_types else ""


def netns_mode() -> str:
    """`shared` or `exclusive`, as `rdma system` of the machine says."""
    res = where.current().run(["rdma", "system"])
    return "exclusive" if "netns exclusive" in res.out else "shared"


def _exclusive(topo: Topology, pods: list[PodReport], master: str, ibdev: str,
               created: list[tuple[str, str | None]]) -> list[Check]:
    """Exclusive mode: a device belongs to one namespace. A pod without its own device sees
    none (what RDMA CNI exists to fix, by moving the device in). Observed on 7.3.4: `rdma link
    add` run inside a namespace still puts the rxe device in the initial namespace (where the
    guest agent runs), and `rdma dev set DEV netns POD` moves it (6.1 refused with
    EOPNOTSUPP); a refusal is reported `unsupported` with the kernel's words."""
    node = topo.nodes[0]
    ok, err = add_rxe(ibdev, master, node)
    if not ok:
        return [Check(name="exclusive-pod-sees-no-device", pod=node, passed=False,
                      evidence=f"rdma link add {ibdev} type rxe netdev {master}: {err}")]
    created.append((ibdev, None))
    ex = where.current()
    pod = pods[0]
    seen = {"pod": ex.run(_ns(["rdma", "dev"], pod.netns)), "node": ex.run(_ns(["rdma", "dev"],
            node)), "initial netns": ex.run(["rdma", "dev"])}
    where_is = [k for k, r in seen.items() if ibdev in r.out]
    out = [Check(
        name="exclusive-pod-sees-no-device", pod=pod.pod,
        passed=seen["pod"].ok and "pod" not in where_is and bool(where_is),
        evidence=f"{ibdev} (rxe on the node's {master}) is listed by `rdma dev` in: "
        f"{', '.join(where_is) or 'nowhere'}; the pod lists "
        f"{seen['pod'].out.strip() or 'no RDMA device'}")]
    move = ex.run(["rdma", "dev", "set", ibdev, "netns", pod.netns])
    if move.ok:
        out.append(Check(name="exclusive-move-device-into-pod", pod=pod.pod, passed=True,
                         evidence=f"rdma dev set {ibdev} netns {pod.netns}: moved"))
        created[-1] = (ibdev, pod.netns)
    else:
        out.append(Check(
            name="exclusive-move-device-into-pod", pod=pod.pod, passed=False,
            unsupported=True,
            evidence=f"unsupported on rxe: rdma dev set {ibdev} netns {pod.netns}: "
            f"{(move.err or move.out).strip()[-160:]} (this kernel's rxe cannot change "
            "namespace; mlx5 devices can, which is what RDMA CNI does)"))
    return out


def move_into(ibdev: str, netns: str) -> tuple[bool, str]:
    """RDMA CNI's step in exclusive mode: the pod's device into the pod's namespace."""
    res = where.current().run(["rdma", "dev", "set", ibdev, "netns", netns])
    return res.ok, (res.err or res.out).strip()


def rdma_checks(topo: Topology, lab: LabConfig, pods: list[PodReport], *,
                wrong_index: bool = True) -> list[Check]:
    """The RDMA checks for a lab run whose pods are attached; leaves no rxe device behind.
    `wrong_index=False` leaves out the transfer that must fail (it waits for its timeout; a
    test suite runs it once)."""
    plugin = _main_plugin(lab)
    out: list[Check] = []
    created: list[tuple[str, str | None]] = []
    rid = topo.names.run_id
    try:
        master = topo.node_nic or lab.master
        exclusive = netns_mode() == "exclusive"
        if exclusive and master and topo.nodes and pods:
            out.extend(_exclusive(topo, pods, master, f"rx{rid}m", created))
            while created:
                delete_rxe(*created.pop())
        elif master and plugin == "vlan" and topo.nodes:
            # rxe carries shared RoCE over vlan uppers (its receive path falls back to the
            # vlan's real device): the shared-mode proof runs there, per tenant
            from dualnet.lab.vm.vlan_shared import vlan_shared_checks

            return vlan_shared_checks(topo, lab, pods)
        elif master and plugin in ("macvlan", "ipvlan") and topo.nodes:
            out.extend(_master_shared(topo, pods, plugin, master, f"rx{rid}m", created))
            # gone before the per-pod devices: RDMA CM must not resolve a pod's address to the
            # master's device, which holds the same GIDs
            while created:
                delete_rxe(*created.pop())
        devices: list[PodDevice] = []
        for i, pod in enumerate(pods):
            ip = pod_ipv4(pod)
            if ip is None:
                out.append(Check(name="rdma-device-on-net1", pod=pod.pod, passed=False,
                                 skipped=True, evidence=f"{IFNAME} has no IPv4 address: "
                                 "RoCE v2 needs one for an IPv4 GID"))
                continue
            ibdev = f"rx{rid}p{i}"
            ok, err = add_rxe(ibdev, IFNAME, pod.netns)
            if not ok:
                out.append(Check(name="rdma-device-on-net1", pod=pod.pod, passed=False,
                                 evidence=f"rdma link add {ibdev} type rxe netdev {IFNAME}: "
                                 f"{err}"))
                continue
            if exclusive:
                created.append((ibdev, None))
                moved, err = move_into(ibdev, pod.netns)
                if not moved:
                    out.append(Check(name="rdma-device-into-pod", pod=pod.pod, passed=False,
                                     unsupported=True, evidence="unsupported on rxe: "
                                     f"rdma dev set {ibdev} netns {pod.netns}: {err}"))
                    continue
                created[-1] = (ibdev, pod.netns)
            else:
                created.append((ibdev, pod.netns))
            gids = read_gid_table(ibdev, netns=pod.netns)
            idx = roce_v2_ipv4_gid_index(gids)
            devices.append(PodDevice(pod=pod, ibdev=ibdev, ipv4=ip, gid_index=idx, gids=gids))
            mine = next((g for g in gids if g.index == idx), None)
            out.append(Check(
                name="roce-gid-index", pod=pod.pod, passed=mine is not None and
                mine.ipv4 == ip,
                evidence=f"{ibdev} on {IFNAME}: derived GID index {idx} = "
                f"{mine.gid if mine else '-'} ({mine.type if mine else '-'}, ndev "
                f"{mine.netdev if mine else '-'}); {IFNAME} has {ip}"))
        label = "dedicated" if plugin == "host-device" else "per-pod-rxe"
        if exclusive:
            label += "-moved-in"  # each device moved into its pod, as RDMA CNI does
        if len(devices) >= 2:
            if plugin == "ipvlan":
                out.append(Check(name=f"rdma-write-{label}", pod=devices[1].pod.pod,
                                 passed=False, unsupported=True,
                                 evidence=IPVLAN_UNSUPPORTED))
            else:
                out.extend(transfer_checks(devices[0], devices[1], label,
                                           wrong_index=wrong_index))
    finally:
        for ibdev, ns in reversed(created):
            delete_rxe(ibdev, ns)
    return out


def _master_shared(topo: Topology, pods: list[PodReport], plugin: str, master: str,
                   ibdev: str, created: list[tuple[str, str | None]]) -> list[Check]:
    """Shared RoCE as the guide runs it: one rxe device on the master; each pod's net1 IPv4
    must show up as a RoCE v2 GID on it (ndev net1). The transfer itself: unsupported."""
    node = topo.nodes[0]
    ok, err = add_rxe(ibdev, master, node)
    if not ok:
        return [Check(name="roce-gid-on-master", pod=node, passed=False,
                      evidence=f"rdma link add {ibdev} type rxe netdev {master}: {err}")]
    created.append((ibdev, node))
    gids = read_gid_table(ibdev, netns=node)
    out: list[Check] = []
    for pod in pods:
        ip = pod_ipv4(pod)
        if ip is None:
            continue
        hit = next((g for g in gids if g.ipv4 == ip and g.roce_version == "v2"), None)
        out.append(Check(
            name="roce-gid-on-master", pod=pod.pod, passed=hit is not None,
            evidence=(f"{ibdev} (on {master}) GID index {hit.index} = {ip} (RoCE v2, ndev "
                      f"{hit.netdev})") if hit else
            f"{ip} is not in {ibdev}'s GID table ({len(gids)} GIDs)"))
    out.append(Check(name="rdma-write-master-shared", pod=node, passed=False,
                     unsupported=True,
                     evidence=MASTER_SHARED_UNSUPPORTED.format(plugin=plugin)))
    return out
