"""What people really paste: each class of decoration or damage read as far as it can be, with a
warning naming the line, and never a fact invented.

Captures named `tests/corpus/...` are real published outputs (see their `# source:` lines),
among them an older driver's topo matrix whose NUMA cell is a node list and one with no NIC
legend, `ip link show` pastes whose header lost its ifindex, NBSP-indented outputs from
mailing-list posts, `ibv_devinfo` pastes holding two runs, and a wrapped VF line. Where no
published capture of a class was found (a BOM or UTF-16, a matrix cut after its GPU rows; the
searches are listed in the closing note), the input is a REAL capture with exactly that damage
applied here, so the expected facts are the capture's own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dualnet.cluster.wait import NodeState
from dualnet.doctor import diagnose
from dualnet.errors import UsageError
from dualnet.host.models import LinkLayer, PciRelation, PortState
from dualnet.inputs import decode_text
from dualnet.modes import Mode
from dualnet.parse._text import collecting
from dualnet.parse.errors import ParseError
from dualnet.parse.from_dir import report_from_dir
from dualnet.parse.ibdev2netdev import parse_ibdev2netdev
from dualnet.parse.ibv_devinfo import parse_ibv_devinfo
from dualnet.parse.lspci import parse_lspci
from dualnet.parse.nvidia_smi_topo import parse_nvidia_smi_topo
from dualnet.parse.rdma import parse_rdma_link
from dualnet.parse.registry import read_tool_output
from dualnet.parse.show_gids import parse_show_gids, parse_show_gids_rows
from tests.helpers import run_cli
from tests.parse.corpus import CORPUS, PARSERS, corpus_files, read


def _body(rel: str) -> str:
    """The capture without its `# source:` line (a user's file has none)."""
    return read(rel).split("\n", 1)[1]


def _folder(tmp: Path, files: dict[str, str]) -> Path:
    tmp.mkdir()
    for name, text in files.items():
        (tmp / name).write_text(text, encoding="utf-8")
    return tmp


# --- encodings and Unicode spaces ------------------------------------------------------------


@pytest.mark.parametrize("rel", corpus_files())
def test_a_bom_utf16_or_nbsp_changes_nothing(rel: str) -> None:
    parser = PARSERS[rel.split("/")[0]]
    try:
        plain = parser(_body(rel))
    except ParseError:
        return
    assert parser("\ufeff" + _body(rel)) == plain  # a Windows editor's BOM, decoded as text
    assert parser(decode_text(_body(rel).encode("utf-8-sig"), "x")) == plain
    assert parser(decode_text(_body(rel).encode("utf-16"), "x")) == plain  # PowerShell `>`
    # copied from a web page: every space a non-breaking one (lspci lost a NIC to this)
    assert parser(_body(rel).replace(" ", "\u00a0")) == plain


def test_nbsp_from_a_web_page_no_longer_drops_a_nic() -> None:
    # Before: `0000:01:00.0\xa0Ethernet controller` did not match and the NIC vanished silently.
    text = _body("lspci/gh200.txt").replace(" ", "\u00a0")
    assert parse_lspci(text) == parse_lspci(_body("lspci/gh200.txt"))
    assert [n.pci_address for n in parse_lspci(text).nics] == ["0000:01:00.0", "0000:01:00.1"]


def test_nbsp_of_a_web_mail_client_in_ibv_devinfo() -> None:
    # Yahoo web mail turned every indent and column gap into NBSP+space pairs, and glued some
    # values to an NBSP ("fw_ver:\xa0 ... \xa028.39.1002"): the facts are those of the text.
    body = _body("ibv_devinfo/NBSP-webmail-cx7-2port-roce-linux-rdma-2025-02.txt")
    assert "\u00a028.39.1002" in body  # the published damage is in the capture
    reading = read_tool_output("ibv_devinfo", body)
    assert [(d.name, d.fw_ver, d.node_guid, d.vendor_part_id) for d in reading.value] == [
        ("mlx5_2", "28.39.1002", "a088:c203:007d:a8ca", 4129),
        ("mlx5_3", "28.39.1002", "a088:c203:007d:a88a", 4129),
    ]
    assert [
        (p.number, p.state, p.link_layer, p.max_mtu, p.active_mtu, p.lid)
        for d in reading.value for p in d.ports
    ] == [(1, PortState.ACTIVE, LinkLayer.ETHERNET, 4096, 1024, 0)] * 2
    assert reading.warnings == []
    assert reading.value == parse_ibv_devinfo(body.replace("\u00a0", " "))


def test_nbsp_of_a_web_archive_page_and_old_libibverbs_link_layer() -> None:
    # The Open MPI list archive shows the paste with "&#160; " gaps and ">> " quotes, and the
    # OFED 1.5.2 libibverbs printed "link_layer: IB": read as InfiniBand (it was refused).
    rel = "ibv_devinfo/NBSP-web-archive-quoted-cx2-vpi-ib-plus-eth-link-layer-IB-ompi-2011.txt"
    body = _body(rel)
    assert ">> \u00a0 \u00a0 transport:" in body and "link_layer: \u00a0" in body
    reading = read_tool_output("ibv_devinfo", body)
    (dev,) = reading.value
    assert (dev.name, dev.fw_ver, dev.vendor_part_id, dev.board_id) == (
        "mlx4_0", "2.7.9294", 26438, "HP_0200000003"
    )
    assert [(p.number, p.state, p.link_layer, p.active_mtu, p.lid) for p in dev.ports] == [
        (1, PortState.ACTIVE, LinkLayer.INFINIBAND, 2048, 20),
        (2, PortState.ACTIVE, LinkLayer.ETHERNET, 1024, 0),
    ]
    # the prompt lost its "@" to the archive ("root_at_amber03"): skipped as text, named
    assert [(w.line_no, w.reason) for w in reading.warnings] == [
        (1, "skipped a line before the first 'hca_id:'")
    ]


def test_nbsp_of_an_outlook_mail_in_ip_link_and_ip_addr() -> None:
    rel = "NBSP-outlook-mail-azure-vm-eth0-in-vrf-netdev-2019-09.txt"
    link_body, addr_body = _body(f"ip_link/{rel}"), _body(f"ip_addr/{rel}")
    assert "\u00a0\u00a0\u00a0 link/ether" in link_body
    links = read_tool_output("ip link", link_body)
    assert [(i.ifindex, i.name, i.mtu, i.state, i.master, i.mac) for i in links.value] == [
        (1, "lo", 65536, "UNKNOWN", None, "00:00:00:00:00:00"),
        (2, "eth0", 1500, "UP", "mgmt-vrf", "00:22:48:07:cc:ad"),
        (3, "eth1", 1500, "UP", None, "00:22:48:07:c9:6c"),
        (4, "mgmt-vrf", 65536, "UP", None, "8a:f6:26:65:02:5a"),
    ]
    addrs = read_tool_output("ip addr", addr_body)
    assert [(i.name, [str(a) for a in i.addresses]) for i in addrs.value] == [
        ("lo", ["127.0.0.1/8", "::1/128"]),
        ("eth0", ["10.24.12.10/24", "fe80::222:48ff:fe07:ccad/64"]),
        ("eth1", ["10.24.12.9/24", "fe80::222:48ff:fe07:c96c/64"]),
        ("mgmt-vrf", []),
    ]
    assert links.warnings == [] and addrs.warnings == []


def test_undecodable_paste_is_refused_with_its_reason(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not UTF-8 text"):
        decode_text(b"abc\xffdef", "lspci.txt")
    folder = _folder(tmp_path / "d", {"lsmod.txt": read("lsmod/gh200-mofed.txt")})
    (folder / "lspci.txt").write_bytes(b"\x00" * 2000)  # not text at all: refused, rest read
    report = report_from_dir(folder)
    assert len(report.modules) == 4
    assert [(p.path, p.kind) for p in report.problems] == [("lspci.txt", "refused")]


# --- comments, elisions, prompts, quote prefixes, labels ----------------------------------------


def test_ibdev2netdev_prose_elision_is_skipped_with_its_line() -> None:
    rel = "ibdev2netdev/ELIDED-prose-b300-fabricN-vfs-4-ib-down.txt"
    reading = read_tool_output("ibdev2netdev", read(rel))
    assert [d.name for d in reading.value] == [
        "mlx5_0", "mlx5_1", "mlx5_2", "mlx5_16", "mlx5_17", "mlx5_18", "mlx5_19",
    ]  # fmt: skip
    (warning,) = reading.warnings
    assert warning.line_no == 5 and "mlx5_3~mlx5_15" in warning.line
    # the carrier is a port fact now, not dropped
    assert [d.ports[0].netdev_carrier for d in reading.value] == [True] * 3 + [False] * 4


def test_rdma_link_prompt_and_prose_elision() -> None:
    rel = "rdma_link/ELIDED-prose-prompt-grep-fabric-b300.txt"
    reading = read_tool_output("rdma link", read(rel))
    assert [d.name for d in reading.value] == ["mlx5_0", "mlx5_1"]
    assert [(w.line_no, w.reason) for w in reading.warnings] == [
        (2, "skipped a shell prompt line"),
        (5, "skipped an elision: lines may be missing here"),
    ]
    assert reading.value[0].ports[0].link_layer is LinkLayer.ETHERNET  # netdev, no lid


def test_ibv_devices_indented_prose_row() -> None:
    rel = "ibv_devices/ELIDED-prose-row-b300-20-devices.txt"
    reading = read_tool_output("ibv_devices", read(rel))
    assert [d.node_guid for d in reading.value] == ["4ebb:47ff:fe67:f96a", "4ebb:47ff:fe67:f96b"]
    assert [w.line_no for w in reading.warnings] == [6]


def test_ibv_devinfo_grep_keeps_devices_and_names_every_gid_line_it_cannot_place() -> None:
    reading = read_tool_output(
        "ibv_devinfo", read("ibv_devinfo/GREP-hca-and-gid-only-trailing-comment-b300.txt")
    )
    assert [(d.name, d.ports) for d in reading.value] == [("mlx5_0", []), ("mlx5_1", [])]
    skipped = [w.line_no for w in reading.warnings if "outside a port" in w.reason]
    assert skipped == [3, 4, 5, 6, 8, 9, 10, 11]
    assert any(w.line_no == 6 and "trailing" in w.reason for w in reading.warnings)


def test_quote_prefix_label_and_comment_on_some_lines_only() -> None:
    rows = _body("ibdev2netdev/bf3-4port-2down-xfusion.txt").strip().split("\n")
    text = "\n".join(["Server:", *(f"> {r}" for r in rows[:2]), "# the other two:", *rows[2:]])
    with collecting() as warnings:
        devices = parse_ibdev2netdev(text)
    assert devices == parse_ibdev2netdev("\n".join(rows))
    assert [(w.line_no, w.reason) for w in warnings] == [
        (1, "skipped a label line"),
        (2, "removed a quote prefix"),
        (3, "removed a quote prefix"),
        (4, "skipped a comment line"),
    ]


def test_text_of_another_tool_is_still_refused_with_the_hint() -> None:
    with pytest.raises(ParseError) as info:
        parse_ibdev2netdev(read("ibdev2netdev/MALFORMED-sglang-docs-rdma-link-pasted-as-ibdev2netdev.txt"))
    assert info.value.hint is not None and "rdma_link.txt" in info.value.hint


# --- tool-specific variants --------------------------------------------------------------------


def test_lspci_pp_bridge_path_is_read_and_kept_as_topology() -> None:
    # the real -PP capture (an NVMe behind a root port) parses with nothing skipped
    with collecting() as warnings:
        assert parse_lspci(read("lspci/PP-bridge-path-intel-nvme-mail-quoted.txt")).nics == []
    assert warnings == []
    # the same -PP form on a real NIC line of the GH200 capture
    line = _body("lspci/gh200.txt").split("\n")[0]  # 0000:01:00.0 Ethernet controller: ...
    (nic,) = parse_lspci("0000:00:01.0/" + line[len("0000:"):]).nics
    assert nic.pci_address == "0000:01:00.0" and nic.device_id == "1021"
    assert nic.pci_path == ["0000:00:01.0"]


def test_topo_cut_after_the_gpu_rows_keeps_every_gpu_nic_cell() -> None:
    rel = "nvidia-smi_topo/h100-8gpu-12nic-ib-plus-cx6dx-container-cpuset.txt"
    lines = _body(rel).split("\n")
    cut = [ln for ln in lines if not ln.startswith("NIC")]  # the NIC rows lost, legend kept
    full = parse_nvidia_smi_topo(_body(rel))
    with collecting() as warnings:
        partial = parse_nvidia_smi_topo("\n".join(cut))
    assert partial == full
    (warning,) = warnings
    assert "rows missing for NIC0" in warning.reason and "GPU rows read in full" in warning.reason
    # a GPU row missing is still refused: its cells are nowhere else
    no_gpu7 = [ln for ln in lines if not ln.startswith("GPU7 ")]
    with pytest.raises(ParseError, match="rows missing for GPU7"):
        parse_nvidia_smi_topo("\n".join(no_gpu7))


def test_topo_numa_affinity_node_list_of_an_older_driver_leaves_the_node_unknown() -> None:
    # POWER9 (Traverse): "GPU0  X  SYS SYS SYS SYS  0-3  0,8,252-255", NIC columns named by device
    rel = "nvidia-smi_topo/OLDFORMAT-power9-1gpu-4mlx5-numa-affinity-node-list-traverse.txt"
    reading = read_tool_output("nvidia-smi topo -m", _body(rel))
    (gpu,) = reading.value.gpus
    assert (gpu.numa_node, gpu.local_cpulist) == (None, "0-3")  # the CPU list is still read
    assert reading.value.nics == ["mlx5_0", "mlx5_1", "mlx5_2", "mlx5_3"]
    assert reading.value.unresolved_nics == []  # no legend needed: columns name the devices
    assert {(t.nic, t.relation) for t in reading.value.topology} == {
        (f"mlx5_{i}", PciRelation.SYS) for i in range(4)
    }
    (warning,) = reading.warnings
    assert warning.line_no == 2 and "'0,8,252-255' names several nodes" in warning.reason


def test_topo_of_an_older_driver_without_nic_legend_reads_every_fact() -> None:
    # adroit A100: the header's leading tab became 5 spaces; mlx5_0 is a column, no legend
    rel = "nvidia-smi_topo/OLDFORMAT-a100-4gpu-1mlx5-no-nic-legend-adroit.txt"
    reading = read_tool_output("nvidia-smi topo -m", _body(rel))
    assert [(g.index, g.numa_node, g.local_cpulist) for g in reading.value.gpus] == [
        (0, 0, "0,2,4,6,8,10"), (1, 0, "0,2,4,6,8,10"),
        (2, 1, "1,3,5,7,9,11"), (3, 1, "1,3,5,7,9,11"),
    ]  # fmt: skip
    assert [(t.gpu, t.relation) for t in reading.value.topology] == [
        ("GPU0", PciRelation.NODE), ("GPU1", PciRelation.NODE),
        ("GPU2", PciRelation.SYS), ("GPU3", PciRelation.SYS),
    ]  # fmt: skip
    assert reading.value.nics == ["mlx5_0"] and reading.warnings == []


def test_ibv_devinfo_of_two_hosts_in_one_paste_keeps_the_last_run_and_names_every_line() -> None:
    # A bug report: os-release, uname and ibv_devinfo of the server, then the same of the client,
    # under SUSE's root prompt ("lehi-dirt:~ # ibv_devinfo"); the device name is the same twice.
    rel = (
        "ibv_devinfo/"
        "TWICE-server-and-client-mlx5-bond-0-roce-lag-suse-prompts-linux-rdma-2020-07.txt"
    )
    reading = read_tool_output("ibv_devinfo", _body(rel))
    (dev,) = reading.value
    assert (dev.name, dev.node_guid, dev.vendor_part_id, dev.board_id) == (
        "mlx5_bond_0", "506b:4b03:00b1:7ca6", 4117, "DEL2810000034"  # the client's, the last run
    )
    assert [(p.number, p.state, p.link_layer) for p in dev.ports] == [
        (1, PortState.ACTIVE, LinkLayer.ETHERNET)
    ]
    by_reason: dict[str, list[int]] = {}
    for w in reading.warnings:
        by_reason.setdefault(w.reason, []).append(w.line_no)
    assert "the output appears 2 times (device mlx5_bond_0 again)" in reading.warnings[0].reason
    assert by_reason["skipped a shell prompt line"] == [3, 12, 15, 38, 47, 50]
    # the client's header and os-release lines between the two runs are named, not dropped
    assert by_reason["skipped a line inside the block of mlx5_bond_0 that is no field"] == [
        36, 39, 40, 41, 42, 43, 44, 45, 48
    ]
    assert by_reason["skipped a line before the first 'hca_id:'"] == [1, 4, 5, 6, 7, 8, 9, 10, 13]


def test_ibv_devinfo_before_and_after_in_one_commit_message() -> None:
    rel = "ibv_devinfo/TWICE-before-after-patch-rxe0-vendor-id-linux-rdma-2020-04.txt"
    reading = read_tool_output("ibv_devinfo", _body(rel))
    assert [(d.name, d.fw_ver, d.node_guid) for d in reading.value] == [
        ("rxe0", "0.0.0", "5054:00ff:feaa:5363")
    ]
    assert [(w.line_no, w.reason) for w in reading.warnings][1:] == [
        (1, "skipped a line before the first 'hca_id:'"),
        (2, "skipped a line before the first 'hca_id:'"),
        (9, "skipped a line inside the block of rxe0 that is no field"),
        (11, "skipped a label line"),  # "After:" is no -v key
        (12, "skipped a line inside the block of rxe0 that is no field"),
        (19, "skipped a line inside the block of rxe0 that is no field"),
    ]
    assert "appears 2 times" in reading.warnings[0].reason


def test_ibv_devinfo_verbose_capability_lines_stay_silent() -> None:
    # -v prints flag names on their own lines: they are expected there, so no warning
    rel = "ibv_devinfo/verbose-v-cx6-roce-versity-h1.txt"
    reading = read_tool_output("ibv_devinfo", _body(rel))
    assert not [w for w in reading.warnings if "no field" in w.reason]


@pytest.mark.parametrize(
    ("rel", "vlan_vf"),
    [
        ("ip_link/NO-IFINDEX-x540-pf-eno2-8vfs-vlan201-crlf-sriov-cni-worker1.txt", 1),
        ("ip_link/NO-IFINDEX-indented-x540-pf-eno2-8vfs-vlan201-crlf-sriov-cni-worker3.txt", 7),
    ],
)
def test_ip_link_header_that_lost_its_ifindex(rel: str, vlan_vf: int) -> None:
    # as published: "eno2: <BROADCAST,...> mtu 9000" (no "5: "), CRLF line ends, 8 VFs
    raw = (CORPUS / rel).read_bytes().split(b"\n", 1)[1]
    assert b"\r\n" in raw  # the published bytes, as `--from` and `dualnet parse` read them
    reading = read_tool_output("ip link", decode_text(raw, rel))
    (iface,) = reading.value
    assert (iface.name, iface.ifindex, iface.mtu, iface.state) == ("eno2", None, 9000, "UP")
    assert [vf.index for vf in iface.vfs] == list(range(8))
    assert [vf.index for vf in iface.vfs if vf.vlan == 201] == [vlan_vf]
    assert all(vf.spoof_check and vf.trust is False for vf in iface.vfs)
    (warning,) = reading.warnings
    assert warning.line_no == 1 and "without its '<ifindex>: ' prefix" in warning.reason
    assert read_tool_output("ip link", _body(rel)).value == reading.value  # CRLF changes nothing


def test_ip_link_wrapped_vf_line_of_an_ipoib_pf_flush_left() -> None:
    # an iproute2 patch's commit message: no ifindex, no indentation, and vf 0 wrapped after
    # "brd ...,": the second half (spoof checking, link-state, trust) still belongs to vf 0
    rel = "ip_link/WRAPPED-VF-NO-IFINDEX-ipoib-ib4-vf-node-port-guid-iproute2-patch-2019-11.txt"
    reading = read_tool_output("ip link", _body(rel))
    (iface,) = reading.value
    assert (iface.name, iface.ifindex, iface.mtu, iface.state, iface.link_type) == (
        "ib4", None, 4092, "DOWN", "infiniband"
    )
    (vf,) = iface.vfs
    assert (vf.index, vf.spoof_check, vf.trust, vf.link_state) == (0, False, False, "disable")
    assert vf.mac == "00:00:0a:2d:fe:80:00:00:00:00:00:00:ec:0d:9a:03:00:44:36:8d"
    assert [(w.line_no, w.reason) for w in reading.warnings] == [
        (1, "interface header without its '<ifindex>: ' prefix; ifindex unknown"),
        (4, "joined a wrapped line to vf 0 of ib4"),
    ]


def test_show_gids_redacted_groups() -> None:
    # the author's shortened GIDs cannot be rebuilt: every row dropped and named
    with collecting() as warnings:
        assert parse_show_gids(read("show_gids/ABRIDGED-gids-shortened-dots-b300.txt")) == []
    assert sorted(w.line_no for w in warnings) == [2, 3, 4, 5, 6, 7]
    # xxxx-redacted groups: an IPv4-mapped GID comes back from its intact IPv4 column
    text = read("show_gids/huawei-hrn3-bond-plus-mlx5-bond-mixed-vendor-tabs.txt")
    rows = parse_show_gids_rows(text)
    mapped = next(r for r in rows if r.ipv4)
    local = next(r for r in rows if r.gid.startswith("fe80"))
    redacted = text.replace(mapped.gid, mapped.gid[:30] + "xxxx:xxxx").replace(
        local.gid, local.gid[:20] + "xxxx:xxxx:xxxx:xxxx"
    )
    with collecting() as warnings:
        kept = parse_show_gids_rows(redacted)
    assert mapped in kept and local not in kept
    assert any("redacted" in w.reason for w in warnings)


def test_kubectl_node_quantities_are_read_as_kubernetes_reads_them() -> None:
    reading = read_tool_output(
        "kubectl_node", read("kubectl_node/describe-node-rdma-vhca-8-gpu-8-elided.txt")
    )
    node = reading.value
    assert node.amount("allocatable", "rdma/vhca") == 8
    assert node.amount("capacity", "memory") == 131747876 * 1024
    assert [w.line_no for w in reading.warnings] == [2, 21]  # the author's "..."
    jq = read_tool_output(
        "kubectl_node", read("kubectl_node/capacity-allocatable-rdma-shared-zero-gpu7.txt")
    ).value
    assert jq.unnamed["rdma/rdma_shared_device_a"] == "0" and jq.capacity == {}
    yaml_node = read_tool_output(
        "kubectl_node",
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n  labels: {a: b}\nstatus:\n"
        "  allocatable: {rdma/hca: 1k}\n  conditions:\n  - {type: Ready, status: 'True'}\n",
    ).value
    assert yaml_node.amount("allocatable", "rdma/hca") == 1000  # 1k is 1000, not 0
    assert (yaml_node.name, yaml_node.labels, yaml_node.conditions) == (
        "n1", {"a": "b"}, {"Ready": "True"},
    )  # fmt: skip
    hami = read_tool_output(
        "kubectl_node", read("kubectl_node/describe-capacity-allocatable-allocated-gpu-80-hami.txt")
    ).value
    assert (hami.name, hami.amount("capacity", "nvidia.com/gpu")) == ("gpu-000-001", 80)
    assert hami.amount("allocatable", "nvidia.com/gpu") == 70
    assert hami.allocated == {
        "cpu": "4885m", "memory": "68663Mi", "ephemeral-storage": "0", "hugepages-1Gi": "0",
        "hugepages-2Mi": "0", "nvidia.com/gpu": "5",
    }  # fmt: skip
    # the cluster layer's node snapshot counts with the same function (was 0 for "1k")
    assert NodeState(name="n1", allocatable={"rdma/hca": "1k"}).amount("rdma/hca") == 1000


# --- doctor from every fact read -----------------------------------------------------------------


def test_no_ib_devices_found_is_a_fact_with_the_warnings_as_evidence(tmp_path: Path) -> None:
    rel = "ibv_devinfo/ERROR-no-ib-devices-found-no-userspace-driver-pib.txt"
    report = report_from_dir(_folder(tmp_path / "d", {"ibv_devinfo.txt": read(rel)}))
    found = {f.id: f for f in diagnose(report, Mode.SHARED_ROCE)}
    none = found["rdma.none-found"]
    assert none.severity == "error"
    messages = none.evidence["verbs_messages"]
    assert isinstance(messages, list) and any("uverbs0" in str(m) for m in messages)
    assert "ibverbs-providers" in none.fix[0]
    unknown = found.get("doctor.facts-unknown")
    assert unknown is None or "RDMA devices" not in unknown.evidence["unknown"]  # type: ignore[operator]


def test_verbs_abi_mismatch_is_its_own_finding(tmp_path: Path) -> None:
    rel = "ibv_devices/ERROR-rxe-kernel-abi-mismatch-prompt-lines-arria10.txt"
    report = report_from_dir(_folder(tmp_path / "d", {"ibv_devices.txt": read(rel)}))
    abi = next(f for f in diagnose(report) if f.id == "rdma.verbs-abi-mismatch")
    assert abi.subject == "rxe0" and abi.evidence["kernel_abi"] == 1
    assert "newer than the kernel" in abi.why  # supports 2 to 2, kernel 1


def test_ibdev2netdev_down_netdevs_feed_the_port_rules(tmp_path: Path) -> None:
    rel = "ibdev2netdev/bf3-4port-2down-xfusion.txt"  # RoCE: the port follows its netdev
    report = report_from_dir(_folder(tmp_path / "d", {"ibdev2netdev.txt": read(rel)}))
    found = diagnose(report)
    down = sorted(f.subject for f in found if f.id == "port.not-active")
    assert down == ["mlx5_0/1", "mlx5_2/1"]
    assert "port.none-active" not in {f.id for f in found}  # two carriers are Up
    # IPoIB netdevs (ibp195s0f0...) Down say nothing of their InfiniBand ports: no verdict
    rel = "ibdev2netdev/ELIDED-prose-b300-fabricN-vfs-4-ib-down.txt"
    report = report_from_dir(_folder(tmp_path / "e", {"ibdev2netdev.txt": read(rel)}))
    found = diagnose(report)
    assert not [f for f in found if f.id == "port.not-active"]
    skipped = next(f for f in found if f.id == "doctor.lines-skipped")
    assert skipped.subject == "ibdev2netdev.txt" and skipped.evidence["count"] == 1


def test_infiniband_rdma_link_triggers_mode_needs_ethernet(tmp_path: Path) -> None:
    rel = "rdma_link/cx5-vpi-ib-mode-lid2-sm2-spiderpool.txt"
    (dev,) = parse_rdma_link(read(rel))
    assert dev.ports[0].link_layer is LinkLayer.INFINIBAND
    report = report_from_dir(_folder(tmp_path / "d", {"rdma_link.txt": read(rel)}))
    assert "mode.needs-ethernet" in {f.id for f in diagnose(report, Mode.SHARED_ROCE)}


def test_printed_state_unknown_is_a_fact(tmp_path: Path) -> None:
    (dev,) = parse_rdma_link("link mlx5_0/1 state UNKNOWN physical_state UNKNOWN netdev eth2\n")
    assert dev.ports[0].state is PortState.UNKNOWN and dev.ports[0].state_read
    report = report_from_dir(
        _folder(tmp_path / "d", {"rdma_link.txt": "link mlx5_0/1 state UNKNOWN netdev eth2\n"})
    )
    ids = {f.id for f in diagnose(report)}
    assert {"port.not-active", "port.none-active"} <= ids


def test_zero_rdma_resource_on_the_node(tmp_path: Path) -> None:
    rel = "kubectl_node/capacity-allocatable-rdma-shared-zero-gpu7.txt"
    report = report_from_dir(_folder(tmp_path / "d", {"kubectl_node.json": read(rel)}))
    (zero,) = [f for f in diagnose(report) if f.id == "kube.rdma-resource-zero"]
    assert zero.evidence["resource"] == "rdma/rdma_shared_device_a"


# --- the verb ---------------------------------------------------------------------------------


def test_parse_verb_prints_what_was_read_and_the_skipped_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = CORPUS / "ibdev2netdev/ELIDED-prose-b300-fabricN-vfs-4-ib-down.txt"
    code, out, _ = run_cli(capsys, "parse", "ibdev2netdev", str(path), "-o", "json")
    assert code == 0
    data = json.loads(out)
    assert data["tool"] == "ibdev2netdev" and len(data["value"]) == 7
    assert data["warnings"][0]["line_no"] == 5
    code, out, _ = run_cli(capsys, "parse", "ibdev2netdev", str(path))
    assert code == 0 and "1 line(s) skipped" in out and "line 5:" in out
    bad = CORPUS / "ibdev2netdev/MALFORMED-sglang-docs-rdma-link-pasted-as-ibdev2netdev.txt"
    code, _, err = run_cli(capsys, "parse", "ibdev2netdev", str(bad))
    assert code == 2 and "rdma_link.txt" in err and "Traceback" not in err
    code, _, err = run_cli(capsys, "parse", "nosuchtool", str(path))
    assert code == 2 and "unknown tool" in err
