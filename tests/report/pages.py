"""What the report tests draw: the bundled sample nodes taken the way `dualnet sample` takes them
(discover, doctor with the sample's spec, plan), and bench results assembled from the real
captures in tests/verify/outputs (each file cites its source)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from functools import cache
from importlib.resources import files
from pathlib import Path

from dualnet.doctor import doctor_result
from dualnet.host.discover import discover
from dualnet.host.models import HostReport
from dualnet.host.samples import SAMPLES, build_sample
from dualnet.plan import build_plan
from dualnet.report import ReportInputs
from dualnet.report.inputs import doctor_options
from dualnet.spec import Spec, load_spec
from dualnet.verify.bench import line_rate_gbps
from dualnet.verify.bench_models import BenchReport, NcclBench, RdmaBench
from dualnet.verify.nccl_tests import parse_all_reduce_perf
from dualnet.verify.perftest import parse_ib_write_bw

OUTPUTS = Path(__file__).resolve().parents[1] / "verify" / "outputs"
NODES = sorted(SAMPLES)
# `render --target dra` on the bundled samples: the DRA render tests' own specs (host-device, a
# mode dranet fits; dgx_h100_ib: GPU and HCA under one PCIe root, gh200: Grace, none shared)
DRA_SPECS = Path(__file__).resolve().parents[1] / "render" / "dra"
DRA_NODES = {"dgx_h100_ib": "dgx-host-device", "gh200": "gh200-host-device"}


def sample_spec(node: str) -> Spec | None:
    path = Path(str(files("dualnet") / "data" / "examples" / f"{node}.yaml"))
    return load_spec(path) if path.is_file() else None


@cache
def sample_report(node: str, root: Path) -> HostReport:
    return discover(build_sample(node, root / node))


def sample_inputs(node: str, root: Path) -> ReportInputs:
    report = sample_report(node, root)
    spec = sample_spec(node)
    plan = build_plan(spec, [report]) if spec is not None else None
    return ReportInputs(host=report, doctor=doctor_result(report, doctor_options(spec)),
                        plan=plan, generated="2026-12-01 10:00 UTC", source=f"sample {node}")


def dra_inputs(node: str, root: Path) -> ReportInputs:
    """The sample node with its DRA spec, as `dualnet report --spec ... --target dra` takes it."""
    report = sample_report(node, root)
    spec = load_spec(DRA_SPECS / f"{DRA_NODES[node]}.yaml")
    return ReportInputs(host=report, doctor=doctor_result(report, doctor_options(spec)),
                        plan=build_plan(spec, [report]), generated="2026-12-01 10:00 UTC",
                        source=f"sample {node}", target="dra")


def fleet_bench(dgx: HostReport) -> BenchReport:
    """A fleet run: ib_write_bw on two node pairs (NDR InfiniBand, RoCE bidirectional) and NCCL
    across two nodes, line rates from the dgx sample's ports."""
    ndr = parse_ib_write_bw((OUTPUTS / "ib_write_bw-cx7-ndr-ib-report-gbits.txt").read_text())
    bidir = parse_ib_write_bw(
        (OUTPUTS / "ib_write_bw-roce-bidir-all-sizes-indented.txt").read_text())
    nccl = parse_all_reduce_perf(
        (OUTPUTS / "all_reduce_perf-2node-16xh100-mpirun.txt").read_text())
    hcas = [d.name for d in dgx.rdma_devices if any(p.link_layer and p.link_layer.value ==
                                                     "InfiniBand" for p in d.ports)]
    return BenchReport(namespace="default", created="2026-12-01 09:00 UTC", rdma=[
        RdmaBench(server="default/b0", client="default/a0", server_node="node-b",
                  client_node="node-a", device="mlx5_0", command=["ib_write_bw"], result=ndr,
                  line_rate_gbps=line_rate_gbps(dgx, ["mlx5_0"])),
        RdmaBench(server="default/d0", client="default/c0", server_node="node-d",
                  client_node="node-c", device="mlx5_2", command=["ib_write_bw", "-b"],
                  result=bidir, line_rate_gbps=line_rate_gbps(dgx, ["mlx5_2"])),
    ], nccl=NcclBench(engine="mpijob", nodes=2, gpus_per_node=8, result=nccl,
                      line_rate_gbps_per_node=line_rate_gbps(dgx, hcas)))


def rdma_only_bench() -> BenchReport:
    """ib_write_bw alone, run without --host-report: no line rate, no NCCL."""
    cuda = parse_ib_write_bw(
        (OUTPUTS / "ib_write_bw-use-cuda-rtx4080-mib-units.txt").read_text())
    return BenchReport(namespace="default", created="2026-12-01 09:30 UTC", rdma=[
        RdmaBench(server="default/s", client="default/c", server_node="gh200",
                  client_node="gh200", device="mlx5_0", gpu=True, command=["ib_write_bw"],
                  result=cuda)], notes=["both pods ran on node gh200"])


def structure(root: ET.Element, depth: int = 0) -> list[str]:
    """An SVG's structure for the goldens: element, classes, data-* attributes and text, one
    line each; coordinates are left out so that the goldens hold what is drawn, not where."""
    tag = root.tag.rsplit("}", 1)[-1]
    attrs = [f".{c}" for c in root.get("class", "").split()]
    attrs += [f"[{k}={v}]" for k, v in sorted(root.attrib.items()) if k.startswith("data-")]
    text = f" {root.text.strip()!r}" if root.text and root.text.strip() else ""
    out = ["  " * depth + tag + "".join(attrs) + text]
    for child in root:
        out += structure(child, depth + 1)
    return out
