"""SR-IOV plans on a PF whose eswitch is in switchdev mode (the `roce_switchdev` sample, read by
the real discovery): VFs by PCI address, never representors, or a refusal with the step order."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from dualnet.errors import UsageError
from dualnet.host.discover import discover
from dualnet.host.models import HostReport
from dualnet.host.samples import build_sample
from dualnet.plan import Plan, build_plan
from dualnet.spec import parse_spec


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> HostReport:
    return discover(build_sample("roce_switchdev", tmp_path_factory.mktemp("sd") / "root"))


def plan(host: HostReport, **spec: Any) -> Plan:
    data = {"apiVersion": "dualnet.io/v1alpha1", "kind": "TrainingNetwork",
            "metadata": {"name": "rdma-net"},
            "spec": {"mode": "sriov", "nics": {"netdevs": ["enp8s0f0np0"]},
                     "ipam": {"type": "host-local", "subnet": "192.168.80.0/24"}, **spec}}
    return build_plan(parse_spec(data), [host])


def test_vfs_selected_by_pci_address_not_pf_names(host: HostReport) -> None:
    p = plan(host, numVfs=2)
    assert p.sriov_dp_config is not None
    (sel,) = p.sriov_dp_config["resourceList"][0]["selectors"]
    assert sel["pciAddresses"] == ["0000:08:00.2", "0000:08:00.3"]
    assert "pfNames" not in sel  # the PF's netdev list holds the representors too


def test_more_vfs_than_exist_is_refused_with_the_order(host: HostReport) -> None:
    with pytest.raises(UsageError) as info:
        plan(host, numVfs=4)
    assert "switchdev mode with 2 of 4 VFs" in info.value.message
    hint = info.value.hint or ""
    assert (hint.index("mlx5_core/unbind") < hint.index("mode switchdev")
            < hint.index("mlx5_core/bind"))


def test_a_representor_is_never_a_training_nic(host: HostReport) -> None:
    with pytest.raises(UsageError) as info:
        plan(host, nics={"netdevs": ["enp8s0f0npf0vf0"]}, numVfs=2)
    assert "pcivf representor of PF 0000:08:00.0" in info.value.message


def test_legacy_pf_keeps_pf_names(host: HostReport) -> None:
    legacy = copy.deepcopy(host)
    legacy.eswitches[0].mode = "legacy"
    legacy.representors = []
    p = plan(legacy, numVfs=2)
    assert p.sriov_dp_config is not None
    (sel,) = p.sriov_dp_config["resourceList"][0]["selectors"]
    assert sel["pfNames"] == ["enp8s0f0np0#0-1"] and "pciAddresses" not in sel
