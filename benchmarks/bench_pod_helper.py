"""`dualnet-pod nccl-exec` finding the pod's GID, side by side with its floor and with the
one-`cat`-per-slot way (MOFED's show_gids, and this helper before), in the same run.

The tree: D RDMA devices with full 1,024-slot GID tables (default 4), the pod's GID on the last
device's slot 1023 (the worst case: every slot of every device is looked at). The pod's
interface is `lo` (DUALNET_IFACE) so no namespace or root is needed; 127.0.0.1 is its address.
Each command runs alternately, N rounds (default 5), median.

    python -m benchmarks.bench_pod_helper [--devices D] [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from dualnet.plan.podhelper import SCRIPT

SLOTS = 1024
ZERO = "0000:0000:0000:0000:0000:0000:0000:0000"
LOOPBACK_GID = "0000:0000:0000:0000:0000:ffff:7f00:0001"
# the previous helper's loop: one `cat` per slot until the address matches
PER_SLOT = r'''want=$1
for gids in "$2"/*/ports/*/gids; do
  for f in "$gids"/*; do
    [ "$(cat "$f")" = "$want" ] && { echo "${f##*/}"; exit 0; }
  done
done
exit 1
'''


def build(root: Path, devices: int) -> Path:
    ib = root / "sys/class/infiniband"
    for d in range(devices):
        port = ib / f"rxe{d}/ports/1"
        for sub in ("gids", "gid_attrs/types", "gid_attrs/ndevs"):
            (port / sub).mkdir(parents=True)
        for i in range(SLOTS):
            (port / "gids" / str(i)).write_text(ZERO + "\n")
    last = ib / f"rxe{devices - 1}/ports/1"
    (last / "gids/1023").write_text(LOOPBACK_GID + "\n")
    (last / "gid_attrs/types/1023").write_text("RoCE v2\n")
    (last / "gid_attrs/ndevs/1023").write_text("lo\n")
    return ib


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    sh = shutil.which("dash") or "sh"
    with tempfile.TemporaryDirectory(prefix="dualnet-bench-podhelper-") as tmp:
        root = Path(tmp)
        ib = build(root, args.devices)
        helper = root / "dualnet-pod"
        helper.write_text(SCRIPT)
        per_slot = root / "per-slot.sh"
        per_slot.write_text(PER_SLOT)
        env = {"PATH": os.environ["PATH"], "DUALNET_SYSFS": str(root / "sys"),
               "DUALNET_IFACE": "lo"}
        cmds = {
            "floor: one `cat` of every GID file": [
                "sh", "-c", f'cat "{ib}"/*/ports/*/gids/* >/dev/null'],
            "dualnet-pod nccl-exec -- true": [sh, str(helper), "nccl-exec", "--", "true"],
            "peer: one `cat` per slot (the helper before)": [
                sh, str(per_slot), LOOPBACK_GID, str(ib)],
        }
        times: dict[str, list[float]] = {k: [] for k in cmds}
        for _ in range(args.rounds):
            for name, argv in cmds.items():
                t0 = time.perf_counter()
                res = subprocess.run(argv, env=env, capture_output=True, text=True)
                times[name].append(time.perf_counter() - t0)
                if res.returncode != 0:
                    raise SystemExit(f"{name}: rc {res.returncode}: {res.stderr[-300:]}")
    floor = statistics.median(times["floor: one `cat` of every GID file"])
    print(f"{args.devices} devices x {SLOTS} GID slots, match on the last slot; {sh}; "
          f"{args.rounds} rounds")
    print("| command | median s | min s | x floor |\n|---|---:|---:|---:|")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"| {name} | {med:.3f} | {min(ts):.3f} | {med / floor:.2f} |")


if __name__ == "__main__":
    main()
