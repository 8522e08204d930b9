"""Live checks (the guide's step 7), benchmarks (ib_write_bw, nccl-tests) and their reports, plus
the NCCL settings derived from discovery. Check and parse logic is pure; the cluster edge is in
`run.py` / `bench.py` and goes through `dualnet.cluster`.

The API a program may rely on is what `__all__` names (resolved on first use, so importing one
module of this package loads no other); every other module and name here is internal.
"""

from __future__ import annotations

from dualnet import _lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dualnet.verify.bench import BenchRequest, run_bench
    from dualnet.verify.bench_models import BenchReport, NcclBench, RdmaBench
    from dualnet.verify.models import CheckResult, Status, VerifyReport
    from dualnet.verify.nccl_log import PodFacts, nccl_checks
    from dualnet.verify.outcome import exit_status
    from dualnet.verify.report import markdown_report
    from dualnet.verify.run import run_verify

_LAZY = {
    "run_verify": "dualnet.verify.run",
    "BenchRequest": "dualnet.verify.bench",
    "run_bench": "dualnet.verify.bench",
    "CheckResult": "dualnet.verify.models",
    "Status": "dualnet.verify.models",
    "VerifyReport": "dualnet.verify.models",
    "BenchReport": "dualnet.verify.bench_models",
    "NcclBench": "dualnet.verify.bench_models",
    "RdmaBench": "dualnet.verify.bench_models",
    "exit_status": "dualnet.verify.outcome",
    "PodFacts": "dualnet.verify.nccl_log",
    "nccl_checks": "dualnet.verify.nccl_log",
    "markdown_report": "dualnet.verify.report",
}

__all__ = [
    "BenchReport",
    "BenchRequest",
    "CheckResult",
    "NcclBench",
    "PodFacts",
    "RdmaBench",
    "Status",
    "VerifyReport",
    "exit_status",
    "markdown_report",
    "nccl_checks",
    "run_bench",
    "run_verify",
]

__getattr__, __dir__ = _lazy_exports("dualnet.verify", _LAZY, __all__, globals())
