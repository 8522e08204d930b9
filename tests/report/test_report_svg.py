"""The report's drawings, checked on the SVG it writes: every device of each sample node, the
tree following the PCI paths, relation colours from the discovered relations, the management
interface marked, a pod picture for every mode, the bench charts from real captures, and the
page's safety (escaping, a CSP that matches its inline code)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import html
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dualnet.doctor import doctor_result
from dualnet.errors import UsageError
from dualnet.host.models import Gpu, Nic, PciRelation
from dualnet.modes import Mode
from dualnet.render import render
from dualnet.render.dra import PCIE_ROOT, check_dra_fits
from dualnet.report import ReportInputs, report_html
from dualnet.report.bench_view import bench_view
from dualnet.report.charts import chart_svg
from dualnet.report.podnet import DRA_ATTACHMENT, MODE_ATTACHMENT, pod_picture, pod_svg
from dualnet.report.topology import (
    leaf_devices,
    relation_matrix_svg,
    root_complex,
    topology_svg,
    topology_tree,
)
from tests.gh200_report import gh200_report
from tests.render.cases import CASES, plan_for
from tests.report.pages import (
    DRA_NODES,
    NODES,
    dra_inputs,
    fleet_bench,
    rdma_only_bench,
    sample_inputs,
    sample_report,
    structure,
)

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("DUALNET_UPDATE_GOLDENS") == "1"


def _devices(svg: ET.Element) -> list[ET.Element]:
    return [g for g in svg.iter("g") if "device" in g.get("class", "").split()]


@pytest.mark.parametrize("node", NODES)
def test_topology_shows_every_gpu_and_nic_of_the_sample(node: str, samples_root: Path) -> None:
    report = sample_report(node, samples_root)
    drawn = {g.get("data-pci") for g in _devices(topology_svg(report))}
    expected = {g.pci_address for g in report.gpus} | {
        n.pci_address for n in report.nics if not (n.is_vf and n.pf_pci_address)}
    assert drawn == expected
    assert len(drawn) == len(leaf_devices(report))


def test_the_tree_follows_each_device_pci_path(samples_root: Path) -> None:
    report = sample_report("dgx_h100_ib", samples_root)
    tree = topology_tree(report)

    def chain(node: object, target: str, path: list[str]) -> list[str] | None:
        assert hasattr(node, "children") and hasattr(node, "key")
        if node.key == target:
            return path
        for c in node.children:
            found = chain(c, target, [*path, c.key])
            if found is not None:
                return found
        return None

    devices: list[Gpu | Nic] = [*report.gpus, *report.nics]
    for dev in devices:
        assert dev.pci_path is not None and dev.pci_address is not None
        keys = chain(tree, dev.pci_address, [])
        assert keys is not None
        assert keys[0] == f"numa:{dev.numa_node}"
        # the root complex, the bridges, the device itself
        assert keys[1:] == [root_complex(dev.pci_path[0]), *dev.pci_path, dev.pci_address]
    kinds = [n.kind for n in tree.walk()]
    assert kinds.count("numa") == 2 and kinds.count("rc") == 4


def test_vfs_are_summarised_on_their_pf(samples_root: Path) -> None:
    svg = topology_svg(sample_report("roce_sriov", samples_root))
    texts = [t.text or "" for t in svg.iter("text")]
    assert "SR-IOV 4/8 VFs (mlx5_1..mlx5_4)" in texts or "SR-IOV 4/8 VFs (mlx5_2..mlx5_5)" in texts


@pytest.mark.parametrize("node", ["gh200", "dgx_h100_ib"])
def test_relation_colours_are_the_discovered_relations(node: str, samples_root: Path) -> None:
    report = sample_report(node, samples_root)
    rel = {(t.gpu, t.nic): t.relation for t in report.topology}
    matrix = relation_matrix_svg(report)
    assert matrix is not None
    cells = [r for r in matrix.iter("rect") if "rel" in r.get("class", "").split()]
    assert len(cells) == len(rel)
    for r in cells:
        want = rel[(r.get("data-gpu", ""), r.get("data-nic", ""))].value
        assert r.get("data-relation") == want
        assert f"rel-{want}" in r.get("class", "").split()
    arcs = [p for p in topology_svg(report).iter("path") if "arc" in p.get("class", "").split()]
    assert arcs
    for a in arcs:
        gpu, nic = a.get("data-gpu", ""), a.get("data-nic", "")
        best = min(r.rank for (g, _), r in rel.items() if g == gpu)
        assert rel[(gpu, nic)].rank == best  # each arc joins a GPU to a nearest NIC
        assert f"rel-{rel[(gpu, nic)].value}" in a.get("class", "").split()


def test_dgx_shows_every_relation_class(samples_root: Path) -> None:
    matrix = relation_matrix_svg(sample_report("dgx_h100_ib", samples_root))
    assert matrix is not None
    seen = {r.get("data-relation") for r in matrix.iter("rect")}
    assert {"PIX", "PXB", "NODE", "SYS"} <= seen


@pytest.mark.parametrize("node", NODES)
def test_the_management_interface_is_marked(node: str, samples_root: Path) -> None:
    report = sample_report(node, samples_root)
    marked = [g.get("data-netdev") for g in _devices(topology_svg(report))
              if "mgmt" in g.get("class", "").split()]
    assert report.management is not None
    assert marked == [report.management.name]


def test_a_report_from_tool_outputs_has_no_paths_and_says_so() -> None:
    report = gh200_report()
    assert all(n.pci_path is None for n in report.nics)
    tree = topology_tree(report)
    groups = [n for n in tree.walk() if n.kind == "unknown"]
    assert groups and all((n.label, n.sub) == ("PCI path ?", "tool outputs") for n in groups)
    assert {g.get("data-pci") for g in _devices(topology_svg(report))} == {
        n.pci_address for n in report.nics} | {g.pci_address for g in report.gpus}


# --- the pod network picture ------------------------------------------------------------------


def test_every_mode_has_a_picture() -> None:
    assert set(MODE_ATTACHMENT) == set(Mode)


@pytest.mark.parametrize("case", sorted(CASES))
def test_pod_picture_for_every_mode_is_drawn_from_the_plan(case: str) -> None:
    plan = plan_for(case)
    host = plan.hosts[0]
    svg = pod_svg(pod_picture(plan, host))
    assert svg.get("data-mode") == plan.mode.value
    chips = {g.get("data-key"): g for g in svg.iter("g") if g.get("data-key")}
    assert {"eth0", "net1", "resource", "plugin", "port0"} <= set(chips)
    texts = " ".join(t.text or "" for t in svg.iter("text"))
    assert f"{plan.resource_name}: 1" in texts
    assert host.nics[0].netdev in texts
    links = {(g.get("data-from"), g.get("data-to")) for g in svg.iter("g") if g.get("data-from")}
    assert ("net1", "port0") in links and ("resource", "plugin") in links
    att = MODE_ATTACHMENT[plan.mode]
    assert ("rdma" in chips) == (att.rdma != "none")
    if att.net1 == "child":
        assert f"child of {plan.master}" in texts
    if att.net1 in ("vf", "none"):
        assert f"VF of {host.nics[0].netdev}" in texts
    if plan.mode is Mode.SRIOV_DPDK:
        assert "/dev/infiniband" not in texts and "vfio" in texts


def test_network_operator_picture_names_who_deploys_the_plugin() -> None:
    from dualnet.render import nic_cluster_policy

    plan = plan_for("gh200-shared-roce")
    assert "rdmaSharedDevicePlugin" in nic_cluster_policy(plan)["spec"]
    plain = _chips(pod_svg(pod_picture(plan, plan.hosts[0])))
    operator = _chips(pod_svg(pod_picture(plan, plan.hosts[0], target="network-operator")))
    assert "NicClusterPolicy" not in plain["plugin"]
    assert "deployed by the NicClusterPolicy" in operator["plugin"]
    assert {k: v for k, v in operator.items() if k != "plugin"} == {
        k: v for k, v in plain.items() if k != "plugin"}


def test_gh200_picture_shows_eth0_and_net1_on_one_wire(samples_root: Path) -> None:
    inputs = sample_inputs("gh200", samples_root)
    assert inputs.plan is not None
    svg = pod_svg(pod_picture(inputs.plan, inputs.plan.hosts[0], inputs.host))
    links = {g.get("data-from"): g for g in svg.iter("g") if g.get("data-from")}
    assert links["eth0"].get("data-to") == "port0" == links["net1"].get("data-to")
    texts = " ".join(t.text or "" for t in svg.iter("text"))
    assert "Multus → flannel (same wire as net1)" in texts
    assert "macvlan child of enp1s0f0np0" in texts
    assert "enp1s0f0np0  ★ management" in texts


# --- the pod network picture for `render --target dra` -------------------------------------


def _chips(svg: ET.Element) -> dict[str, str]:
    return {g.get("data-key", ""): " ".join(t.text or "" for t in g.iter("text"))
            for g in svg.iter("g") if g.get("data-key")}


def _links(svg: ET.Element) -> dict[tuple[str, str], str]:
    return {(g.get("data-from", ""), g.get("data-to", "")): g.findtext("text") or ""
            for g in svg.iter("g") if g.get("data-from")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_dra_pictures_exist_for_exactly_the_modes_render_fits(case: str) -> None:
    plan = plan_for(case)
    try:
        check_dra_fits(plan, "1.34")
    except UsageError as exc:
        if "spec.mode" in str(exc):
            assert plan.mode not in DRA_ATTACHMENT
            return
    assert plan.mode in DRA_ATTACHMENT
    templates = {o["metadata"]["name"] for o in render(plan, target="dra")
                 if o["kind"] == "ResourceClaimTemplate"}
    for host in plan.hosts:
        chips = _chips(pod_svg(pod_picture(plan, host, target="dra")))
        (drawn,) = [t for t in templates if f"ResourceClaimTemplate {t} " in chips["claim"]]
        assert drawn and "DRA driver" in chips["driver"]


@pytest.mark.parametrize("node", sorted(DRA_NODES))
def test_dra_picture_draws_the_claim_render_writes(node: str, samples_root: Path) -> None:
    """The claim, its template and class, the driver and the alignment are the ones in the
    objects `render --target dra` writes for the same plan (not worked out again)."""
    inputs = dra_inputs(node, samples_root)
    assert inputs.plan is not None
    host = inputs.plan.hosts[0]
    svg = pod_svg(pod_picture(inputs.plan, host, inputs.host, target="dra"))
    assert svg.get("data-target") == "dra"
    objects = render(inputs.plan, target="dra")
    (pod,) = [o for o in objects if o["kind"] == "Pod" and "gdr" in o["metadata"]["name"]]
    template_name = pod["spec"]["resourceClaims"][0]["resourceClaimTemplateName"]
    (template,) = [o for o in objects if o["kind"] == "ResourceClaimTemplate"
                   and o["metadata"]["name"] == template_name]
    devices = template["spec"]["spec"]["devices"]
    (dc,) = [o for o in objects if o["kind"] == "DeviceClass"]
    chips, links = _chips(svg), _links(svg)
    assert "resource" not in chips and "plugin" not in chips  # no device-plugin resource
    assert f"ResourceClaimTemplate {template_name}" in chips["claim"]
    assert f"DeviceClass {dc['metadata']['name']}" in chips["driver"]
    assert devices["config"][0]["opaque"]["driver"] == "dra.net"
    assert "DRA driver dra.net" in chips["driver"] and "dranet" in chips["driver"]
    assert links[("net1", "port0")] == f"dranet moves {host.nics[0].netdev} into the pod"
    assert "Multus" not in links[("eth0", "mgmt")]  # dranet needs no Multus
    address = devices["config"][0]["opaque"]["parameters"]["interface"]["addresses"][0]
    assert address in chips["net1"]
    assert ("claim", "driver") in links and ("align", "port0") in links
    nic_cel = devices["requests"][-1]["exactly"]["selectors"][0]["cel"]["expression"]
    if node == "dgx_h100_ib":
        assert devices["constraints"] == [{"requests": ["gpu", "nic"],
                                           "matchAttribute": PCIE_ROOT}]
        assert "alignment: pcieRoot" in chips["align"] and PCIE_ROOT in chips["align"]
        assert "numaNode" not in nic_cel
    else:
        assert "constraints" not in devices
        numa = host.nics[0].numa_node
        assert f"numaNode == {numa}" in nic_cel
        assert "alignment: numaNode" in chips["align"]
        assert f"numaNode == {numa}" in chips["align"]


def test_sriov_dra_picture_hands_a_vf_through_the_nad() -> None:
    plan = plan_for("sriov-rdma-cni-whereabouts")
    host = plan.hosts[0]
    svg = pod_svg(pod_picture(plan, host, target="dra"))
    objects = render(plan, target="dra")
    (template,) = [o for o in objects if o["kind"] == "ResourceClaimTemplate"]
    (dc,) = [o for o in objects if o["kind"] == "DeviceClass"]
    (nad,) = [o for o in objects if o["kind"] == "NetworkAttachmentDefinition"]
    chips, links = _chips(svg), _links(svg)
    assert f"ResourceClaimTemplate {template['metadata']['name']}" in chips["claim"]
    driver = template["spec"]["spec"]["devices"]["config"][0]["opaque"]["driver"]
    assert f"DRA driver {driver}" in chips["driver"] and dc["metadata"]["name"] in chips["driver"]
    assert links[("net1", "port0")] == (f"SR-IOV DRA: a VF of {host.nics[0].netdev}, Multus "
                                        f"attaches it via NAD {nad['metadata']['name']}")
    assert links[("eth0", "mgmt")].startswith("Multus → ")
    assert "alignment: none" in chips["align"] and ("align", "port0") not in links
    assert "/dev/infiniband" in " ".join(chips.values())


def test_dra_picture_refuses_what_render_refuses(samples_root: Path) -> None:
    from dualnet.report.inputs import gather

    inputs = sample_inputs("gh200", samples_root)  # shared-roce: no DRA driver shares a NIC
    assert inputs.plan is not None
    with pytest.raises(UsageError, match=r"spec\.mode: shared-roce"):
        gather(inputs.host, plan=inputs.plan, doctor=inputs.doctor, target="dra")


# --- benchmarks -------------------------------------------------------------------------------


def _levels(svg: ET.Element) -> dict[str, float]:
    return {g.get("data-level", ""): float(g.get("data-value", "nan"))
            for g in svg.iter("g") if g.get("data-level")}


def test_fleet_bench_draws_each_pair_with_line_rate_and_floor(samples_root: Path) -> None:
    bench = fleet_bench(sample_report("dgx_h100_ib", samples_root))
    view = bench_view([bench])
    assert [c.key for c in view.charts] == ["ib_write_bw-0-0", "ib_write_bw-0-1",
                                           "all_reduce_perf-0"]
    assert view.missing == []
    ndr, bidir, nccl = (chart_svg(c) for c in view.charts)
    assert "node-a → node-b" in (ndr.findtext("title") or "")
    assert "node-c → node-d" in (bidir.findtext("title") or "")
    assert _levels(ndr) == {"line-rate": 400.0, "floor": 320.0}  # 400 Gb/s NDR port
    assert _levels(bidir) == {"line-rate": 200.0, "floor": 160.0}  # both ways of a 100G port
    avg = next(g for g in ndr.iter("g") if g.get("data-series") == "avg")
    assert bench.rdma[0].result is not None
    assert avg.get("data-points") == str(len(bench.rdma[0].result.rows))
    assert bench.nccl is not None and bench.nccl.result is not None
    oop = next(g for g in nccl.iter("g") if g.get("data-series") == "oop")
    assert oop.get("data-points") == str(len(bench.nccl.result.rows))
    # NCCL: the node's 8 NDR HCAs (3200 Gb/s) and the model's NCCL floor, as bench judged it
    assert _levels(nccl) == {"line-rate": 3200.0, "floor": pytest.approx(
        3200.0 * bench.nccl.floor_fraction)}


def test_a_run_that_could_not_measure_is_missing_not_drawn(samples_root: Path) -> None:
    bench = fleet_bench(sample_report("dgx_h100_ib", samples_root))
    bench.rdma[1] = bench.rdma[1].model_copy(update={"result": None,
                                                      "problem": "ib_write_bw not in the image"})
    view = bench_view([bench])
    assert [c.key for c in view.charts] == ["ib_write_bw-0-0", "all_reduce_perf-0"]
    (gone,) = view.missing
    assert gone.what == "ib_write_bw mlx5_2 node-c → node-d"
    assert "could not measure (ib_write_bw not in the image)" in gone.why


def test_missing_results_are_listed_not_drawn() -> None:
    view = bench_view([rdma_only_bench()])
    assert len(view.charts) == 1
    assert _levels(chart_svg(view.charts[0])) == {}  # no line rate known: no level drawn
    what = {m.what for m in view.missing}
    assert what == {"line rate of mlx5_0", "all_reduce_perf"}
    assert all("could not measure" in m.why for m in view.missing if m.what.startswith("line"))
    none = bench_view([])
    assert [m.what for m in none.missing] == ["ib_write_bw", "all_reduce_perf"]


# --- the page ---------------------------------------------------------------------------------


def _sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_csp_forbids_loads_and_allows_exactly_the_inline_code(samples_root: Path) -> None:
    page = report_html(sample_inputs("gh200", samples_root))
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None
    policy = dict(p.strip().split(" ", 1) for p in html.unescape(csp.group(1)).split(";"))
    assert policy["default-src"] == "'none'" and policy["img-src"] == "'none'"
    style = re.search(r"<style>(.*?)</style>", page, re.S)
    script = re.search(r"<script>(.*?)</script>", page, re.S)
    assert style is not None and script is not None
    assert policy["style-src"] == _sha(style.group(1))
    assert policy["script-src"] == _sha(script.group(1))
    assert not re.search(r"\b(src|href)=\"(https?:)?//", page)  # nothing to fetch
    assert ' style="' not in page  # inline style attributes would need 'unsafe-inline'


def test_names_from_the_node_are_escaped(samples_root: Path) -> None:
    report = dataclasses.replace(sample_report("no_rdma", samples_root),
                                 hostname="<script>alert(1)</script>")
    page = report_html(ReportInputs(host=report, doctor=doctor_result(report)))
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script>") == 1


def test_no_gpu_no_plan_no_bench_says_what_is_missing(samples_root: Path) -> None:
    page = report_html(sample_inputs("no_rdma", samples_root))
    assert 'id="no-matrix"' in page and 'id="no-plan"' in page
    assert page.count('class="missing bench-missing"') == 2


# --- goldens ----------------------------------------------------------------------------------


GOLDEN_CASES = [(node, "plain") for node in NODES] + [(n, "dra") for n in sorted(DRA_NODES)]


@pytest.mark.parametrize(("node", "target"), GOLDEN_CASES)
def test_svg_structure_matches_golden(node: str, target: str, samples_root: Path) -> None:
    inputs = sample_inputs(node, samples_root) if target == "plain" else dra_inputs(
        node, samples_root)
    parts = [topology_svg(inputs.host)]
    matrix = relation_matrix_svg(inputs.host)
    if matrix is not None:
        parts.append(matrix)
    if inputs.plan is not None:
        parts += [pod_svg(pod_picture(inputs.plan, hp, inputs.host, target=target))
                  for hp in inputs.plan.hosts]
    text = "\n".join(line for p in parts for line in structure(p)) + "\n"
    path = GOLDEN / (f"{node}.svg.txt" if target == "plain" else f"{node}.{target}.svg.txt")
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden {path}; run with DUALNET_UPDATE_GOLDENS=1"
    assert path.read_text(encoding="utf-8") == text, f"{path.name} differs from the golden"


def test_relations_enum_is_covered_by_the_legend() -> None:
    from dualnet.report.topology import RELATION_MEANING, RELATIONS

    assert set(RELATIONS) == set(PciRelation) - {PciRelation.X} == set(RELATION_MEANING)
