"""devlink and `ip -d link` representor captures (tests/corpus/devlink_*, ip_link/cx-switchdev-*),
values read off the captures by hand; and what `--from` makes of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from dualnet.parse._text import collecting
from dualnet.parse.devlink import parse_devlink_eswitch, parse_devlink_port
from dualnet.parse.errors import ParseError
from dualnet.parse.from_dir import report_from_dir
from dualnet.parse.ip import parse_ip_link

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
E810 = "devlink_port/e810-ice-switchdev-4vfs-function-hw-addr-intel-wired-lan-2024-02.txt"
REPS = "ip_link/cx-switchdev-uplink-and-two-vf-representors-portname-pf0vf0-pf1vf0.txt"


def read(rel: str) -> str:
    return (CORPUS / rel).read_text(encoding="utf-8")


def test_eswitch_legacy_then_switchdev() -> None:
    (before,) = parse_devlink_eswitch(
        read("devlink_eswitch/cx4lx-legacy-opennebula-one-deploy-214.txt"))
    (after,) = parse_devlink_eswitch(read(
        "devlink_eswitch/cx4lx-switchdev-after-unbind-switch-rebind-opennebula-one-deploy-214.txt"))
    assert (before.pf_pci_address, before.mode) == ("0000:c1:00.1", "legacy")
    assert (after.pf_pci_address, after.mode) == ("0000:c1:00.1", "switchdev")
    assert after.mode_source == "devlink dev eswitch show"


def test_eswitch_rejects_an_unknown_mode_and_an_error_line() -> None:
    with pytest.raises(ParseError, match="line 1"):
        parse_devlink_eswitch("pci/0000:c1:00.1: mode offload inline-mode link")
    # best effort: a stray line next to a real one is skipped with a warning
    with collecting() as warnings:
        (esw,) = parse_devlink_eswitch("devlink answers: Operation not supported\n"
                                       "pci/0000:c1:00.1: mode legacy inline-mode link\n")
    assert esw.mode == "legacy" and [w.line_no for w in warnings] == [1]
    with pytest.raises(ParseError, match="line 1"):
        parse_devlink_eswitch("devlink answers: Operation not supported")


def test_port_e810_four_vf_representors_and_two_uplinks() -> None:
    ports = parse_devlink_port(read(E810))
    vfs = {p.netdev: p.vfnum for p in ports if p.flavour == "pcivf"}
    assert vfs == {"enp8s0f0npf0vf0": 0, "enp8s0f0npf0vf3": 3, "enp8s0f0npf0vf1": 1,
                   "enp8s0f0npf0vf2": 2}
    assert all(p.pf_pci_address == "0000:08:00.0" and p.controller is None
               for p in ports if p.flavour == "pcivf")
    assert [(p.netdev, p.port, p.pf_pci_address) for p in ports if p.flavour == "physical"] == [
        ("enp8s0f0np0", 0, "0000:08:00.0"), ("enp8s0f1np1", 1, "0000:08:00.1")]


def test_port_wrapped_lines_and_json_agree_on_the_sf_port() -> None:
    text = parse_devlink_port(
        read("devlink_port/mlx5-sf-port-wrapped-netdev-mail-archive-2020-12.txt"))
    (js,) = parse_devlink_port(
        read("devlink_port/mlx5-sf-port-json-kernel-commit-b8288837.txt"))
    sf = next(p for p in text if p.flavour == "pcisf")
    assert (sf.netdev, sf.pfnum, sf.sfnum, sf.pf_pci_address) == (
        "ens2f0npf0sf88", 0, 88, "0000:06:00.0")
    assert sf == js


def test_port_rejects_text_before_the_first_port() -> None:
    with pytest.raises(ParseError, match="line 1"):
        parse_devlink_port("Error: mlx5_core: eswitch is not in switchdev mode\n")
    with pytest.raises(ParseError, match="'port'"):
        parse_devlink_port('{"dev": {}}')


def test_ip_d_link_representor_fields() -> None:
    ifaces = {i.name: i for i in parse_ip_link(read(REPS))}
    assert (ifaces["enp1s0f0np0"].portname, ifaces["enp1s0f0np0"].switchid) == (
        "p0", "fa67c3ffffc94094")
    assert ifaces["enp1s0f1npf1vf0"].portname == "pf1vf0"
    assert ifaces["enp1s0f1npf1vf0"].parentdev == "0000:01:00.1"


def test_from_dir_representors_are_not_pf_netdevs(tmp_path: Path) -> None:
    # Before: every representor with `parentdev` = the PF became one of the PF's netdevs.
    (tmp_path / "ip_link.txt").write_text(read(REPS), encoding="utf-8")
    (tmp_path / "lspci.txt").write_text(
        "01:00.0 Ethernet controller [0200]: Mellanox Technologies MT2892 Family [ConnectX-6 Dx]"
        " [15b3:101d]\n"
        "01:00.1 Ethernet controller [0200]: Mellanox Technologies MT2892 Family [ConnectX-6 Dx]"
        " [15b3:101d]\n", encoding="utf-8")
    r = report_from_dir(tmp_path)
    pf0 = r.nic_by_pci("0000:01:00.0")
    assert pf0 is not None and pf0.netdevs == ["enp1s0f0np0"]
    pf1 = r.nic_by_pci("0000:01:00.1")
    assert pf1 is not None and pf1.netdevs == []
    assert [(x.netdev, x.pf_pci_address, x.pfnum, x.vfnum, x.switch_id) for x in r.representors
            ] == [("enp1s0f0npf0vf0", "0000:01:00.0", 0, 0, "fa67c3ffffc94094"),
                  ("enp1s0f1npf1vf0", "0000:01:00.1", 1, 0, "fa67c3ffffc94094")]
    assert [(e.pf_pci_address, e.mode, e.mode_source, e.uplink_netdev) for e in r.eswitches] == [
        ("0000:01:00.0", "switchdev", "representors", "enp1s0f0np0"),
        ("0000:01:00.1", "switchdev", "representors", None)]


def test_from_dir_devlink_files(tmp_path: Path) -> None:
    (tmp_path / "devlink_port_show.txt").write_text(read(E810), encoding="utf-8")
    (tmp_path / "devlink-dev-eswitch-show.txt").write_text(
        "# source: tests/corpus/devlink_eswitch (mode line), PCI address of the E810 capture\n"
        "pci/0000:08:00.0: mode switchdev inline-mode link encap-mode basic\n", encoding="utf-8")
    r = report_from_dir(tmp_path)
    (esw,) = r.eswitches
    assert (esw.pf_pci_address, esw.mode, esw.uplink_netdev) == (
        "0000:08:00.0", "switchdev", "enp8s0f0np0")
    assert esw.hw_tc_offload is None
    assert len(r.representors) == 4
