"""The pure parts of the vlan shared-mode proof (lab/vm/vlan_shared.py): tenant B's NAD, its
subnet, the helper's output read back. The proof itself runs in tests/lab/vm/test_vm_real.py."""

from __future__ import annotations

import pytest

from dualnet.errors import UsageError
from dualnet.lab.vm.vlan_shared import (
    helper_index,
    other_vlan,
    tenant_b_config,
    tenant_b_subnet,
    vlan_of,
)

NAD = {"cniVersion": "1.0.0", "name": "roce-vlan100", "type": "vlan", "master": "ens1f0np0",
       "vlanId": 100, "mtu": 9000,
       "ipam": {"type": "host-local", "subnet": "198.18.0.0/24"}}


def test_tenant_b_differs_only_in_vlan_and_addresses() -> None:
    conf = tenant_b_config(NAD, "198.18.1.1/24")
    assert conf == {"cniVersion": "1.0.0", "name": "roce-vlan100-tenant-b", "type": "vlan",
                    "master": "ens1f0np0", "vlanId": 101, "mtu": 9000,
                    "ipam": {"type": "static", "addresses": [{"address": "198.18.1.1/24"}]}}
    # the NAD's own subnet is taken: tenant B gets the next benchmarking range
    assert str(tenant_b_subnet(NAD)) == "198.18.1.0/24"


def test_a_conflist_gives_its_vlan_plugin() -> None:
    conflist = {"cniVersion": "0.4.0", "name": "v", "plugins": [
        {"type": "vlan", "master": "eth1", "vlanId": 4094, "ipam": {"type": "dhcp"}},
        {"type": "tuning", "sysctl": {}}]}
    plugin, vid = vlan_of(conflist)
    assert (plugin["master"], vid, other_vlan(vid)) == ("eth1", 4094, 4093)
    assert tenant_b_config(conflist, "198.18.0.2/24")["cniVersion"] == "0.4.0"


@pytest.mark.parametrize("bad", [0, 4095, "100", None])
def test_a_bad_vlan_id_is_named(bad: object) -> None:
    with pytest.raises(UsageError, match="vlanId"):
        vlan_of({**NAD, "vlanId": bad})


def test_helper_output_read_back() -> None:
    out = "NCCL_IB_ADDR_FAMILY=AF_INET\nNCCL_IB_GID_INDEX=3\nNCCL_IB_ADDR_RANGE=10.0.0.1/32"
    assert helper_index(out) == 3
    assert helper_index("rc 1: dualnet-pod: no RoCE v2 GID holds net1's address") is None
