"""What people really paste: each class of decoration or damage read as far as it can be, with a
warning naming the line, and never a fact invented.

Captures named `tests/corpus/...` are real published outputs (see their `# source:` lines).
Where no published capture of a class was found (a BOM, NBSP, a paste done twice, a header that
lost its ifindex, a wrapped VF line, a matrix cut after its GPU rows), the input is a REAL
capture with exactly that damage applied here, so the expected facts are the capture's own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dualnet.cluster.wait import NodeState
from dualnet.doctor import diagnose
from dualnet.errors import UsageError
from dualnet.host.models import LinkLayer, PortState
from dualnet.inputs import decode_text
from dualnet.modes import Mode
from dualnet.parse._text import collecting
from dualnet.parse.errors import ParseError
from dualnet.parse.from_dir import report_from_dir
from dualnet.parse.ibdev2netdev import parse_ibdev2netdev
from dualnet.parse.ibv_devinfo import parse_ibv_devinfo
from dualnet.parse.ip import parse_ip_link
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


def test_topo_numa_affinity_range_leaves_the_node_unknown() -> None:
    rel = "nvidia-smi_topo/gh200-1gpu-2nic.txt"
    text = _body(rel)
    (gpu,) = parse_nvidia_smi_topo(text).gpus
    assert gpu.numa_node == 0
    # "GPU0 X NODE NODE 0-71 0" as older drivers print it: the NUMA cell a range
    older = "\n".join(ln.rstrip()[:-1] + "0-1" if ln.startswith("GPU0") else ln
                      for ln in text.split("\n"))
    with collecting() as warnings:
        (gpu,) = parse_nvidia_smi_topo(older).gpus
    assert gpu.numa_node is None
    assert "names several nodes" in warnings[0].reason


def test_ibv_devinfo_pasted_twice_uses_the_last_run() -> None:
    body = _body("ibv_devinfo/gh200-cx7-in-pod.txt")
    with collecting() as warnings:
        devices = parse_ibv_devinfo(body + "\n" + body)
    assert devices == parse_ibv_devinfo(body)
    assert "appears 2 times" in warnings[0].reason


def test_ip_link_header_without_ifindex_and_wrapped_vf_line() -> None:
    body = _body("ip_link/mlx5-pf-down-8vfs-mtu9000-TRUNCATED-midline.txt")
    lines = body.split("\n")
    lines[0] = lines[0].split(": ", 1)[1]  # "4: ens2f0: <...>" pasted as "ens2f0: <...>"
    vf0 = lines[2]
    cut = vf0.index(" link-state")
    lines[2:3] = [vf0[:cut], "   " + vf0[cut:]]  # a terminal wrapped vf 0 before link-state
    with collecting() as warnings:
        (iface,) = parse_ip_link("\n".join(lines))
    (original,) = parse_ip_link(body)
    assert iface.ifindex is None and original.ifindex == 4
    assert iface.vfs == original.vfs  # vf 0 keeps link-state, trust from the wrapped line
    assert [w.line_no for w in warnings] == [1, 4]


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
