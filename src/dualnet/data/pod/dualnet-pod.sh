#!/bin/sh
# dualnet-pod: preflight checks and per-pod NCCL settings (rendered by dualnet)
set -u
SYSFS="${DUALNET_SYSFS:-/sys}"
DEV="${DUALNET_DEV:-/dev}"
IFACE="${DUALNET_IFACE:-net1}"
MEMLOCK_MIN_KB="${DUALNET_MEMLOCK_MIN_KB:-65536}"
IB="$SYSFS/class/infiniband"

fail=0
problem() { # title, fix
  echo "dualnet preflight: FAIL: $1" >&2
  echo "  fix: $2" >&2
  fail=1
}
ok() { echo "dualnet preflight: ok: $1"; }

iface_ipv4() {
  if command -v ip >/dev/null 2>&1; then
    ip -4 -o addr show dev "$IFACE" 2>/dev/null | awk '{split($4, a, "/"); print a[1]; exit}'
  fi
}

# the GID text of an IPv4 address: 0000:0000:0000:0000:0000:ffff:AABB:CCDD
gid_of() {
  echo "$1" | awk -F. '{printf "0000:0000:0000:0000:0000:ffff:%02x%02x:%02x%02x\n", $1, $2, $3, $4}'
}

# "dev port index" of the RoCE v2 GID holding address $1 on $IFACE, first match
find_gid() {
  want=$(gid_of "$1")
  for gids in "$IB"/*/ports/*/gids; do
    [ -d "$gids" ] || continue
    port_dir=${gids%/gids}
    # one grep per port, not one cat per slot: a port's table has up to 1024 slots
    for f in $(grep -lxF "$want" "$gids"/* 2>/dev/null); do
      idx=${f##*/}
      [ "$(cat "$port_dir/gid_attrs/types/$idx" 2>/dev/null)" = "RoCE v2" ] || continue
      nd=$(cat "$port_dir/gid_attrs/ndevs/$idx" 2>/dev/null)
      [ -z "$nd" ] || [ "$nd" = "$IFACE" ] || continue
      dev=${port_dir%/ports/*}
      echo "${dev##*/} ${port_dir##*/} $idx"
      return 0
    done
  done
  return 1
}

any_ib_port_active() {
  for p in "$IB"/*/ports/*; do
    [ "$(cat "$p/link_layer" 2>/dev/null)" = "InfiniBand" ] || continue
    case "$(cat "$p/state" 2>/dev/null)" in *ACTIVE*) echo "${p%/ports/*}" | sed 's|.*/||'; return 0;; esac
  done
  return 1
}

preflight() {
  if ls "$DEV"/infiniband/uverbs* >/dev/null 2>&1; then
    ok "$(cd "$DEV/infiniband" && echo uverbs*) present"
  else
    problem "no /dev/infiniband/uverbs* in the pod: user-space verbs (libibverbs, NCCL, ib_write_bw) open RDMA devices through /dev/infiniband/uverbsN; without it they see no device at all" \
      "request the RDMA resource in the pod's limits (e.g. rdma/rdma_shared_device: 1), and on the node: modprobe ib_uverbs"
  fi

  if hca=$(any_ib_port_active); then
    ok "InfiniBand port ACTIVE on $hca"
  else
    addr=$(iface_ipv4)
    if [ -z "$addr" ]; then
      problem "$IFACE has no IPv4 address in the pod" \
        "check the pod's k8s.v1.cni.cncf.io/networks annotation and the NAD's IPAM (dualnet verify)"
    elif found=$(find_gid "$addr"); then
      set -- $found
      ok "$IFACE $addr has RoCE v2 GID index $3 on $1 port $2"
    else
      problem "$IFACE's address $addr has no RoCE v2 GID: NCCL and routable RoCE use RoCE v2 (UDP/IP) GIDs" \
        "the kernel adds it when the address is set on an interface whose lower device is the RDMA port: check that the NAD's master is that port's netdev (dualnet show-gids)"
    fi
  fi

  lim=$(ulimit -l)
  if [ "$lim" = "unlimited" ]; then
    ok "ulimit -l unlimited"
  elif [ "$lim" -ge "$MEMLOCK_MIN_KB" ] 2>/dev/null; then
    ok "ulimit -l $lim KiB"
  else
    problem "locked-memory limit is $lim KiB: RDMA memory registration will fail beyond it without IPC_LOCK" \
      "add securityContext.capabilities.add: [IPC_LOCK] to the container (or ulimit -l unlimited)"
  fi

  if [ "${DUALNET_GPUDIRECT:-0}" = "1" ]; then
    if [ -d "$SYSFS/module/nvidia_peermem" ] || [ -d "$SYSFS/module/nv_peer_mem" ]; then
      ok "nvidia_peermem loaded"
    else
      problem "GPUs and RDMA devices present but nvidia_peermem is not loaded: no GPUDirect RDMA" \
        "modprobe nvidia_peermem (on the node)"
    fi
  fi
  return $fail
}

nccl_exec() {
  addr=$(iface_ipv4)
  if [ -z "$addr" ]; then
    echo "dualnet-pod: $IFACE has no IPv4 address: cannot choose the RoCE GID" >&2
    exit 1
  fi
  if ! found=$(find_gid "$addr"); then
    if any_ib_port_active >/dev/null; then
      exec "$@"  # InfiniBand: LIDs, no GID index to choose
    fi
    echo "dualnet-pod: no RoCE v2 GID holds $IFACE's address $addr" >&2
    exit 1
  fi
  set -- $found "$@"
  NCCL_IB_GID_INDEX=$3
  shift 3
  export NCCL_IB_GID_INDEX
  export NCCL_IB_ROCE_VERSION_NUM=2 NCCL_IB_ADDR_FAMILY=AF_INET NCCL_IB_ADDR_RANGE="$addr/32"
  exec "$@"
}

case "${1:-}" in
  preflight) preflight; exit $? ;;
  nccl-exec)
    shift
    [ "${1:-}" = "--" ] && shift
    [ $# -gt 0 ] || { echo "usage: dualnet-pod nccl-exec -- COMMAND..." >&2; exit 2; }
    nccl_exec "$@" ;;
  *) echo "usage: dualnet-pod preflight | nccl-exec -- COMMAND..." >&2; exit 2 ;;
esac
