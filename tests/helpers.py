"""What tests share besides fixtures (those are in conftest.py files): the rule for real-component
preconditions, the in-process CLI runner, the lab's per-run namespace names and leak check, the
cluster harness and operator test clock. Conftests hold fixtures only; a test imports helpers from
here (or its area's data module), never from a conftest or another test module.

Under CI=true a test that needs a real component (root, network namespaces, CNI plugin binaries)
must run or fail; it may never skip silently. `require()` encodes that rule: use it instead of
`pytest.skip` for every real-component precondition.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import os
import secrets
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import kmock
import pytest
from lightkube import AsyncClient
from lightkube.types import PatchType
from testsupport.apiserver import writes

from dualnet.host.models import HostReport, PhysState, PortState

if TYPE_CHECKING:
    from dualnet.lab.vm.kernel import Kernel

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, what: str) -> None:
    """Skip locally when `condition` is false; fail under CI so nothing is skipped silently."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true and a real component is missing: {what}")
    pytest.skip(f"missing real component: {what}")


def have_root_netns() -> bool:
    return os.geteuid() == 0 and shutil.which("ip") is not None


CNI_BIN_DIRS = ("/usr/lib/cni", "/opt/cni/bin")


def cni_bin_dir() -> str | None:
    for d in CNI_BIN_DIRS:
        if (Path(d) / "macvlan").is_file():
            return d
    return None


# --- the CLI, in-process ------------------------------------------------------------------------


def exit_status(code: object) -> int:
    """The process exit status SystemExit(code) gives: None is 0, an int itself, anything else
    (a message) 1."""
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """main() with argv `dualnet *args`: (exit status, stdout, stderr)."""
    from dualnet.cli import main

    old, sys.argv = sys.argv, ["dualnet", *args]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exit_status(exc.code)
    finally:
        sys.argv = old
    out, err = capsys.readouterr()
    return code, out, err


