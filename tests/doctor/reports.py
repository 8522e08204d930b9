"""HostReports built from real values, for rules whose fixture trees/parsers are not the subject.

`gh200()` carries the values the GH200 guide shows (seeds/gh200-dual-network-rdma-guide.txt,
step 1: `ip a`, `lsmod`, `rdma link`, `ibv_devinfo`, `rdma system`, `nvidia-smi topo -m`).
Each test changes one fact of it, so every rule is seen firing and not firing on the same node.
"""

from __future__ import annotations

from dualnet.host.models import CniConfigFile, CniState, HostReport, KernelModule
from tests.gh200_report import gh200_report

GH200_MODULES = [
    # `lsmod | grep -E 'rdma|ib_|mlx'` as the guide prints it; the used-by column names
    # nvidia_peermem, rdma_ucm and ib_umad although their own lines are not shown.
    KernelModule(name="mlx5_ib", loaded=True, refcount=0),
    KernelModule(
        name="ib_uverbs", loaded=True, refcount=3, used_by=["nvidia_peermem", "rdma_ucm", "mlx5_ib"]
    ),
    KernelModule(
        name="ib_core",
        loaded=True,
        refcount=8,
        used_by=[
            "rdma_cm",
            "ib_ipoib",
            "iw_cm",
            "ib_umad",
            "rdma_ucm",
            "ib_uverbs",
            "mlx5_ib",
            "ib_cm",
        ],
    ),
    KernelModule(name="mlx5_core", loaded=True, refcount=1, used_by=["mlx5_ib"]),
]


def gh200(**changes: object) -> HostReport:
    """The guide's node (tests/gh200_report.py) with the guide's lsmod and a Multus CNI dir."""
    report = gh200_report(
        hostname="guest",
        modules=list(GH200_MODULES),
        cni=CniState(
            bin_dirs=["/opt/cni/bin"],
            plugins=[
                "bandwidth",
                "bridge",
                "flannel",
                "host-device",
                "host-local",
                "loopback",
                "macvlan",
                "multus-shim",
                "portmap",
            ],
            conf_dir="/etc/cni/net.d",
            conf_files=[
                CniConfigFile(
                    name="00-multus.conf",
                    kind="conf",
                    network_name="multus-cni-network",
                    plugin_types=["multus-shim"],
                ),
                CniConfigFile(
                    name="10-flannel.conflist",
                    kind="conflist",
                    network_name="cbr0",
                    plugin_types=["flannel", "portmap"],
                ),
            ],
            k3s_flannel_builtin=False,
        ),
    )
    return report.model_copy(update=changes)
