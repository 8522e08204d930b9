"""`ibdev2netdev -v` from the PCI function's VPD, and the link state of a netdev with no PCI NIC
(Soft-RoCE)."""

from __future__ import annotations

import struct
from pathlib import Path

from dualnet.host.discover import discover
from dualnet.host.samples import build_sample
from dualnet.host.views import ibdev2netdev_text
from dualnet.host.vpd import parse_vpd

NAME = "NVIDIA ConnectX-7 HHHL adapter card, 400GbE / NDR IB (default mode), Single-port"


def vpd_bytes(name: str, keywords: list[tuple[str, str]], truncate: int | None = None) -> bytes:
    """A VPD image laid out as the PCI specification gives it (section 6.4): the Identifier
    String tag 0x82, a VPD-R tag 0x90 with keyword entries ending in RV, and the end tag 0x78."""
    ident = name.encode()
    body = b"".join(k.encode() + bytes([len(v)]) + v.encode() for k, v in keywords)
    body += b"RV" + bytes([1]) + b"\x00"  # checksum entry
    data = (b"\x82" + struct.pack("<H", len(ident)) + ident
            + b"\x90" + struct.pack("<H", len(body)) + body + b"\x78")
    return data[:truncate] if truncate is not None else data


def test_vpd_identifier_and_read_only_keywords() -> None:
    vpd = parse_vpd(vpd_bytes(NAME, [("PN", "MCX75310AAS-NEAT"), ("EC", "A7"),
                                     ("SN", "MT2245XZ0ABC"), ("V0", "PCIeGen5 x16")]))
    assert vpd.identifier == NAME
    assert vpd.part_number == "MCX75310AAS-NEAT"
    assert vpd.keywords["SN"] == "MT2245XZ0ABC" and "RV" not in vpd.keywords


def test_vpd_truncated_or_garbage_keeps_what_was_read() -> None:
    full = vpd_bytes(NAME, [("PN", "MCX75310AAS-NEAT")])
    assert parse_vpd(full[:10]).part_number is None
    assert parse_vpd(full[: 3 + len(NAME)]).identifier == NAME
    assert parse_vpd(b"") == parse_vpd(b"\xff\xff")
    assert parse_vpd(bytes(range(256)) * 4).part_number is None  # never raises


def test_ibdev2netdev_verbose_prints_part_number_and_name(tmp_path: Path) -> None:
    root = build_sample("gh200", tmp_path / "gh200")
    fn = (root / "sys/bus/pci/devices/0000:01:00.0").resolve()
    (fn / "vpd").write_bytes(vpd_bytes(NAME, [("PN", "MCX75310AAS-NEAT"), ("SN", "X")]))
    report = discover(root)
    dev = report.rdma_device("mlx5_0")
    assert dev is not None and dev.part_number == "MCX75310AAS-NEAT"
    line = next(x for x in ibdev2netdev_text(report, verbose=True).splitlines()
                if " mlx5_0 " in x)
    assert f"(MT4129 - MCX75310AAS-NEAT) {NAME} fw " in line
    # the function without a VPD keeps mlnx-tools' NA and empty name
    other = next(x for x in ibdev2netdev_text(report, verbose=True).splitlines()
                 if " mlx5_1 " in x)
    assert "(MT4129 - NA)  fw " in other


def _file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


def test_soft_roce_port_shows_its_netdevs_real_state(tmp_path: Path) -> None:
    # rxe0 has no PCI device behind it; its netdev v0 is up (carrier 1). It used to print Down
    # because no PCI NIC carries v0.
    sysd = tmp_path / "sys"
    nd = sysd / "devices/virtual/net/v0"
    for attr, value in (("address", "02:00:00:00:00:01"), ("mtu", "1500"),
                        ("operstate", "up"), ("carrier", "1"), ("type", "1")):
        _file(nd / attr, value)
    (sysd / "class/net").mkdir(parents=True)
    (sysd / "class/net/v0").symlink_to("../../devices/virtual/net/v0")
    (sysd / "bus/pci/devices").mkdir(parents=True)
    ib = sysd / "devices/virtual/infiniband/rxe0"
    _file(ib / "node_type", "1: CA")
    port = ib / "ports/1"
    _file(port / "state", "4: ACTIVE")
    _file(port / "phys_state", "5: LinkUp")
    _file(port / "link_layer", "Ethernet")
    _file(port / "gids/0", "fe80:0000:0000:0000:0000:00ff:fe00:0001")
    _file(port / "gid_attrs/ndevs/0", "v0")
    _file(port / "gid_attrs/types/0", "IB/RoCE v1")
    (sysd / "class/infiniband").mkdir(parents=True)
    (sysd / "class/infiniband/rxe0").symlink_to("../../devices/virtual/infiniband/rxe0")
    report = discover(tmp_path)
    assert ibdev2netdev_text(report) == "rxe0 port 1 ==> v0 (Up)\n"
    _file(nd / "carrier", "0")
    assert ibdev2netdev_text(discover(tmp_path)) == "rxe0 port 1 ==> v0 (Down)\n"
