"""The one HTML page: node topology, the pod network picture, the findings, the benchmarks.

Jinja2 (autoescaping) writes the page; the SVGs come from topology/podnet/charts. Everything is
inline and a Content-Security-Policy meta tag forbids loading anything: the styles and the one
script are allowed by their SHA-256 hashes, so the page renders offline and, attached to a ticket,
cannot fetch (or leak) anything when opened.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from importlib.resources import files

from jinja2 import Environment, StrictUndefined
from markupsafe import Markup

from dualnet.doctor.findings import DoctorResult, Severity
from dualnet.host.models import HostReport
from dualnet.plan.model import Plan
from dualnet.render.markdown import step_commands
from dualnet.report.bench_view import bench_view
from dualnet.report.charts import chart_svg
from dualnet.report.podnet import pod_picture, pod_svg
from dualnet.report.svg import to_string
from dualnet.report.topology import (
    RELATION_MEANING,
    RELATIONS,
    relation_matrix_svg,
    topology_svg,
)
from dualnet.verify.bench_models import BenchReport

# the bench table's columns, as `dualnet bench` prints them (one definition, in verify)
from dualnet.verify.report import _HEAD as BENCH_HEAD
from dualnet.verify.report import bench_rows


@dataclass
class ReportInputs:
    """What one report shows; everything but the node's facts and the doctor may be absent."""

    host: HostReport
    doctor: DoctorResult
    plan: Plan | None = None
    benches: list[BenchReport] = field(default_factory=list)
    generated: str = ""  # when it was made, as the page shows it (the caller's clock)
    source: str = ""  # how the facts were read: "--root /", "--from DIR", "sample gh200"
    target: str = "plain"  # the render target the pod network picture shows (render.TARGETS)


def _asset(name: str) -> str:
    return (files("dualnet.report") / "templates" / name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _csp(css: str, js: str) -> str:
    # default-src 'none' covers fetch/XHR, images, fonts, frames, media; the inline SVGs are
    # part of the document and need no source.
    return (f"default-src 'none'; style-src {_sha256(css)}; script-src {_sha256(js)}; "
            "img-src 'none'; base-uri 'none'; form-action 'none'")


def report_html(inputs: ReportInputs) -> str:
    """The whole page as one string (pure: the same inputs give the same bytes)."""
    css, js = _asset("report.css"), _asset("report.js")
    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=True)
    template = env.from_string(_asset("report.html.j2"))
    host = inputs.host
    matrix = relation_matrix_svg(host)
    plan = inputs.plan
    pictures = []
    if plan is not None:
        for hp in plan.hosts:
            facts = host if hp.hostname == (host.hostname or hp.hostname) else None
            pictures.append(Markup(to_string(pod_svg(pod_picture(plan, hp, facts,
                                                                       target=inputs.target)))))
    steps = [] if plan is None else [
        (hp.hostname, st.kind, st.why, "\n".join(step_commands(st, hp.arch)))
        for hp in plan.hosts for st in hp.steps]
    bench = bench_view(inputs.benches)
    counts = {s.value: sum(1 for f in inputs.doctor.findings if f.severity is s)
              for s in Severity}
    rdma_ports = [(d, p) for d in host.rdma_devices for p in d.ports]
    return template.render(
        css=Markup(css), js=Markup(js), csp=_csp(css, js),
        host=host, doctor=inputs.doctor, counts=counts, plan=plan,
        generated=inputs.generated, source=inputs.source,
        topology=Markup(to_string(topology_svg(host))),
        matrix=Markup(to_string(matrix)) if matrix is not None else None,
        relations=[(r.value, RELATION_MEANING[r]) for r in RELATIONS],
        rdma_ports=rdma_ports, pictures=pictures, steps=steps, target=inputs.target,
        charts=[Markup(to_string(chart_svg(c))) for c in bench.charts],
        missing=bench.missing, bench_notes=bench.notes,
        bench_rows=[row for b in inputs.benches for row in bench_rows(b)],
        bench_head=BENCH_HEAD,
    )
