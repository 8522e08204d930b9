#!/usr/bin/env bash
# System packages the test suite drives for real: CNI plugins (/usr/lib/cni), iproute2 for network
# namespaces, ping, and the RDMA user-space tools whose outputs the parsers read.
set -euo pipefail
pkgs=(containernetworking-plugins iproute2 iputils-ping rdma-core ibverbs-utils perftest python3-venv)
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
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
