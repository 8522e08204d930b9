"""dualnet: a second, RDMA-capable training network for Kubernetes pods on GPU nodes.

The Python API a user may rely on is what `__all__` names, here and in each layer package
(`dualnet.host`, `dualnet.doctor`, `dualnet.plan`, `dualnet.render`, `dualnet.lab`,
`dualnet.prepare`); everything else may change between releases. The names below resolve on
first use, so `import dualnet` (which every CLI start does) loads no layer. Names that are also
a package (`render`) are not repeated here: `from dualnet.render import render`.
"""

__version__ = "0.1.0"

TYPE_CHECKING = False  # not typing's: importing typing is a measurable part of `--version`
if TYPE_CHECKING:
    from dualnet.doctor import DoctorOptions, DoctorResult, Finding, Severity, diagnose
    from dualnet.errors import DualnetError, Exit, UsageError
    from dualnet.host import HostReport, build_sample, discover, load_host_report
    from dualnet.lab import LabReport, load_nad, run_lab
    from dualnet.plan import Plan, build_plan
    from dualnet.render import write_kustomize, write_stream
    from dualnet.spec import Spec, load_spec, parse_spec

# public name -> the module that defines it (imported on first access)
_LAZY = {
    "DoctorOptions": "dualnet.doctor",
    "DoctorResult": "dualnet.doctor",
    "Finding": "dualnet.doctor",
    "Severity": "dualnet.doctor",
    "diagnose": "dualnet.doctor",
    "DualnetError": "dualnet.errors",
    "Exit": "dualnet.errors",
    "UsageError": "dualnet.errors",
    "HostReport": "dualnet.host",
    "build_sample": "dualnet.host",
    "discover": "dualnet.host",
    "load_host_report": "dualnet.host",
    "LabReport": "dualnet.lab",
    "load_nad": "dualnet.lab",
    "run_lab": "dualnet.lab",
    "Plan": "dualnet.plan",
    "build_plan": "dualnet.plan",
    "write_kustomize": "dualnet.render",
    "write_stream": "dualnet.render",
    "Spec": "dualnet.spec",
    "load_spec": "dualnet.spec",
    "parse_spec": "dualnet.spec",
}

__all__ = [
    "DoctorOptions",
    "DoctorResult",
    "DualnetError",
    "Exit",
    "Finding",
    "HostReport",
    "LabReport",
    "Plan",
    "Severity",
    "Spec",
    "UsageError",
    "__version__",
    "build_plan",
    "build_sample",
    "diagnose",
    "discover",
    "load_host_report",
    "load_nad",
    "load_spec",
    "parse_spec",
    "run_lab",
    "write_kustomize",
    "write_stream",
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dualnet' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next access is a plain lookup
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
