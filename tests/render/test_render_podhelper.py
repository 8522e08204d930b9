"""The in-pod helper (`dualnet-pod`): per-pod NCCL GID settings and the preflight, run by a real
/bin/sh (dash, and busybox sh as small images have) inside real network namespaces, on sysfs
fixture trees shaped like the real-kernel shared-mode GID table."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dualnet.doctor.rules_sriov import MEMLOCK_MIN_KB as DOCTOR_MEMLOCK_MIN_KB
from dualnet.host.discover import discover
from dualnet.plan.nccl import pod_nccl_env
from dualnet.render.podhelper import (
    MEMLOCK_MIN_KB,
    SCRIPT,
    nccl_exec_command,
    preflight_container,
)
from tests.fixtures.gid_tables import (
    MLX5_PAIRS,
    POD1_IP,
    POD2_IP,
    SOFT_ROCE_SHARED,
    GidRow,
    write_device,
)
from tests.helpers import have_root_netns, require

PREFIX = "dnpodh"
SHELLS = [s for s in ("dash", "busybox") if shutil.which(s)]


def shell_argv(shell: str) -> list[str]:
    return ["busybox", "sh"] if shell == "busybox" else [shell]


@pytest.fixture()
def netns() -> Iterator[str]:
    require(have_root_netns(), "root and iproute2 for network namespaces")
    name = f"{PREFIX}-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def give_net1(ns: str, address: str) -> None:
    # a veth pair inside the namespace (the dummy driver is not on every kernel)
    subprocess.run(["ip", "-n", ns, "link", "add", "net1", "type", "veth", "peer", "name",
                    "net1peer"], check=True)
    subprocess.run(["ip", "-n", ns, "link", "set", "net1peer", "up"], check=True)
    subprocess.run(["ip", "-n", ns, "addr", "add", f"{address}/24", "dev", "net1"], check=True)
    subprocess.run(["ip", "-n", ns, "link", "set", "net1", "up"], check=True)


def tree(tmp_path: Path, rows: list[GidRow], *, uverbs: bool = True,
         peermem: bool = True) -> Path:
    write_device(tmp_path, rows)
    (tmp_path / "dev/infiniband").mkdir(parents=True)
    if uverbs:
        (tmp_path / "dev/infiniband/uverbs0").write_text("")
        (tmp_path / "dev/infiniband/rdma_cm").write_text("")
    if peermem:
        (tmp_path / "sys/module/nvidia_peermem").mkdir(parents=True)
    return tmp_path


def run(ns: str, shell: str, root: Path, tmp_path: Path, args: list[str], *,
        memlock: str | None = None, gpudirect: bool = False,
        min_kb: int | None = None) -> subprocess.CompletedProcess[str]:
    """The script as a pod runs it: in `ns`, under `memlock` (lowered; None leaves it)."""
    script = tmp_path / "dualnet-pod"
    script.write_text(SCRIPT)
    env = {"PATH": os.environ["PATH"], "DUALNET_SYSFS": str(root / "sys"),
           "DUALNET_DEV": str(root / "dev"), "DUALNET_GPUDIRECT": "1" if gpudirect else "0"}
    if min_kb is not None:
        env["DUALNET_MEMLOCK_MIN_KB"] = str(min_kb)
    inner = (f"ulimit -l {memlock} && " if memlock else "") + 'exec "$@"'
    return subprocess.run(["ip", "netns", "exec", ns, "sh", "-c", inner, "sh",
                           *shell_argv(shell), str(script), *args],
                          capture_output=True, text=True, env=env, timeout=30)


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("rows", "address"), [
    (SOFT_ROCE_SHARED, POD1_IP), (SOFT_ROCE_SHARED, POD2_IP),
    (MLX5_PAIRS, POD1_IP), (MLX5_PAIRS, POD2_IP)])
def test_nccl_exec_exports_the_pods_own_gid(
        netns: str, tmp_path: Path, shell: str, rows: list[GidRow], address: str) -> None:
    root = tree(tmp_path, rows)
    give_net1(netns, address)
    res = run(netns, shell, root, tmp_path, ["nccl-exec", "--", "env"])
    assert res.returncode == 0, res.stderr
    exported = dict(line.split("=", 1) for line in res.stdout.splitlines() if "=" in line)
    dev = discover(root).rdma_device("rxe0")
    assert dev is not None
    # the shell helper and the Python derivation agree on the same tree
    expected = pod_nccl_env(dev.ports[0].gids, address)
    assert {k: exported.get(k) for k in expected} == expected


@pytest.mark.parametrize("shell", SHELLS)
def test_nccl_exec_refuses_when_no_gid_holds_the_address(
        netns: str, tmp_path: Path, shell: str) -> None:
    root = tree(tmp_path, SOFT_ROCE_SHARED)
    give_net1(netns, "10.56.0.99")
    res = run(netns, shell, root, tmp_path, ["nccl-exec", "--", "true"])
    assert res.returncode == 1
    assert "no RoCE v2 GID holds net1's address 10.56.0.99" in res.stderr


@pytest.mark.parametrize("shell", SHELLS)
def test_preflight_passes_on_a_good_pod(netns: str, tmp_path: Path, shell: str) -> None:
    root = tree(tmp_path, SOFT_ROCE_SHARED)
    give_net1(netns, POD2_IP)
    # this machine's hard memlock limit may sit below doctor's 64 MiB; the threshold is a knob
    hard = subprocess.run(["sh", "-c", "ulimit -H -l"], capture_output=True, text=True,
                          check=True).stdout.strip()
    min_kb = None if hard == "unlimited" else int(hard)
    res = run(netns, shell, root, tmp_path, ["preflight"], gpudirect=True, min_kb=min_kb)
    assert res.returncode == 0, res.stderr
    assert "net1 10.56.0.12 has RoCE v2 GID index 3 on rxe0 port 1" in res.stdout
    assert f"ulimit -l {hard}" in res.stdout and "nvidia_peermem loaded" in res.stdout


@pytest.mark.parametrize("shell", SHELLS)
def test_preflight_fails_with_the_doctors_wording(netns: str, tmp_path: Path,
                                                  shell: str) -> None:
    root = tree(tmp_path, SOFT_ROCE_SHARED, uverbs=False, peermem=False)
    give_net1(netns, "10.56.0.99")
    res = run(netns, shell, root, tmp_path, ["preflight"], memlock="1024", gpudirect=True)
    assert res.returncode == 1
    err = res.stderr
    assert "no /dev/infiniband/uverbs* in the pod" in err
    assert "net1's address 10.56.0.99 has no RoCE v2 GID" in err
    # doctor's limits.memlock-low and gpudirect.nvidia_peermem-missing titles, word for word
    assert ("locked-memory limit is 1024 KiB: RDMA memory registration will fail beyond it "
            "without IPC_LOCK") in err
    assert ("GPUs and RDMA devices present but nvidia_peermem is not loaded: no GPUDirect "
            "RDMA") in err
    assert err.count("  fix: ") == 4


@pytest.mark.parametrize("shell", SHELLS)
def test_preflight_without_net1_address(netns: str, tmp_path: Path, shell: str) -> None:
    root = tree(tmp_path, SOFT_ROCE_SHARED)
    res = run(netns, shell, root, tmp_path, ["preflight"])
    assert res.returncode == 1 and "net1 has no IPv4 address in the pod" in res.stderr


def test_containers_and_threshold() -> None:
    assert MEMLOCK_MIN_KB == DOCTOR_MEMLOCK_MIN_KB
    c = preflight_container("img", {"limits": {"rdma/x": 1}}, gpudirect=True)
    assert c["command"][-1] == "preflight" and c["env"][0]["value"] == "1"
    assert c["securityContext"]["capabilities"]["add"] == ["IPC_LOCK"]
    assert nccl_exec_command(["all_reduce_perf", "-b", "8"])[-4:] == [
        "--", "all_reduce_perf", "-b", "8"]
