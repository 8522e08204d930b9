"""host: read one node's facts (sysfs, procfs, /etc/cni) into a `HostReport`, show them as the
familiar tools do, and build sample nodes to try everything on.

The models and `discover` load with the package (every layer reads them); the sample trees, the tree
builder and the report-file loader load on first use."""

from __future__ import annotations

from dualnet import _lazy_exports
from dualnet.host.discover import discover
from dualnet.host.dump import jsonable
from dualnet.host.models import (
    Gid,
    Gpu,
    HostReport,
    KernelModule,
    LinkLayer,
    ManagementInterface,
    Nic,
    PciRelation,
    PortState,
    RdmaDevice,
    RdmaPort,
    ReadProblem,
)
from dualnet.host.views import ibdev2netdev_text, show_gids_text, topo_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dualnet.host.report_file import load_host_report
    from dualnet.host.samples import SAMPLES, build_sample
    from dualnet.host.synthetic import NodeDescription, build_tree

_LAZY = {
    "SAMPLES": "dualnet.host.samples",
    "build_sample": "dualnet.host.samples",
    "load_host_report": "dualnet.host.report_file",
    "NodeDescription": "dualnet.host.synthetic",
    "build_tree": "dualnet.host.synthetic",
}

__all__ = [
    "SAMPLES",
    "Gid",
    "Gpu",
    "HostReport",
    "KernelModule",
    "LinkLayer",
    "ManagementInterface",
    "Nic",
    "NodeDescription",
    "PciRelation",
    "PortState",
    "RdmaDevice",
    "RdmaPort",
    "ReadProblem",
    "build_sample",
    "build_tree",
    "discover",
    "ibdev2netdev_text",
    "jsonable",
    "load_host_report",
    "show_gids_text",
    "topo_text",
]


__getattr__, __dir__ = _lazy_exports("dualnet.host", _LAZY, __all__, globals())
