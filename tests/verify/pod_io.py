"""Real tool outputs and seeded pods for the exec/log endpoint tests (tests/verify/test_verify_*):
the pods carry Multus's real network-status, the tools answer with real captures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from testsupport.apiserver import PodApiEmulator, Reply

from dualnet import labels
from tests.helpers import Harness

TESTS = Path(__file__).resolve().parents[1]
OUT = TESTS / "verify" / "outputs"


def body(path: Path) -> str:
    """A capture without its `# source:` line, as the tool printed it."""
    return "\n".join(path.read_text().splitlines()[1:]) + "\n"


IBV_DEVINFO = body(TESTS / "corpus/ibv_devinfo/gh200-cx7-in-pod.txt")
IB_WRITE_BW = body(OUT / "ib_write_bw-cx7-ndr-ib-report-gbits.txt")
NETWORK_STATUS = body(TESTS / "corpus/network-status/gh200-macvlan.txt")
ALL_REDUCE = body(OUT / "all_reduce_perf-2node-16xh100-mpirun.txt")
NCCL_INFO = body(TESTS / "corpus/nccl_debug/ib-gdrdma-a100-6hca.txt")
SYSFS_RATE = "400 Gb/sec (4X NDR)\n"


def pod(name: str, node: str, ip: str) -> dict[str, Any]:
    status = NETWORK_STATUS.replace("192.168.50.2", ip)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default",
                         "annotations": {labels.NETWORK_STATUS_ANNOTATION: status}},
            "spec": {"nodeName": node, "containers": [{"name": "test", "image": "img"}]},
            "status": {"phase": "Running"}}


async def two_pods(h: Harness) -> PodApiEmulator:
    await h.seed(pod("srv", "node-a", "192.168.50.2"))
    await h.seed(pod("cli", "node-b", "192.168.50.3"))
    emu: PodApiEmulator = h.emulator
    for name in ("srv", "cli"):
        emu.exec_table[name, "ibv_devinfo"] = Reply(stdout=IBV_DEVINFO)
        emu.exec_table[name, ("cat", "/sys/class/infiniband/mlx5_0/ports/1/rate")] = Reply(
            stdout=SYSFS_RATE)
    emu.exec_table["srv", "ib_write_bw"] = Reply(stdout=IB_WRITE_BW)
    emu.exec_table["cli", "ib_write_bw"] = Reply(stdout=IB_WRITE_BW)
    return emu
