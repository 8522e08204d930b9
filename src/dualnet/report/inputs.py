"""What a report is made from, gathered through the layers' own public functions: the doctor's
verdict for the intent a spec states, the plan, and bench results read from their JSON."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from dualnet.doctor import DoctorOptions, DoctorResult, doctor_result
from dualnet.errors import UsageError
from dualnet.host.models import HostReport
from dualnet.inputs import load_mapping, validation_problems
from dualnet.modes import Mode
from dualnet.plan import Plan, build_plan
from dualnet.render.build import check_target
from dualnet.render.dra import check_dra_fits
from dualnet.render.validate import DEFAULT_K8S_VERSION
from dualnet.report.page import ReportInputs
from dualnet.spec import Spec
from dualnet.verify.bench_models import BenchReport


def doctor_options(spec: Spec | None) -> DoctorOptions:
    """The doctor's options for the intent a spec states (none: every mode-free check)."""
    if spec is None:
        return DoctorOptions()
    mode = Mode(spec.spec.mode)
    return DoctorOptions(mode=mode, rdma_cni=spec.spec.rdma_cni, dpdk=mode is Mode.SRIOV_DPDK,
                         vfs=spec.spec.num_vfs)


def load_bench(path: Path) -> BenchReport:
    """A `dualnet bench --output json` result, read by the one loader (dualnet.inputs): every
    problem is a usage error naming the file, and the field where the model refuses it."""
    expect = "a `dualnet bench --output json` result"
    doc = load_mapping(path, what="--bench", expect=expect)
    try:
        return BenchReport.model_validate(doc)
    except ValidationError as exc:
        raise UsageError(f"--bench {path}: not a dualnet bench result:\n  "
                         + validation_problems(exc.errors(include_url=False)),
                         hint="write one with `dualnet bench ... --output json > bench.json`",
                         ) from None


def gather(report: HostReport, *, spec: Spec | None = None, bench_paths: list[Path] | None = None,
           doctor: DoctorResult | None = None, plan: Plan | None = None, generated: str = "",
           source: str = "", target: str = "plain") -> ReportInputs:
    """Everything the page shows: the doctor's verdict and the plan for `spec` unless the caller
    already has them (`sample` does), and each bench result read. `target` is the render target
    the pod network picture shows; `dra` refuses (exit 2) what `render --target dra` refuses."""
    check_target(target)
    verdict = doctor or doctor_result(report, doctor_options(spec))
    the_plan = plan or (build_plan(spec, [report]) if spec is not None else None)
    if target == "dra" and the_plan is not None:
        check_dra_fits(the_plan, DEFAULT_K8S_VERSION)
    return ReportInputs(host=report, doctor=verdict, plan=the_plan,
                        benches=[load_bench(p) for p in bench_paths or []],
                        generated=generated, source=source, target=target)
