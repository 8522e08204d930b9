"""`report_from_dir`: a folder of saved outputs -> one merged HostReport."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dualnet.errors import UsageError
from dualnet.host.models import NetnsMode, PciRelation, PortState
from dualnet.parse.errors import ParseError
from dualnet.parse.from_dir import FILE_NAMES, classify, pci_from_ifname, report_from_dir
from dualnet.parse.registry import find_tool, parse_tool_output
from tests.gh200_report import GH200_OUTPUTS, outputs_dir
from tests.parse.corpus import CORPUS, mutated


def test_gh200_folder_merges_all_files(tmp_path: Path) -> None:
    report = report_from_dir(outputs_dir(tmp_path / "gh200", GH200_OUTPUTS))
    assert report.source == "tool-outputs"
    assert [d.name for d in report.rdma_devices] == ["mlx5_0", "mlx5_1"]
    mlx5_0 = report.rdma_devices[0]
    # rdma link: state, phys_state, netdev; ibv_devinfo: fw, part id, MTUs, link layer
    port = mlx5_0.ports[0]
    assert (port.state, port.netdev, port.active_mtu, port.max_mtu) == (
        PortState.ACTIVE,
        "enp1s0f0np0",
        1024,
        4096,
    )
    assert (mlx5_0.fw_ver, mlx5_0.vendor_part_id) == ("28.40.1000", 4129)
    assert report.rdma_devices[1].ports[0].state is PortState.DOWN
    assert report.netns_mode is NetnsMode.SHARED
    assert report.module_loaded("mlx5_ib") and not report.module_loaded("nvidia_peermem")
    # lspci NICs linked to netdevs through their predictable names, then to RDMA devices
    nic = report.nic_by_netdev("enp1s0f0np0")
    assert nic is not None and nic.pci_address == "0000:01:00.0"
    assert nic.rdma_devices == ["mlx5_0"] and nic.mtu == 1500
    assert mlx5_0.pci_address == "0000:01:00.0"
    # topo without NIC legend: names inferred from the two RDMA devices, and said so
    assert [(e.nic, e.relation) for e in report.topology] == [
        ("mlx5_0", PciRelation.NODE),
        ("mlx5_1", PciRelation.NODE),
    ]
    assert any("assumed NIC0=mlx5_0" in p.error for p in report.problems)
    (gpu,) = report.gpus
    assert (gpu.pci_address, gpu.numa_node, gpu.local_cpulist) == ("0009:01:00.0", 0, "0-71")
    assert report.management is None  # no ip route given


def test_management_from_ip_route(tmp_path: Path) -> None:
    folder = outputs_dir(tmp_path / "d", {"ip_addr.txt": "ip_addr/gh200-host.txt"})
    (folder / "ip_route.txt").write_text(
        "default via 66.42.90.1 dev enp1s0f0np0 proto static\n"
        "66.42.90.0/23 dev enp1s0f0np0 proto kernel scope link src 66.42.90.253\n"
    )
    report = report_from_dir(folder)
    assert report.management is not None
    assert report.management.name == "enp1s0f0np0"
    assert report.management.addresses == ["66.42.90.253/23"]
    assert report.management.gateway == "66.42.90.1"
    assert [r.destination for r in report.routes] == ["0.0.0.0/0", "66.42.90.0/23"]


def test_show_gids_and_verbose_ibdev2netdev_merge(tmp_path: Path) -> None:
    folder = outputs_dir(
        tmp_path / "d",
        {
            "show_gids.txt": "show_gids/cx4-vpi-port-eth-plus-port-ib-no-netdev.txt",
            "ibdev2netdev.txt": "ibdev2netdev/verbose-cx4-eth-pf-plus-4vfs-down-sriov-cni-docs.txt",
        },
    )
    report = report_from_dir(folder)
    mlx5_0 = report.rdma_device("mlx5_0")
    assert mlx5_0 is not None
    assert mlx5_0.pci_address == "0000:02:00.0" and mlx5_0.fw_ver == "12.23.1020"
    assert [g.index for g in mlx5_0.ports[0].gids] == [0, 1]
    assert mlx5_0.netdevs == ["ens11f0", "enp2s0f0"]  # the two captures disagree; both kept
    assert len(report.rdma_devices) == 6


def test_unknown_files_are_problems_not_fatal(tmp_path: Path) -> None:
    folder = outputs_dir(tmp_path / "d", {"lsmod.txt": "lsmod/gh200-mofed.txt"})
    (folder / "notes.md").write_text("hello\n")
    report = report_from_dir(folder)
    assert [p.path for p in report.problems] == ["notes.md"]
    assert len(report.modules) == 4


def test_refused_file_is_a_problem_and_the_rest_still_reads(tmp_path: Path) -> None:
    folder = outputs_dir(tmp_path / "d", {"lsmod.txt": "lsmod/gh200-mofed.txt"})
    (folder / "rdma_link.txt").write_text("this is not rdma link\nnor is this\n")
    report = report_from_dir(folder)
    assert len(report.modules) == 4
    (refused,) = [p for p in report.problems if p.kind == "refused"]
    assert refused.path == "rdma_link.txt" and refused.line == 1
    assert "expected 'link <dev>/<port>" in refused.error
    # --strict: the old behaviour, the whole run stops on the file, naming it and the line
    with pytest.raises(ParseError) as info:
        report_from_dir(folder, strict=True)
    assert "rdma_link.txt" in str(info.value) and info.value.line_no == 1


def test_skipped_line_is_a_problem_naming_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "rdma_link.txt").write_text("link mlx5_0/1 state ACTIVE\nthis is not rdma link\n")
    report = report_from_dir(folder, strict=True)  # a skipped line is no refusal
    assert [d.name for d in report.rdma_devices] == ["mlx5_0"]
    (skipped,) = report.problems
    assert (skipped.path, skipped.kind, skipped.line) == ("rdma_link.txt", "skipped", 2)
    assert "this is not rdma link" in skipped.error


def test_unreadable_and_undecodable_files_are_refused(tmp_path: Path) -> None:
    folder = outputs_dir(tmp_path / "d", {"lsmod.txt": "lsmod/gh200-mofed.txt"})
    (folder / "ibv_devinfo.txt").write_bytes(b"hca_id:\x00\x00 mlx5_0\xff")
    report = report_from_dir(folder)
    # read leniently (undecodable bytes become U+FFFD), then refused by the parser, with where
    (refused,) = [p for p in report.problems if p.kind == "refused"]
    assert refused.path == "ibv_devinfo.txt" and refused.error.startswith("line 1: expected")
    with pytest.raises(ParseError, match=r"ibv_devinfo\.txt"):
        report_from_dir(folder, strict=True)


def test_utf16_and_bom_files_are_decoded(tmp_path: Path) -> None:
    text = (CORPUS / "lsmod/gh200-mofed.txt").read_text(encoding="utf-8")
    for name, data in (("utf16", text.encode("utf-16")), ("bom", text.encode("utf-8-sig"))):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "lsmod.txt").write_bytes(data)
        report = report_from_dir(folder, strict=True)
        assert len(report.modules) == 4 and not report.problems, name


def test_empty_or_missing_dir_is_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="empty"):
        report_from_dir(tmp_path)
    with pytest.raises(UsageError, match="no such directory"):
        report_from_dir(tmp_path / "nope")
    file = tmp_path / "f.txt"
    file.write_text("x")
    with pytest.raises(UsageError, match="not a directory"):
        report_from_dir(file)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("nvidia-smi_topo.txt", "nvidia_smi_topo"),
        ("nvidia_smi_topo.txt", "nvidia_smi_topo"),
        ("topo.txt", "nvidia_smi_topo"),
        ("IBV_DEVINFO.TXT", "ibv_devinfo"),
        ("rdma-link", "rdma_link"),
        ("ip_a.out", "ip_addr"),
        ("show_gids.log", "show_gids"),
        ("README.md", None),
        ("lsmod.txt.bak", None),
    ],
)
def test_file_names(name: str, key: str | None) -> None:
    assert classify(name) == key


def test_every_accepted_name_is_a_known_key() -> None:
    for key, stems in FILE_NAMES.items():
        for stem in stems:
            assert classify(stem + ".txt") == key


@pytest.mark.parametrize(
    ("ifname", "pci"),
    [
        ("enp1s0f0np0", "0000:01:00.0"),
        ("enP2p1s0f1np1", "0002:01:00.1"),
        ("ibp59s0", "0000:3b:00.0"),
        ("enp157s0f1np1", "0000:9d:00.1"),
        ("eth0", None),
        ("ens7f0np0", None),
        ("enp300s0", None),
    ],
)
def test_pci_from_predictable_name(ifname: str, pci: str | None) -> None:
    assert pci_from_ifname(ifname) == pci


def test_registry_entry_point() -> None:
    modules = parse_tool_output("lsmod", "mlx5_ib 655360 0\n")
    assert [m.name for m in modules] == ["mlx5_ib"]
    assert parse_tool_output("rdma system", "netns exclusive\n") is NetnsMode.EXCLUSIVE
    tool = find_tool("nvidia-smi topo -m")
    assert tool is not None and tool.key == "nvidia_smi_topo"
    with pytest.raises(UsageError, match="unknown tool"):
        parse_tool_output("ifconfig", "")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_folder_gives_report_or_parse_error(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    for name, rel in GH200_OUTPUTS.items():
        text = (CORPUS / rel).read_text(encoding="utf-8")
        if data.draw(st.booleans(), label=f"mutate {name}"):
            text = data.draw(mutated([text]), label=name)
        (folder / name).write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        report = report_from_dir(folder)
    except ParseError as exc:
        assert any(name in exc.reason for name in GH200_OUTPUTS)
        return
    assert report.source == "tool-outputs"
    assert report_from_dir(folder, strict=False) == report


def test_topology_nics_unknown_to_other_files_are_reported(tmp_path: Path) -> None:
    folder = outputs_dir(
        tmp_path / "d",
        {
            "rdma_link.txt": "rdma_link/gh200-cx7.txt",
            "topo.txt": "nvidia-smi_topo/a100pcie-2gpu-bf3-4nic-no-legend-block.txt",
        },
    )
    report = report_from_dir(folder)
    assert any(p.error == "NICs not in the other files: mlx5_2, mlx5_3" for p in report.problems)


def test_dir_without_any_known_output_is_usage_error(tmp_path: Path) -> None:
    # An "all clear" from a folder that holds nothing dualnet can read would be a lie.
    (tmp_path / "notes.md").write_text("ran ibv_devinfo, looked fine\n")
    (tmp_path / "screenshot.png").write_bytes(b"\x89PNG")
    with pytest.raises(UsageError, match="none of its 2 file"):
        report_from_dir(tmp_path)


def test_roce_v2_ipv4_gid_index_is_the_lowest_through_the_folder(tmp_path: Path) -> None:
    # Two IPv4 addresses on the netdev give two RoCE v2 IPv4 GIDs; NCCL wants the lowest index.
    # The merge once had its own copy of this rule (a min->max mutant of it survived).
    rows = [
        ("0", "fe80:0000:0000:0000:0e42:a1ff:fe5d:4db8", "", "v2"),
        ("5", "0000:0000:0000:0000:0000:ffff:ac13:003d", "172.19.0.61", "v2"),
        ("3", "0000:0000:0000:0000:0000:ffff:ac13:003c", "172.19.0.60", "v2"),
        ("2", "0000:0000:0000:0000:0000:ffff:ac13:003c", "172.19.0.60", "v1"),
    ]
    text = "".join(f"mlx5_0\t1\t{i}\t{g}\t{ip}\t{v}\tens1f0\n" for i, g, ip, v in rows)
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "show_gids.txt").write_text(text)
    (folder / "rdma_link.txt").write_text("link mlx5_0/1 state ACTIVE netdev ens1f0\n")
    (port,) = report_from_dir(folder, strict=True).rdma_devices[0].ports
    assert port.roce_v2_ipv4_gid_index == 3


def test_unreadable_file_is_refused_and_the_rest_still_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = outputs_dir(tmp_path / "d", {"lsmod.txt": "lsmod/gh200-mofed.txt",
                                          "lspci.txt": "lspci/gh200.txt"})
    real = Path.open

    def fake_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.name == "lspci.txt":
            raise PermissionError(13, "Permission denied")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", fake_open)
    report = report_from_dir(folder)
    assert len(report.modules) == 4 and report.nics == []
    (refused,) = [p for p in report.problems if p.kind == "refused"]
    assert refused.path == "lspci.txt" and "permission denied" in refused.error
    with pytest.raises(UsageError, match="permission denied"):
        report_from_dir(folder, strict=True)
