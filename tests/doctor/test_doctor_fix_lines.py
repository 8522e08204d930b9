"""Every rule, driven to fire by the scenarios below, keeps the Finding contract: fix lines are
commands (or `#` comments), evidence names values, ids are '<family>.<what>' and catalogued."""

from __future__ import annotations

import dataclasses
import re
import shlex

from dualnet.doctor import RULE_IDS, Finding, diagnose
from dualnet.host.models import (
    CniConfigFile,
    CniState,
    DraDevice,
    Gpu,
    HostReport,
    Hugepages,
    KernelModule,
    KubeNode,
    LinkLayer,
    NetnsMode,
    PciRelation,
    PhysState,
    PortState,
    ReadProblem,
    TopoEntry,
)
from dualnet.modes import Mode
from tests.doctor.reports import gh200, switchdev

COMMANDS = {
    "modprobe", "rdma", "ls", "echo", "ip", "ethtool", "ibstat", "devlink", "dualnet", "curl",
    "kubectl", "mv", "cat", "python3", "grep", "lsmod", "update-initramfs", "ibv_devinfo",
    "nvidia-smi", "systemctl", "mlxconfig", "ulimit", "lspci", "sudo", "nmcli", "apt-get",
    "ovs-vsctl", "containerd", "k3s",
}  # fmt: skip
ID = re.compile(r"^[a-z0-9]+\.[a-z0-9_-]+$")


def _reports() -> list[HostReport]:
    broken = gh200(
        modules=[KernelModule(name="mlx5_core", loaded=True)],
        rdma_devices=[],
        infiniband_char_devices=[],
        cni=CniState(),
        memlock_kb=64,
        hugepages=[Hugepages(size_kb=2048, total=0, free=0)],
    )
    ib = gh200(netns_mode=NetnsMode.EXCLUSIVE, memlock_kb=64)
    for d in ib.rdma_devices:
        p = d.ports[0]
        p.link_layer, p.state, p.phys_state = (
            LinkLayer.INFINIBAND,
            PortState.INIT,
            PhysState.LINK_UP,
        )
        p.gids = []
        d.netdevs, p.netdev = [], None
    for n in ib.nics:
        n.sriov_totalvfs = 0
    roce = gh200(
        topology=[TopoEntry(gpu="GPU0", nic="mlx5_0", relation=PciRelation.SYS)],
        modules=[
            KernelModule(name=n, loaded=True) for n in ("mlx5_core", "mlx5_ib", "nvidia_peermem")
        ],
        infiniband_char_devices=[],
        netns_mode=None,
        hugepages=[Hugepages(size_kb=2048, total=512, free=0)],
        cni=CniState(
            plugins=["flannel"],
            conf_files=[CniConfigFile(name="00-x.conf", kind="conf", error="invalid JSON")],
            k3s_flannel_builtin=True,
        ),
    )
    for d in roce.rdma_devices:
        d.char_devices = []
        d.ports[0].gids = [g for g in d.ports[0].gids if g.roce_version == "v1"]
    for n in roce.nics:
        n.sriov_numvfs = 4
    far = gh200(
        gpus=[Gpu(index=0, numa_node=1)],
        modules=[
            KernelModule(name=n, loaded=True)
            for n in ("mlx5_core", "mlx5_ib", "ib_uverbs", "rdma_ucm", "ib_umad")
        ],
        nics=[dataclasses.replace(n, sriov_totalvfs=None) for n in gh200().nics],
        cni=CniState(
            plugins=["multus"],
            conf_files=[
                CniConfigFile(
                    name="10-flannel.conflist", kind="conflist", plugin_types=["flannel"]
                ),
                CniConfigFile(name="90-multus.conf", kind="conf", plugin_types=["multus"]),
            ],
        ),
    )
    p0 = far.rdma_devices[0].ports[0]
    p0.gids = [g for g in p0.gids if g.ipv4 is None]
    p0.roce_v2_ipv4_gid_index = None
    pasted = HostReport(
        source="tool-outputs", problems=[ReadProblem(path="topo.txt", error="no NIC Legend")]
    )
    nothing = HostReport(nics=[], modules=[KernelModule(name="i40e", loaded=True)])
    abi = (
        "libibverbs: Warning: Driver rxe does not support the kernel ABI of 1 (supports 2 to 2) "
        "for device /sys/class/infiniband/rxe0"
    )
    refused = HostReport(
        source="tool-outputs",
        rdma_devices_listed=True,
        verbs_messages=[abi],
        kubernetes_node=KubeNode(name="n1", allocatable={"rdma/rdma_shared_device_a": "0"}),
        problems=[
            ReadProblem(path="lspci.txt", error="line 1: expected ...", kind="refused", line=1),
            ReadProblem(path="lsmod.txt", error="line 3: skipped a comment", kind="skipped"),
        ],
    )
    return [gh200(), broken, ib, roce, far, pasted, nothing, refused]


def _scenarios() -> list[Finding]:
    found: list[Finding] = []
    for r in _reports():
        for mode in (None, *Mode):
            for rdma_cni in (False, True):
                found += diagnose(r, mode, rdma_cni=rdma_cni, vfs=32)
                found += diagnose(r, mode, rdma_cni=rdma_cni, vfs=8, dpdk=True)
    found += _switchdev_scenarios()
    found += _dra_scenarios()
    return found


def _dra_scenarios() -> list[Finding]:
    beta = gh200()
    beta.dra.api_versions = ["resource.k8s.io/v1beta1", "v1"]
    beta.dra.nri_socket_present = False
    both = gh200(kubernetes_node=KubeNode(name="guest", allocatable={"rdma/hca": "8"}))
    both.nics[1].link_type = "infiniband"
    both.dra.devices = [
        DraDevice(driver="dra.net", node="guest", name="enp1s0f0np0",
                  attributes={"rdma": True, "pciAddress": "0000:01:00.0"}),
        DraDevice(driver="dra.net", node="guest", name="ib1",
                  attributes={"rdma": False, "ifName": "enp1s0f1np1"}),
    ]
    return (diagnose(beta, dra=True) + diagnose(both, dra=True)
            + diagnose(HostReport(source="tool-outputs"), dra=True))


def _switchdev_scenarios() -> list[Finding]:
    broken = switchdev()
    broken.representors[0].operstate = "down"
    broken.representors = broken.representors[:1]
    vf1 = broken.nic_by_pci("0000:08:00.3")
    assert vf1 is not None
    vf1.driver, vf1.rdma_devices = None, []
    broken.eswitches[0].hw_tc_offload = False
    legacy = switchdev(representors=[])
    legacy.eswitches[0].mode = "legacy"
    found: list[Finding] = []
    for r in (switchdev(), broken, legacy):
        for mode in (None, Mode.SRIOV):
            found += diagnose(r, mode, rdma_cni=True, ovs_offload=True)
    return found


FINDINGS = _scenarios()


def test_every_catalogued_rule_fires_and_nothing_else() -> None:
    assert {f.id for f in FINDINGS} == RULE_IDS


def test_fix_and_persist_lines_are_commands_or_comments() -> None:
    for f in FINDINGS:
        for line in f.fix:
            if line.startswith("#"):
                continue
            first = shlex.split(line, comments=True)[0]
            assert first in COMMANDS, (f.id, line)
        for line in f.persist:
            assert line.startswith(("#", "/etc/")) or line.split()[0] in COMMANDS, (f.id, line)


def test_ids_evidence_and_why() -> None:
    for f in FINDINGS:
        assert ID.match(f.id), f.id
        assert f.evidence, f.id
        assert f.why.endswith((".", ")")), (f.id, f.why)
        assert f.subject and f.title
