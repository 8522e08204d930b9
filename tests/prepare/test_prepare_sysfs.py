"""Steps that write sysfs and files, against fixture trees built by `dualnet.host.samples`.

The write lands in the tree and the verify reads it back. Commands that need hardware this machine
lacks (modprobe of mlx5 modules, `rdma system set`, `ip link set PF vf N mac M`) go to FakeKernel,
which records the argv and plays the kernel's part in the tree.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dualnet.errors import UsageError
from dualnet.host.models import HostReport, ManagementInterface
from dualnet.host.samples import build_sample
from dualnet.plan.steps import (
    BindDriver,
    CreateVfs,
    HostStep,
    K3sWithoutFlannel,
    LoadModules,
    SetMtu,
    SetNetnsMode,
    SetVfMacs,
)
from dualnet.prepare import Host, StepStatus, parse_steps, prepare, render_dry_run
from dualnet.prepare.runner import SubprocessRunner
from tests.prepare.fakes import FakeKernel

PF0, PF1, MGMT = "enp59s0f0np0", "enp59s0f1np1", "eno1"
TS = "20261123T190000Z"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return build_sample("roce_sriov", tmp_path / "node")


def host(root: Path, kernel: FakeKernel | None = None, *, dry_run: bool = False) -> Host:
    return Host(root, kernel or FakeKernel(root), dry_run=dry_run, timestamp=TS)


def numvfs(root: Path, pf: str) -> str:
    return (root / f"sys/class/net/{pf}/device/sriov_numvfs").read_text().strip()


def vf_addr(root: Path, pf: str, i: int) -> str:
    net = root / f"sys/class/net/{pf}/device/virtfn{i}/net"
    return (next(net.iterdir()) / "address").read_text().strip()


def test_create_vfs_lands_in_tree_and_second_run_is_unchanged(tree: Path) -> None:
    rep = prepare([CreateVfs(pf=PF1, num_vfs=4)], host(tree))
    s = rep.steps[0]
    assert (s.status, s.checked, s.acted, s.verified) == (StepStatus.CHANGED, True, True, True)
    assert numvfs(tree, PF1) == "4"
    assert [a.render() for a in s.commands] == [
        f"echo 4 > {tree}/sys/class/net/{PF1}/device/sriov_numvfs"]
    again = prepare([CreateVfs(pf=PF1, num_vfs=4)], host(tree))
    assert again.steps[0].status is StepStatus.UNCHANGED
    assert (again.steps[0].acted, again.journal) == (False, [])


def test_changing_a_nonzero_vf_count_writes_zero_first(tree: Path) -> None:
    assert numvfs(tree, PF0) == "4"
    rep = prepare([CreateVfs(pf=PF0, num_vfs=6)], host(tree))
    assert [a.value for a in rep.journal] == ["0", "6"]
    assert numvfs(tree, PF0) == "6"
    # The undo goes back through 0 too.
    assert [a.value for a in rep.steps[0].undo] == ["0", "4"]


def test_over_limit_vfs_are_refused_and_nothing_changes(tree: Path) -> None:
    kernel = FakeKernel(tree)
    rep = prepare([LoadModules(modules=["rdma_ucm"]), CreateVfs(pf=PF1, num_vfs=9)],
                  host(tree, kernel))
    assert [s.status for s in rep.steps] == [StepStatus.SKIPPED, StepStatus.REFUSED]
    assert "sriov_totalvfs is 8" in (rep.steps[1].error or "")
    assert numvfs(tree, PF1) == "0"
    assert not (tree / "etc/modules-load.d").exists()
    assert kernel.calls == [] and rep.journal == []


@pytest.mark.parametrize("step", [
    SetMtu(interface=MGMT, mtu=9000),
    CreateVfs(pf=MGMT, num_vfs=1),
    BindDriver(pci_address="0000:02:00.0", driver="vfio-pci"),
])
def test_default_route_interface_is_refused(tree: Path, step: SetMtu) -> None:
    rep = prepare([step], host(tree))
    assert rep.steps[0].status is StepStatus.REFUSED
    assert MGMT in rep.protected_interfaces and rep.journal == []
    assert (tree / f"sys/class/net/{MGMT}/mtu").read_text().strip() == "1500"


def test_node_ip_interface_from_facts_is_refused(tree: Path) -> None:
    facts = HostReport(management=ManagementInterface(name=PF0, addresses=["192.168.100.10/24"]))
    rep = prepare([SetMtu(interface=PF0, mtu=4200)], host(tree), facts)
    assert rep.steps[0].status is StepStatus.REFUSED
    assert "node IP" in (rep.steps[0].error or "")


def test_unknown_management_interface_refuses_a_real_run(tree: Path) -> None:
    (tree / "proc/net/route").unlink()
    rep = prepare([SetMtu(interface=PF1, mtu=9000)], host(tree))
    assert rep.steps[0].status is StepStatus.REFUSED
    assert "cannot tell" in (rep.steps[0].error or "")
    dry = prepare([SetMtu(interface=PF1, mtu=9000)], host(tree, dry_run=True))
    assert dry.steps[0].status is StepStatus.WOULD_CHANGE
    assert any("a real run would refuse" in n for n in dry.steps[0].notes)


def test_modules_and_netns_mode_persist_with_backup_and_are_idempotent(tree: Path) -> None:
    modprobe_d = tree / "etc/modprobe.d"
    modprobe_d.mkdir(parents=True)
    (modprobe_d / "dualnet-rdma.conf").write_text("options ib_core netns_mode=0\n")
    steps: list[HostStep] = [LoadModules(modules=["mlx5_ib", "rdma_ucm", "nvidia_peermem"]),
             SetNetnsMode(mode="shared")]
    kernel = FakeKernel(tree)
    rep = prepare(steps, host(tree, kernel))
    assert [s.status for s in rep.steps] == [StepStatus.CHANGED, StepStatus.CHANGED]
    assert ("modprobe", "nvidia_peermem") in kernel.calls
    assert ("modprobe", "mlx5_ib") not in kernel.calls  # loaded already
    conf = (tree / "etc/modules-load.d/dualnet.conf").read_text().splitlines()
    assert conf[1:] == ["mlx5_ib", "rdma_ucm", "nvidia_peermem"]
    assert (tree / "sys/module/ib_core/parameters/netns_mode").read_text() == "Y\n"
    assert (modprobe_d / "dualnet-rdma.conf").read_text().splitlines()[-1] == \
        "options ib_core netns_mode=1"
    backup = modprobe_d / f"dualnet-rdma.conf.dualnet-bak.{TS}"
    assert backup.read_text() == "options ib_core netns_mode=0\n"

    kernel2 = FakeKernel(tree)
    again = prepare(steps, host(tree, kernel2))
    assert [s.status for s in again.steps] == [StepStatus.UNCHANGED] * 2
    assert kernel2.calls == [] and again.journal == []


def test_netns_ebusy_fails_with_hint_and_rolls_back_the_modules(tree: Path) -> None:
    kernel = FakeKernel(tree, busy_netns=True)
    rep = prepare([LoadModules(modules=["nvidia_peermem"]), SetNetnsMode(mode="shared")],
                  host(tree, kernel))
    assert [s.status for s in rep.steps] == [StepStatus.CHANGED, StepStatus.FAILED]
    assert "non-init network namespace" in (rep.steps[1].hint or "")
    assert rep.rolled_back and rep.rollback_errors == []
    # Read back: the module is unloaded again, no file of ours is left, the mode is unchanged.
    assert kernel.calls[-1] == ("modprobe", "-r", "nvidia_peermem")
    assert "nvidia_peermem" not in (tree / "proc/modules").read_text()
    assert not (tree / "etc/modules-load.d/dualnet.conf").exists()
    assert not (tree / "etc/modprobe.d/dualnet-rdma.conf").exists()
    assert (tree / "sys/module/ib_core/parameters/netns_mode").read_text().strip() == "N"


def _break(tree: Path, attr: str) -> None:
    # A directory where the sysfs attribute should be: the write fails with EISDIR, for real.
    (tree / "sys/bus/pci/drivers/mlx5_core" / attr).mkdir()


def test_failure_midway_rolls_back_in_reverse_order(tree: Path) -> None:
    _break(tree, "unbind")
    before = [vf_addr(tree, PF0, i) for i in range(4)]
    rep = prepare([CreateVfs(pf=PF1, num_vfs=2), SetMtu(interface=PF1, mtu=9000),
                   SetVfMacs(pf=PF0, vf_indexes=[0, 1])], host(tree))
    assert [s.status for s in rep.steps] == [StepStatus.CHANGED, StepStatus.CHANGED,
                                             StepStatus.FAILED]
    assert "EISDIR" in (rep.steps[2].error or "")
    assert rep.rolled_back
    # Read the state back: everything is as it was before the run.
    assert numvfs(tree, PF1) == "0"
    assert (tree / f"sys/class/net/{PF1}/mtu").read_text().strip() == "1500"
    assert [vf_addr(tree, PF0, i) for i in range(4)] == before
    rolled = [a.render() for a in rep.journal if a.phase == "rollback"]
    assert rolled == [f"ip link set {PF0} vf 0 mac {before[0]}",
                      f"ip link set dev {PF1} mtu 1500",
                      f"echo 0 > {tree}/sys/class/net/{PF1}/device/sriov_numvfs"]


def test_failed_rollback_hands_the_rest_to_the_user(tree: Path) -> None:
    _break(tree, "bind")  # the step fails at bind, and so does the undo's bind
    rep = prepare([CreateVfs(pf=PF1, num_vfs=2), SetVfMacs(pf=PF0, vf_indexes=[0])], host(tree))
    assert not rep.rolled_back and "EISDIR" in rep.rollback_errors[0]
    assert rep.manual_undo == [
        f"echo 0000:3b:00.2 > {tree}/sys/bus/pci/drivers/mlx5_core/bind",
        f"echo 0 > {tree}/sys/class/net/{PF1}/device/sriov_numvfs",
    ]
    # The MAC was set back before the bind failed; the VF count is still changed, as reported.
    assert vf_addr(tree, PF0, 0) == "5e:1a:7c:00:00:00"
    assert numvfs(tree, PF1) == "2"


def test_without_rollback_prints_what_was_done_and_how_to_undo(tree: Path) -> None:
    _break(tree, "bind")
    rep = prepare([CreateVfs(pf=PF1, num_vfs=2), SetVfMacs(pf=PF0, vf_indexes=[0])],
                  host(tree), rollback=False)
    assert not rep.rolled_back
    assert numvfs(tree, PF1) == "2"  # left as is, on request
    assert rep.manual_undo == [
        f"ip link set {PF0} vf 0 mac 5e:1a:7c:00:00:00",
        f"echo 0000:3b:00.2 > {tree}/sys/bus/pci/drivers/mlx5_core/bind",
        f"echo 0 > {tree}/sys/class/net/{PF1}/device/sriov_numvfs",
    ]
    from dualnet.prepare import render_report

    text = render_report(rep)
    assert "done so far:" in text and "to undo, run in this order:" in text


def test_vf_macs_and_rebind(tree: Path) -> None:
    # The VF-specific `ip link set PF vf N mac M` cannot run on this machine (no SR-IOV NIC):
    # FakeKernel records the argv; the unbind/bind writes land in the fixture tree for real.
    kernel = FakeKernel(tree)
    rep = prepare([SetVfMacs(pf=PF0)], host(tree, kernel))
    assert rep.steps[0].status is StepStatus.CHANGED and rep.steps[0].verified
    assert kernel.calls == [("ip", "link", "set", PF0, "vf", str(i), "mac", f"02:d4:1e:7a:10:0{i}")
                            for i in range(4)]
    drv = tree / "sys/bus/pci/drivers/mlx5_core"
    assert (drv / "unbind").read_text() == "0000:3b:00.5\n"
    assert (drv / "bind").read_text() == "0000:3b:00.5\n"
    ops = [(a.op, a.value) for a in rep.journal if a.op == "write_sysfs"]
    assert ops[:2] == [("write_sysfs", "0000:3b:00.2"), ("write_sysfs", "0000:3b:00.2")]
    again = prepare([SetVfMacs(pf=PF0)], host(tree, FakeKernel(tree)))
    assert again.steps[0].status is StepStatus.UNCHANGED


def test_bind_driver_in_tree(tree: Path) -> None:
    rep = prepare([BindDriver(pci_address="0000:3b:00.2", driver="mlx5_core")], host(tree))
    assert rep.steps[0].status is StepStatus.UNCHANGED


def test_k3s_is_printed_never_run(tree: Path) -> None:
    kernel = FakeKernel(tree)
    rep = prepare([K3sWithoutFlannel()], host(tree, kernel))
    s = rep.steps[0]
    assert s.status is StepStatus.MANUAL and kernel.calls == [] and rep.journal == []
    assert s.printed == [
        'curl -sfL https://get.k3s.io | INSTALL_K3S_EXEC="server --flannel-backend=none" sh -',
        "curl -L https://github.com/flannel-io/flannel/releases/latest/download/kube-flannel.yml"
        " -o /tmp/flannel.yml",
        "sed -i 's|10.244.0.0/16|10.42.0.0/16|g' /tmp/flannel.yml",
        "kubectl apply -f /tmp/flannel.yml",
    ]
    custom = prepare([K3sWithoutFlannel(pod_cidr="10.50.0.0/16")], host(tree)).steps[0]
    assert "--cluster-cidr=10.50.0.0/16" in custom.printed[0]
    assert "s|10.244.0.0/16|10.50.0.0/16|g" in custom.printed[2]
    cfg = tree / "etc/rancher/k3s/config.yaml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text('flannel-backend: "none"\n')
    assert prepare([K3sWithoutFlannel()], host(tree)).steps[0].status is StepStatus.UNCHANGED


def test_mtu_persist_for_networkd_and_notes_for_netplan(tree: Path) -> None:
    nd = tree / "etc/systemd/network"
    nd.mkdir(parents=True)
    (nd / "20-rdma.network").write_text(f"[Match]\nName={PF1}\n\n[Network]\nDHCP=no\n")
    npl = tree / "etc/netplan"
    npl.mkdir(parents=True)
    (npl / "50-cloud.yaml").write_text(f"network:\n  ethernets:\n    {PF1}:\n      dhcp4: false\n")
    rep = prepare([SetMtu(interface=PF1, mtu=9000)], host(tree))
    dropin = nd / "20-rdma.network.d/dualnet-mtu.conf"
    assert dropin.read_text().splitlines()[1:] == ["[Link]", "MTUBytes=9000"]
    assert any("`mtu: 9000`" in n and "50-cloud.yaml" in n for n in rep.steps[0].notes)
    again = prepare([SetMtu(interface=PF1, mtu=9000)], host(tree))
    assert again.steps[0].status is StepStatus.UNCHANGED


def test_dry_run_prints_exactly_and_changes_nothing(tree: Path) -> None:
    kernel = FakeKernel(tree)
    (tree / "etc/modules-load.d").mkdir(parents=True)
    (tree / "etc/modules-load.d/dualnet.conf").write_text("mlx5_ib\n")
    steps: list[HostStep] = [LoadModules(modules=["mlx5_ib", "nvidia_peermem"]),
             CreateVfs(pf=PF0, num_vfs=2), CreateVfs(pf=PF1, num_vfs=1), SetVfMacs(pf=PF1)]
    rep = prepare(steps, host(tree, kernel, dry_run=True))
    r = str(tree)
    assert render_dry_run(rep) == f"""\
