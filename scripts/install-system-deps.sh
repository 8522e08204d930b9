#!/usr/bin/env bash
# System packages the test suite drives for real: CNI plugins (/usr/lib/cni), iproute2 for network
# namespaces, ping, the RDMA user-space tools whose outputs the parsers read, QEMU, busybox,
# kmod and cpio for the `vm` tests (`dualnet lab --vm`), and headless Chromium with its WebDriver
# for the report's browser tests (tests/report).
set -euo pipefail
pkgs=(containernetworking-plugins iproute2 iputils-ping rdma-core ibverbs-utils perftest python3-venv
      rdmacm-utils ibverbs-providers qemu-system-x86 busybox-static kmod cpio
      chromium chromium-driver)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Another apt (unattended-upgrades on a fresh machine) may hold the dpkg or lists lock: wait for
# it, bounded, and say so, rather than fail at once.
lock_wait=${DUALNET_APT_LOCK_WAIT:-600}
lock_poll=${DUALNET_APT_LOCK_POLL:-5}
apt_waiting() {
  local deadline=$((SECONDS + lock_wait)) err rc
  while :; do
    err=$(mktemp)
    rc=0
    apt-get -o DPkg::Lock::Timeout="$lock_poll" "$@" 2>"$err" || rc=$?
    if [ "$rc" -eq 0 ]; then rm -f "$err"; return 0; fi
    if ! grep -qiE 'could not get lock|unable to acquire the dpkg|unable to lock' "$err"; then
      cat "$err" >&2; rm -f "$err"; return "$rc"
    fi
    rm -f "$err"
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "install-system-deps: another apt/dpkg still holds its lock after ${lock_wait}s;" \
        "wait for it to finish (or set DUALNET_APT_LOCK_WAIT) and run again" >&2
      return 1
    fi
    echo "install-system-deps: another apt/dpkg holds its lock; waiting" \
      "(up to ${lock_wait}s in all)" >&2
    sleep "$lock_poll"
  done
}
apt_waiting update -qq
apt_waiting install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
