"""A NIC whose netdev sits under a child device of its PCI function, not in `<pci>/net`.

# source: /sys of the build machine (QEMU guest, Linux 6.18, 2026-12-01):
#   readlink /sys/class/net/eth0          -> ../../devices/pci0000:00/0000:00:03.0/virtio2/net/eth0
#   readlink /sys/class/net/eth0/device   -> ../../../virtio2
#   cat /sys/bus/pci/devices/0000:00:03.0/{class,vendor,device} -> 0x020000 0x1af4 0x1041
#   ls /sys/devices/pci0000:00/0000:00:03.0 -> ... virtio2 (no net/)
# The same shape holds for auxiliary and SF devices (`<pci>/mlx5_core.sf.N/net/<if>`).
"""

from __future__ import annotations

from pathlib import Path

from dualnet.host.discover import discover


def _file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


def _virtio_tree(root: Path) -> Path:
    sysd = root / "sys"
    fn = sysd / "devices/pci0000:00/0000:00:03.0"
    for attr, value in (("class", "0x020000"), ("vendor", "0x1af4"), ("device", "0x1041"),
                        ("numa_node", "-1")):
        _file(fn / attr, value)
    child = fn / "virtio2"
    _file(child / "vendor", "0x1af4")
    nd = child / "net/eth0"
    for attr, value in (("address", "52:54:00:12:34:56"), ("mtu", "1500"),
                        ("operstate", "up"), ("type", "1"), ("carrier", "1")):
        _file(nd / attr, value)
    (nd / "device").symlink_to("../../../virtio2")
    (sysd / "bus/pci/devices").mkdir(parents=True)
    (sysd / "bus/pci/devices/0000:00:03.0").symlink_to("../../../devices/pci0000:00/0000:00:03.0")
    (sysd / "class/net").mkdir(parents=True)
    (sysd / "class/net/eth0").symlink_to("../../devices/pci0000:00/0000:00:03.0/virtio2/net/eth0")
    _file(root / "proc/net/route",
          "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n"
          "eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0")
    return root


def test_netdev_under_a_child_device_belongs_to_its_pci_function(tmp_path: Path) -> None:
    report = discover(_virtio_tree(tmp_path / "virtio"))
    nic = report.nic_by_pci("0000:00:03.0")
    assert nic is not None
    assert nic.netdevs == ["eth0"] and nic.netdev == "eth0"
    assert nic.mac == "52:54:00:12:34:56" and nic.mtu == 1500 and nic.operstate == "up"
    assert report.nic_by_netdev("eth0") is nic


def test_this_machines_own_sys_has_the_shape_when_it_is_there() -> None:
    # Where the running machine has such a NIC (this build machine does), discovery of the live
    # /sys finds its netdev too; elsewhere there is nothing to compare.
    live = Path("/sys/class/net")
    shaped = [n.name for n in live.iterdir() if live.is_dir()
              and (n / "device").exists() and (n.resolve().parent.parent / "vendor").is_file()
              and not (n.resolve().parent.parent / "class").is_file()] if live.is_dir() else []
    if not shaped:
        return
    report = discover(Path("/"))
    for name in shaped:
        assert report.nic_by_netdev(name) is not None, name