# dualnet prepare --dry-run: 4 steps, root {r}
# [1] modules mlx5_ib nvidia_peermem: would-change (load nvidia_peermem; persist in \
/etc/modules-load.d/dualnet.conf)
modprobe nvidia_peermem
cp -p {r}/etc/modules-load.d/dualnet.conf {r}/etc/modules-load.d/dualnet.conf.dualnet-bak.{TS}
write {r}/etc/modules-load.d/dualnet.conf (atomic, mode 0644)
  | # written by dualnet prepare: modules the RDMA training network needs at boot
  | mlx5_ib
  | nvidia_peermem
# [2] 2 VFs on {PF0}: would-change (VFs on {PF0}: 4 -> 2)
echo 0 > {r}/sys/class/net/{PF0}/device/sriov_numvfs
echo 2 > {r}/sys/class/net/{PF0}/device/sriov_numvfs
#   note: the 4 existing VFs of {PF0} were removed and recreated: pods using them lost their \
interfaces
# [3] 1 VFs on {PF1}: would-change (VFs on {PF1}: 0 -> 1)
echo 1 > {r}/sys/class/net/{PF1}/device/sriov_numvfs
# [4] VF MACs (all) on {PF1} + rebind: would-change (VF MACs on {PF1}: set 1 and rebound to \
mlx5_core)
ip link set {PF1} vf 0 mac 02:d4:1e:7a:11:00
echo 0000:3b:01.2 > {r}/sys/bus/pci/drivers/mlx5_core/unbind
echo 0000:3b:01.2 > {r}/sys/bus/pci/drivers/mlx5_core/bind
"""
    assert kernel.calls == []
    assert numvfs(tree, PF0) == "4" and numvfs(tree, PF1) == "0"
    assert (tree / "etc/modules-load.d/dualnet.conf").read_text() == "mlx5_ib\n"
    assert not list((tree / "etc/modules-load.d").glob("*.dualnet-bak.*"))


def test_bad_names_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="interface"):
        parse_steps([{"kind": "mtu", "interface": "eth0; reboot", "mtu": 9000}])
    with pytest.raises(UsageError, match="not a valid interface name"):
        parse_steps([{"kind": "sriov_numvfs", "pf": "a" * 16, "num_vfs": 1}])
    with pytest.raises(UsageError, match="mtu"):
        parse_steps([{"kind": "mtu", "interface": "eth1", "mtu": 70000}])
    with pytest.raises(UsageError, match="kind"):
        parse_steps([{"kind": "reboot"}])
    with pytest.raises(UsageError, match="driver"):
        prepare([BindDriver(pci_address="0000:3b:00.2", driver="../../x")], Host("/tmp"))
    with pytest.raises(UsageError, match="mac_prefix"):
        prepare([SetVfMacs(pf="eth1", mac_prefix="03:00:00")], Host("/tmp"))


def test_runner_refuses_a_shell_string() -> None:
    with pytest.raises(TypeError, match="argument lists"):
        SubprocessRunner()("ip link set eth0 down")


def test_gh200_management_on_the_connectx_port_is_never_touched(tmp_path: Path) -> None:
    # The guide's node: port 0 of the ConnectX-7 carries the public IP and the default route
    # (anchors pain point 12: touching it cuts the node off). Port 1 is fair game.
    from dualnet.host.discover import discover

    tree = build_sample("gh200", tmp_path / "gh200")
    facts = discover(tree)
    assert facts.management is not None
    mgmt = facts.management.name
    nic = facts.nic_by_netdev(mgmt)
    assert nic is not None
    for step in (SetMtu(interface=mgmt, mtu=9000), CreateVfs(pf=mgmt, num_vfs=2),
                 SetVfMacs(pf=mgmt), BindDriver(pci_address=nic.pci_address, driver="mlx5_core")):
        rep = prepare([step], host(tree), facts)
        assert rep.steps[0].status is StepStatus.REFUSED, step
        assert rep.journal == []
    other = next(n.netdev for n in facts.nics if n.netdev and n.netdev != mgmt
                 and n.sriov_totalvfs)
    assert other is not None
    rep = prepare([CreateVfs(pf=other, num_vfs=2)], host(tree), facts)
    assert rep.steps[0].status is StepStatus.CHANGED and numvfs(tree, other) == "2"


def test_vf_of_the_pf_holding_the_node_ip_protects_the_pf(tree: Path) -> None:
    # Writing 0 to sriov_numvfs (or rebinding) would take every VF netdev down with it.
    facts = HostReport(management=ManagementInterface(name="enp59s0f0v1"))
    for step in (CreateVfs(pf=PF0, num_vfs=2), SetVfMacs(pf=PF0)):
        rep = prepare([step], host(tree), facts)
        assert rep.steps[0].status is StepStatus.REFUSED
    assert numvfs(tree, PF0) == "4"


def test_host_write_file_backs_up_and_undo_restores(tree: Path) -> None:
    conf = tree / "etc/cni/net.d/00-multus.conf"
    original = conf.read_bytes()
    h = host(tree)
    undo = h.write_file("/etc/cni/net.d/00-multus.conf", "{}\n")
    backup = tree / f"etc/cni/net.d/00-multus.conf.dualnet-bak.{TS}"
    assert conf.read_text() == "{}\n" and backup.read_bytes() == original
    assert [a.op for a in h.journal] == ["backup", "write_file"]
    for a in undo:
        h.apply(a)
    assert conf.read_bytes() == original
    new = h.write_file("/etc/cni/net.d/99-new.conf", "x\n")
    assert [a.op for a in new] == ["remove"]
    h.apply(new[0])
    assert not (tree / "etc/cni/net.d/99-new.conf").exists()
    with pytest.raises(UsageError):
        h.path("/etc/../../outside")


def test_dry_run_host_touches_nothing(tree: Path) -> None:
    kernel = FakeKernel(tree)
    h = host(tree, kernel, dry_run=True)
    h.write_file("/etc/cni/net.d/00-multus.conf", "{}\n")
    h.write_sysfs(f"/sys/class/net/{PF1}/device/sriov_numvfs", "3")
    assert h.run(["modprobe", "x"]).ok
    assert kernel.calls == [] and numvfs(tree, PF1) == "0"
    assert (tree / "etc/cni/net.d/00-multus.conf").read_text() != "{}\n"
    assert [a.op for a in h.journal] == ["backup", "write_file", "write_sysfs", "run"]
    assert all(a.ok is None for a in h.journal)


def test_netns_mode_without_ib_core_is_persisted_only(tree: Path) -> None:
    (tree / "sys/module/ib_core/parameters/netns_mode").unlink()
    kernel = FakeKernel(tree)
    rep = prepare([SetNetnsMode(mode="exclusive")], host(tree, kernel))
    assert rep.steps[0].status is StepStatus.CHANGED and kernel.calls == []
    assert any("ib_core is not loaded" in n for n in rep.steps[0].notes)
    conf = tree / "etc/modprobe.d/dualnet-rdma.conf"
    assert conf.read_text().splitlines()[-1] == "options ib_core netns_mode=0"
    again = prepare([SetNetnsMode(mode="exclusive")], host(tree, kernel))
    assert again.steps[0].status is StepStatus.UNCHANGED
