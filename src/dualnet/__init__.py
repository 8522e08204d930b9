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
    from collections.abc import Callable as _Callable

    from dualnet.doctor import DoctorOptions, DoctorResult, Finding, Severity, diagnose
    from dualnet.errors import DualnetError, Exit, UsageError
    from dualnet.host import HostReport, build_sample, load_host_report

    # from its module: in the dualnet <-> dualnet.host import cycle mypy reads the package's
    # `discover` as the submodule of that name
    from dualnet.host.discover import discover
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


def _lazy_exports(
    package: str, table: "dict[str, str]", exported: "list[str]", namespace: "dict[str, object]"
) -> "tuple[_Callable[[str], object], _Callable[[], list[str]]]":
    """The module `__getattr__` and `__dir__` (PEP 562) of a package whose names in `table`
    (name -> defining module) are imported on first access, then bound in `namespace`. Every
    package with lazy exports uses this one; it lives here so `import dualnet` loads no more."""

    def getattr_(name: str) -> object:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        import importlib

        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # the next access is a plain lookup
        return value

    def dir_() -> list[str]:
        return sorted(set(namespace) | set(exported))

    return getattr_, dir_


__getattr__, __dir__ = _lazy_exports("dualnet", _LAZY, __all__, globals())
