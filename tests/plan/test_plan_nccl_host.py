"""NCCL settings from HostReports discovered from the sample node trees."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest

from dualnet.errors import FindingError, UsageError
from dualnet.host.discover import discover
from dualnet.host.models import HostReport, PciRelation, PortState
from dualnet.host.samples import build_sample
from dualnet.modes import Mode
from dualnet.plan.nccl import format_env, nccl_settings
from tests.helpers import run_cli

_CACHE: dict[str, HostReport] = {}


def sample(name: str, tmp_path: Path) -> HostReport:
    """A fresh copy of the discovered sample (building the tree once per module run)."""
    if name not in _CACHE:
        _CACHE[name] = discover(build_sample(name, tmp_path / name))
    return copy.deepcopy(_CACHE[name])


def test_dgx_h100_ib_uses_the_ib_fabric_not_the_management_or_storage_ports(
    tmp_path: Path,
) -> None:
    report = sample("dgx_h100_ib", tmp_path)
    s = nccl_settings(report)
    ib = [d.name for d in report.rdma_devices
          if d.ports and d.ports[0].link_layer is not None
          and d.ports[0].link_layer.value == "InfiniBand"]
    mgmt = report.rdma_for_netdev(report.management.name)  # type: ignore[union-attr]
    assert mgmt is not None
    assert s.env["NCCL_IB_HCA"] == "=" + ",".join(f"{d}:1" for d in ib)
    assert mgmt.name not in s.env["NCCL_IB_HCA"]
    assert "NCCL_IB_GID_INDEX" not in s.env  # InfiniBand: LIDs, no GID index
    assert s.env["NCCL_SOCKET_IFNAME"] == "eth0"
    assert s.env["NCCL_NET_GDR_LEVEL"] == "PXB"  # peermem loaded, every HCA at PIX/PXB of a GPU


def test_roce_pf_gets_the_roce_v2_ipv4_gid_index_where_the_pod_owns_the_table(
    tmp_path: Path,
) -> None:
    report = sample("roce_sriov", tmp_path)
    env = nccl_settings(report, mode=Mode.HOST_DEVICE).env
    pf = report.rdma_device("mlx5_0")
    assert pf is not None and pf.ports[0].roce_v2_ipv4_gid_index is not None
    assert env == {
        "NCCL_IB_HCA": "=mlx5_0:1",
        "NCCL_SOCKET_IFNAME": "eth0",
        "NCCL_IB_GID_INDEX": str(pf.ports[0].roce_v2_ipv4_gid_index),
    }


def test_gid_index_differing_across_hcas_warns_and_lets_nccl_pick(tmp_path: Path) -> None:
    report = sample("dgx_h100_ib", tmp_path)
    eth = [d for d in report.rdma_devices
           if d.ports and d.ports[0].link_layer is not None
           and d.ports[0].link_layer.value == "Ethernet"]
    netdevs = [d.netdevs[0] for d in eth if d.name != "mlx5_2"]
    assert netdevs
    # two RoCE ports, one of them with another GID index
    second = copy.deepcopy(report.rdma_devices[0])
    second.name, second.netdevs = "mlx5_99", ["enp99s0np0"]
    second.ports = [dataclasses.replace(eth[1].ports[0], roce_v2_ipv4_gid_index=5,
                                        netdev="enp99s0np0")]
    report.rdma_devices.append(second)
    s = nccl_settings(report, training_netdevs=[netdevs[0], "enp99s0np0"], mode=Mode.SRIOV)
    assert "NCCL_IB_GID_INDEX" not in s.env
    assert s.env["NCCL_IB_ROCE_VERSION_NUM"] == "2" and s.env["NCCL_IB_ADDR_FAMILY"] == "AF_INET"
    assert any("differs across HCAs" in w and "mlx5_99:1=5" in w for w in s.warnings)


def test_management_interface_only_when_named_and_with_a_warning(tmp_path: Path) -> None:
    # The guide's setup: net1 (macvlan) shares enp1s0f0np0 with the management network.
    # Never picked automatically (next test); allowed when named, with a warning.
    report = sample("gh200", tmp_path)
    assert report.management is not None
    s = nccl_settings(report, training_netdevs=[report.management.name])
    assert s.env["NCCL_IB_HCA"] == "=mlx5_0:1"
    assert any("also the management interface" in w for w in s.warnings)


def test_gh200_has_no_training_port_up(tmp_path: Path) -> None:
    # the guide's node: port 0 carries the management address, port 1 has no link. A finding
    # about the node (exit 4, like the doctor's errors), not a usage error.
    with pytest.raises(FindingError) as err:
        nccl_settings(sample("gh200", tmp_path))
    assert "no RDMA port on the training network is ACTIVE" in err.value.message
    assert "management device left out: mlx5_0" in err.value.message


def test_gdr_not_set_without_peermem_or_at_node_distance(tmp_path: Path) -> None:
    report = sample("dgx_h100_ib", tmp_path)
    for m in report.modules:
        if m.name == "nvidia_peermem":
            m.loaded = False
    s = nccl_settings(report)
    assert "NCCL_NET_GDR_LEVEL" not in s.env
    assert any("nvidia_peermem is not loaded" in w for w in s.warnings)

    report = sample("dgx_h100_ib", tmp_path / "again")
    report.topology = [dataclasses.replace(t, relation=PciRelation.NODE)
                       for t in report.topology]
    s = nccl_settings(report)
    assert "NCCL_NET_GDR_LEVEL" not in s.env
    assert any("at NODE from the nearest GPU" in w for w in s.warnings)


def test_bad_interface_names_are_usage_errors(tmp_path: Path) -> None:
    report = sample("roce_sriov", tmp_path)
    with pytest.raises(UsageError):
        nccl_settings(report, socket_ifname="eth0; rm -rf /")
    with pytest.raises(UsageError, match="has no RDMA device"):
        nccl_settings(report, training_netdevs=["eno7"])


def test_format_env() -> None:
    assert format_env({"A": "1", "B": "=x:1"}) == "A=1\nB==x:1\n"


def test_nccl_env_cli_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = build_sample("roce_sriov", tmp_path / "roce")
    code, out, _ = run_cli(capsys, "nccl-env", "--root", str(root), "--output", "env")
    assert code == 0
    assert out.splitlines()[0] == "NCCL_IB_HCA==mlx5_0:1"
    assert "NCCL_SOCKET_IFNAME=eth0" in out.splitlines()
    code, out, _ = run_cli(capsys, "nccl-env", "--root", str(root), "-o", "json",
                           "--socket-ifname", "eth1")
    assert code == 0 and '"NCCL_SOCKET_IFNAME": "eth1"' in out
    code, out, _ = run_cli(capsys, "nccl-env", "--root", str(root))
    assert code == 0 and "NCCL_IB_GID_INDEX" in out and "left out 4 VF" in out
    code, _, err = run_cli(capsys, "nccl-env", "--root", str(tmp_path / "nowhere"))
    assert code == 2 and "does not exist" in err
    gh = build_sample("gh200", tmp_path / "gh")
    code, _, err = run_cli(capsys, "nccl-env", "--root", str(gh))
    assert code == 4 and "no RDMA port on the training network is ACTIVE" in err
    assert "Traceback" not in err


def test_gdr_level_never_set_at_phb(tmp_path: Path) -> None:
    # PHB: the path crosses the CPU's root complex; NCCL keeps GDR off there by default
    # (NCCL_NET_GDR_LEVEL defaults to PXB), so dualnet must not lift it
    report = sample("dgx_h100_ib", tmp_path)
    report.topology = [dataclasses.replace(t, relation=PciRelation.PHB)
                       for t in report.topology]
    s = nccl_settings(report)
    assert "NCCL_NET_GDR_LEVEL" not in s.env
    assert any("at PHB from the nearest GPU" in w for w in s.warnings)


def test_grace_gets_gdr_over_c2c_and_numa_local_nics(tmp_path: Path) -> None:
    report = sample("gh200", tmp_path)
    assert report.management is not None
    s = nccl_settings(report, training_netdevs=[report.management.name])
    assert s.env["NCCL_NET_GDR_C2C"] == "1"
    assert "NCCL_NET_GDR_LEVEL" not in s.env  # topo says NODE: a PCI level would be wrong
    assert any("2.26.2" in n for n in s.notes)
    # a NIC on another NUMA node than the GPU: no C2C GPUDirect, said so
    for nic in report.nics:
        nic.numa_node = 1
    s = nccl_settings(report, training_netdevs=[report.management.name])
    assert "NCCL_NET_GDR_C2C" not in s.env
    assert any("not on a GPU's NUMA node" in w for w in s.warnings)


def test_grace_auto_pick_prefers_the_gpus_numa_node(tmp_path: Path) -> None:
    report = sample("gh200", tmp_path)
    report.management = None
    for d in report.rdma_devices:
        for p in d.ports:
            p.state = PortState.ACTIVE
    far = report.nic_by_netdev("enp1s0f1np1")
    assert far is not None
    far.numa_node = 1
    s = nccl_settings(report)
    assert s.hcas == ["mlx5_0:1"]
    assert any("another NUMA node" in n for n in s.notes)


def test_nccl_env_with_the_spec_agrees_with_plan(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    # plan and sample print NCCL_IB_HCA=mlx5_0 for the guide's GH200: with the same spec,
    # nccl-env names the same device (from the same selection), not "no port is ACTIVE".
    import json

    from dualnet.plan import build_plan
    from dualnet.spec import load_spec

    gh = build_sample("gh200", tmp_path / "gh")
    spec = Path(__file__).resolve().parents[2] / "examples" / "gh200-shared-roce.yaml"
    plan = build_plan(load_spec(spec), [sample("gh200", tmp_path / "again")])
    code, out, err = run_cli(capsys, "nccl-env", "--root", str(gh), "--spec", str(spec),
                             "-o", "json")
    assert code == 0, err
    hcas = json.loads(out)["NCCL_IB_HCA"].removeprefix("=").split(",")
    assert [h.split(":")[0] for h in hcas] == plan.nccl_ib_hca == ["mlx5_0"]
