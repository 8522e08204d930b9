"""Pure parts of the lab: config rewrites, support verdicts, network-status from CNI results,
the plugin executor against a stand-in plugin script."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from dualnet.lab import cni, conflist
from dualnet.lab.models import CniErrorResult, CniResult
from dualnet.lab.rewrite import LAB_DEVICE, LAB_NIC, prepare, static_address_for
from dualnet.lab.status import network_status
from dualnet.lab.topology import pod_subnet
from dualnet.parse.network_status import dump_network_status, parse_network_status


def test_host_local_and_tuning_state_move_into_the_run_dir(tmp_path: Path) -> None:
    conf: dict[str, Any] = {"cniVersion": "1.0.0", "name": "n", "plugins": [
        {"type": "macvlan", "master": "eth9",
         "ipam": {"type": "host-local", "subnet": "10.1.0.0/24", "dataDir": "/var/lib/x"}},
        {"type": "tuning", "mtu": 1400}]}
    lab = prepare(conf, tmp_path)
    plugins = lab.config["plugins"]
    assert plugins[0]["ipam"]["dataDir"] == str(tmp_path / "host-local")
    assert plugins[1]["dataDir"] == str(tmp_path / "tuning")
    assert any("/var/lib/x" in r for r in lab.rewrites)
    assert conf["plugins"][0]["ipam"]["dataDir"] == "/var/lib/x"  # input left untouched
    assert lab.master == "eth9" and not lab.unsupported


def test_missing_master_is_set_to_the_lab_nic(tmp_path: Path) -> None:
    lab = prepare({"type": "macvlan", "name": "n", "ipam": {}}, tmp_path)
    assert lab.config["master"] == LAB_NIC and lab.master == LAB_NIC
    assert any("default-route interface" in r for r in lab.rewrites)


def test_whereabouts_becomes_the_same_host_local_pool(tmp_path: Path) -> None:
    lab = prepare({"type": "macvlan", "name": "n", "master": "e", "ipam": {
        "type": "whereabouts", "range": "192.168.2.225-192.168.2.230/28",
        "exclude": ["192.168.2.229/32"]}}, tmp_path)
    ipam = lab.config["ipam"]
    assert ipam["type"] == "host-local"
    assert ipam["ranges"] == [[{"subnet": "192.168.2.224/28", "rangeStart": "192.168.2.225",
                                "rangeEnd": "192.168.2.230"}]]
    assert any("exclude" in r for r in lab.rewrites)


def test_hardware_plugins_and_dhcp_are_unsupported(tmp_path: Path) -> None:
    for ptype, needle in (("sriov", "SR-IOV"), ("ib-sriov", "InfiniBand"),
                          ("ipoib", "InfiniBand")):
        assert needle in prepare({"type": ptype, "name": "n"}, tmp_path).unsupported
    chained = {"name": "n", "plugins": [{"type": "sriov"}, {"type": "rdma"}]}
    assert prepare(chained, tmp_path).unsupported
    dhcp = prepare({"type": "macvlan", "name": "n", "master": "e", "ipam": {"type": "dhcp"}},
                   tmp_path)
    assert "dhcp" in dhcp.unsupported
    assert not prepare({"type": "macvlan", "name": "n", "master": "e"}, tmp_path).unsupported


def test_host_device_by_pci_gets_a_lab_device(tmp_path: Path) -> None:
    lab = prepare({"type": "host-device", "name": "n", "pciBusID": "0000:3b:00.1"}, tmp_path)
    assert lab.config["device"] == LAB_DEVICE and "pciBusID" not in lab.config
    assert lab.device == LAB_DEVICE
    by_mac = prepare({"type": "host-device", "name": "n", "hwaddr": "52:54:00:00:00:01"},
                     tmp_path)
    assert by_mac.device_mac == "52:54:00:00:00:01"


def test_jumbo_mtu_is_given_to_the_lab_master(tmp_path: Path) -> None:
    assert prepare({"type": "macvlan", "name": "n", "master": "e", "mtu": 9000},
                   tmp_path).mtu == 9000


def test_static_ips_per_pod(tmp_path: Path) -> None:
    conf = {"type": "macvlan", "name": "n", "master": "e", "capabilities": {"ips": True},
            "ipam": {"type": "static", "addresses": [{"address": "192.168.51.10/24"}]}}
    assert prepare(conf, tmp_path).static_ips_capability
    assert static_address_for(conf, 0) == ["192.168.51.10/24"]
    assert static_address_for(conf, 3) == ["192.168.51.13/24"]


def test_pod_subnet_avoids_the_nad_subnet() -> None:
    assert pod_subnet({"type": "macvlan", "ipam": {"subnet": "192.168.50.0/24"}}) == \
        "10.244.0.0/24"
    assert pod_subnet({"type": "macvlan", "ipam": {"subnet": "10.0.0.0/8"}}) == "172.30.0.0/24"


BRIDGE_RESULT = {
    "cniVersion": "1.0.0",
    "interfaces": [{"name": "cni0", "mac": "aa:00:00:00:00:01"},
                   {"name": "veth1", "mac": "aa:00:00:00:00:02"},
                   {"name": "eth0", "mac": "aa:00:00:00:00:03", "sandbox": "/var/run/netns/p"}],
    "ips": [{"interface": 2, "address": "10.244.1.7/24", "gateway": "10.244.1.1"}],
    "routes": [{"dst": "0.0.0.0/0", "gw": "10.244.1.1"}], "dns": {}}


def test_network_status_follows_multus() -> None:
    entries = network_status(BRIDGE_RESULT, "cbr0", default=True)
    assert len(entries) == 1
    e = entries[0]
    assert (e.interface, e.ips, e.mac, e.default, e.gateway) == (
        "eth0", ["10.244.1.7"], "aa:00:00:00:00:03", True, ["10.244.1.1"])
    text = dump_network_status(entries)
    assert parse_network_status(text)[0].ips == ["10.244.1.7"]


def test_network_status_of_0_4_0_and_legacy_results() -> None:
    r040 = {"cniVersion": "0.4.0", "interfaces": [{"name": "net1", "sandbox": "/x"}],
            "ips": [{"version": "4", "interface": 0, "address": "192.168.50.10/24",
                     "gateway": "192.168.50.1"}]}
    (e,) = network_status(r040, "ns/roce")
    assert e.ips == ["192.168.50.10"] and e.gateway == [] and not e.default
    legacy = {"cniVersion": "0.2.0", "ip4": {"ip": "192.168.50.78/24"}}
    (e,) = network_status(legacy, "ns/roce")
    assert e.ips == ["192.168.50.78"] and e.interface is None


def _fake_plugin(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "fake"
    p.write_text("#!/bin/sh\n" + body)
    p.chmod(p.stat().st_mode | stat.S_IEXEC)
    return p


def test_run_plugin_env_is_clean_and_stderr_apart(tmp_path: Path) -> None:
    os.environ["CNI_ARGS"] = "LEAK=1"
    try:
        plugin = _fake_plugin(tmp_path, 'cat > "$0.stdin"; echo noise >&2\n'
                              'printf \'{"env":"%s|%s|%s|%s"}\' "$CNI_COMMAND" "$CNI_IFNAME" '
                              '"$CNI_ARGS" "$CNI_PATH"\n')
        res = cni.run_plugin(plugin, "ADD", {"type": "fake", "x": 1}, "/var/run/netns/p",
                             "net1", "c1")
    finally:
        del os.environ["CNI_ARGS"]
    assert isinstance(res, CniResult)
    assert res.result == {"env": f"ADD|net1||{tmp_path}"}
    assert res.stderr == "noise"
    assert json.loads((tmp_path / "fake.stdin").read_text()) == {"type": "fake", "x": 1}


def test_run_plugin_error_object_and_garbage(tmp_path: Path) -> None:
    plugin = _fake_plugin(tmp_path, 'echo \'{"code":7,"msg":"bad","details":"why"}\'; exit 1\n')
    err = cni.run_plugin(plugin, "ADD", {"type": "fake"}, "", "net1", "c1")
    assert isinstance(err, CniErrorResult)
    assert (err.code, err.msg, err.details) == (7, "bad", "why")
    plugin2 = _fake_plugin(tmp_path, "echo panic: oops >&2; exit 2\n")
    err2 = cni.run_plugin(plugin2, "DEL", {"type": "fake"}, "", "net1", "c1")
    assert isinstance(err2, CniErrorResult) and err2.msg == "panic: oops" and err2.exit_code == 2


def test_chain_injects_name_version_and_prev_result(tmp_path: Path) -> None:
    log = tmp_path / "log"
    (tmp_path / "one").write_text(f"#!/bin/sh\ncat >> {log}; echo >> {log}\n"
                                  'echo \'{"cniVersion":"1.0.0","ips":[]}\'\n')
    (tmp_path / "two").write_text((tmp_path / "one").read_text())
    for n in ("one", "two"):
        (tmp_path / n).chmod(0o755)
    att = conflist.Attachment(bin_dir=tmp_path, netns_path="/x", ifname="net1",
                              container_id="c")
    conf: dict[str, Any] = {"cniVersion": "1.0.0", "name": "n",
                            "plugins": [{"type": "one"}, {"type": "two"}]}
    out = conflist.add(conf, att)
    assert out.ok and out.result == {"cniVersion": "1.0.0", "ips": []}
    sent = [json.loads(line) for line in log.read_text().splitlines() if line]
    assert sent[0] == {"type": "one", "cniVersion": "1.0.0", "name": "n"}
    assert sent[1]["prevResult"] == {"cniVersion": "1.0.0", "ips": []}
    log.write_text("")
    conflist.delete(conf, att, out.result)
    sent = [json.loads(line) for line in log.read_text().splitlines() if line]
    assert [s["type"] for s in sent] == ["two", "one"]  # DEL in reverse
    missing = conflist.add({"type": "nope", "name": "n"}, att)
    assert missing.error is not None and "not found" in missing.error.msg


def test_whereabouts_exclude_at_the_start_becomes_range_start(tmp_path: Path) -> None:
    lab = prepare({"type": "macvlan", "name": "n", "master": "e", "ipam": {
        "type": "whereabouts", "range": "192.168.70.0/24", "exclude": ["192.168.70.0/28"],
        "kubernetes": {"kubeconfig": "/x"}}}, tmp_path)
    assert lab.config["ipam"]["ranges"] == [[{"subnet": "192.168.70.0/24",
                                              "rangeStart": "192.168.70.16"}]]
    assert "kubernetes" not in lab.config["ipam"]
