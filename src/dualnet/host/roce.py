"""RoCE facts computed the way the kernel computes them, shared by discovery, the tool-output
parsers and doctor so each is decided in one place.

- The active RDMA MTU of a RoCE port follows its netdev MTU (mlx5's iboe_get_mtu): the largest
  IB MTU that fits after the RoCE headers.
- A GID holds an IPv4 address when it is IPv4-mapped (`::ffff:a.b.c.d`); the index NCCL and
  perftest want (`-x`, NCCL_IB_GID_INDEX) is the lowest RoCE v2 GID holding one.
"""

from __future__ import annotations

import ipaddress

from dualnet.host.models import Gid

# GRH 40 + UDP 8 + BTH 12 + XRC ext 4 + AtomicETH 28 + ICRC 4
ROCE_HEADER_BYTES = 96
IB_MTUS = (4096, 2048, 1024, 512, 256)


def roce_active_mtu(netdev_mtu: int, max_mtu: int = 4096) -> int | None:
    """Largest IB MTU that fits `netdev_mtu` minus the RoCE headers, capped at the port's max."""
    room = netdev_mtu - ROCE_HEADER_BYTES
    return next((min(m, max_mtu) for m in IB_MTUS if m <= room), None)


def gid_ipv4(gid: str) -> str | None:
    """The IPv4 address of an IPv4-mapped GID (any IPv6 spelling), else None."""
    if "ffff:" not in gid.lower():
        return None  # link-local and zero GIDs, most of a table: no need to parse them
    try:
        mapped = ipaddress.IPv6Address(gid).ipv4_mapped
    except ValueError:
        return None
    return str(mapped) if mapped is not None else None


def roce_v2_ipv4_gid_index(gids: list[Gid]) -> int | None:
    """Lowest index of a RoCE v2 GID that holds an IPv4 address."""
    found = [g.index for g in gids if g.roce_version == "v2" and g.ipv4]
    return min(found) if found else None


def pod_roce_v2_gid(gids: list[Gid], address: str, netdev: str | None = "net1") -> Gid | None:
    """The RoCE v2 GID a pod with `address` on `netdev` uses, from its device's GID table.

    In shared mode the master's table holds, besides the host's own GIDs, one IPv4-mapped GID per
    pod (the kernel adds one when the pod's macvlan/ipvlan gets its address), each with that
    pod's interface as `ndev`. So the index is a per-pod fact: it follows the pod's own address,
    never "the lowest" or the host's. `netdev` None skips the ndev check (a table read without
    gid_attrs/ndevs); an entry with no recorded netdev is not held against it either.
    """
    for g in gids:
        if g.roce_version != "v2" or g.ipv4 != address:
            continue
        if netdev is None or g.netdev is None or g.netdev == netdev:
            return g
    return None