def dualnet(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`dualnet *args` in a subprocess of this interpreter: never whatever `dualnet` PATH finds."""
    return subprocess.run([sys.executable, "-c", "from dualnet.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=timeout, check=False)


async def dualnet_async(*args: str) -> tuple[int, str, str]:
    """`dualnet *args` in a subprocess, awaited (for tests that serve the API in-process):
    (exit status, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from dualnet.cli import main; main()", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


# --- the lab ------------------------------------------------------------------------------------

NADS = Path(__file__).parent / "lab" / "nads"
# Every lab run of this test session has run ids starting with this (the lab fixtures set
# $DUALNET_LAB_RUN_PREFIX to it), so the leak check counts this session's namespaces only: another
# suite running on the same machine at the same time creates and deletes its own.
LAB_RUN_PREFIX = "t" + secrets.token_hex(2)


def own_run_id(tag: str) -> str:
    """A fixed run id (4 characters of `tag`) that is this session's."""
    return LAB_RUN_PREFIX + tag[:4]


def own_lab_namespaces() -> set[str]:
    """The lab namespaces on this machine that a run of this test session made."""
    from dualnet.lab import netns
    from dualnet.lab.topology import PREFIX

    return set(netns.list_netns(PREFIX + LAB_RUN_PREFIX))


@functools.cache
def kernel_can_link(kind: str, *extra: str) -> bool:
    """Whether the running kernel can make a `kind` link (ipvlan, vlan, macvlan) on a veth: asked
    of the kernel itself in a throwaway namespace, so expected verdicts follow the machine."""
    from dualnet.lab import netns

    if not have_root_netns():
        return False
    probe = f"dnlab-probe{os.getpid()}"
    netns.create_netns(probe)
    try:
        ip = ["ip", "-n", probe, "link", "add"]
        subprocess.run([*ip, "dnprobe0", "type", "veth", "peer", "name", "dnprobe1"],
                       check=True, capture_output=True)
        made = subprocess.run([*ip, "link", "dnprobe0", "name", "dnprobe2", "type", kind, *extra],
                              capture_output=True, check=False)
        return made.returncode == 0
    finally:
        netns.delete_netns(probe)


def vm_kernel() -> Kernel:
    """The kernel the `vm` tests boot (QEMU and busybox present), or the CI rule's verdict."""
    from dualnet.lab.vm.kernel import cached_kernel
    from dualnet.lab.vm.machine import QEMU

    require(shutil.which(QEMU) is not None, f"{QEMU} (apt-get install qemu-system-x86)")
    require(shutil.which("busybox") is not None, "busybox (apt-get install busybox-static)")
    kernel = cached_kernel()
    require(kernel is not None, "the VM kernel (run `dualnet lab --vm --fetch-kernel`)")
    assert kernel is not None
    return kernel


# --- the cluster --------------------------------------------------------------------------------


class Harness:
    """What a test needs from "the cluster": a client, a namespace, a way to put objects there
    that dualnet did not create, and (emulator only) the server's count of write requests."""

    def __init__(self, client: AsyncClient, namespace: str, server: Any | None) -> None:
        self.client = client
        self.namespace = namespace
        self.server = server

    @property
    def real(self) -> bool:
        return self.server is None

    @property
    def network(self) -> str:
        """The dualnet network the test's objects belong to: unique per test on a real cluster,
        because prune works across namespaces and earlier runs may still be terminating."""
        return f"net-{self.namespace}" if self.real else "rdma-e2e"

    @property
    def emulator(self) -> Any:
        """The kmock server, for tests that only run against the emulator."""
        assert self.server is not None, "this test needs the kmock emulator"
        return self.server

    def write_count(self) -> int | None:
        return None if self.server is None else len(writes(self.server))

    async def seed(self, obj: dict[str, Any]) -> None:
        """Create `obj` as someone else would (not through dualnet's apply)."""
        from dualnet.cluster.resources import ResourceResolver, is_namespaced

        res = await ResourceResolver(self.client).resolve(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        ns = meta.get("namespace") if is_namespaced(res) else None
        if self.server is not None:
            info = res._api_info
            key = kmock.resource(info.resource.group, info.resource.version, info.plural)
            self.server.objects[key, ns, meta["name"]] = copy.deepcopy(obj)
        else:
            await self.client.patch(res, meta["name"], obj, namespace=ns,
                                    patch_type=PatchType.APPLY, field_manager="someone-else")

    async def get(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        from dualnet.cluster.client import request
        from dualnet.cluster.errors import NotFound
        from dualnet.cluster.resources import ResourceResolver, is_namespaced

        res = await ResourceResolver(self.client).resolve(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        ns = (meta.get("namespace") or self.namespace) if is_namespaced(res) else None
        try:
            found = await request(self.client, "get", self.client.get(res, meta["name"],
                                                                      namespace=ns))
        except NotFound:
            return None
        return dict(found.to_dict())


T0 = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def add_node(server: Any, name: str, labels: dict[str, str] | None = None) -> None:
    server.objects[kmock.resource("v1/nodes"), None, name] = {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "uid": str(uuid.uuid4()),
                     "labels": labels or {"kubernetes.io/hostname": name}},
    }


_HOSTS: dict[str, HostReport] = {}


def host(kind: str, tmp: Path) -> HostReport:
    """A HostReport read by the real discover() from a synthetic sysfs tree (cached per kind).
    "gh200_port_down": the GH200 node after its one ACTIVE port went down (same hardware, so
    the same plan)."""
    if kind == "gh200_port_down":
        down = host("gh200", tmp)
        for dev in down.rdma_devices:
            for port in dev.ports:
                port.state, port.phys_state = PortState.DOWN, PhysState.DISABLED
        return down
    if kind not in _HOSTS:
        from dualnet.host.discover import discover
        from dualnet.host.samples import gh200, no_mlx5_ib, no_rdma
        from dualnet.host.synthetic import build_tree

        samples: dict[str, Callable[[], Any]] = {
            "gh200": gh200, "no_mlx5_ib": no_mlx5_ib, "no_rdma": no_rdma}
        root = tmp / f"tree-{kind}"
        build_tree(samples[kind](), root)
        _HOSTS[kind] = discover(root)
    return copy.deepcopy(_HOSTS[kind])
