"""Parsers for the output of the tools people already run (see README.md here).

The API a program may rely on is what `__all__` names (resolved on first use, so importing one
module of this package loads no other); every other module and name here is internal.
"""

from __future__ import annotations

from dualnet import _lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dualnet.parse.devlink import parse_devlink_eswitch, parse_devlink_port
    from dualnet.parse.errors import ParseError
    from dualnet.parse.from_dir import report_from_dir
    from dualnet.parse.ibdev2netdev import parse_ibdev2netdev
    from dualnet.parse.ibv_devices import parse_ibv_devices
    from dualnet.parse.ibv_devinfo import parse_ibv_devinfo
    from dualnet.parse.ip import parse_ip_addr, parse_ip_link, parse_ip_route
    from dualnet.parse.kubectl_node import parse_kubectl_node
    from dualnet.parse.lsmod import parse_lsmod
    from dualnet.parse.lspci import parse_lspci
    from dualnet.parse.nccl_debug import parse_nccl_debug
    from dualnet.parse.network_status import parse_network_status
    from dualnet.parse.nvidia_smi_topo import parse_nvidia_smi_topo
    from dualnet.parse.rdma import parse_rdma_dev, parse_rdma_link, parse_rdma_system
    from dualnet.parse.registry import (
        Reading,
        Tool,
        find_tool,
        parse_tool_output,
        read_tool_output,
        tool_names,
    )
    from dualnet.parse.show_gids import parse_show_gids

_LAZY = {
    "ParseError": "dualnet.parse.errors",
    "Reading": "dualnet.parse.registry",
    "Tool": "dualnet.parse.registry",
    "find_tool": "dualnet.parse.registry",
    "parse_tool_output": "dualnet.parse.registry",
    "read_tool_output": "dualnet.parse.registry",
    "tool_names": "dualnet.parse.registry",
    "report_from_dir": "dualnet.parse.from_dir",
    "parse_devlink_eswitch": "dualnet.parse.devlink",
    "parse_devlink_port": "dualnet.parse.devlink",
    "parse_ibdev2netdev": "dualnet.parse.ibdev2netdev",
    "parse_ibv_devices": "dualnet.parse.ibv_devices",
    "parse_ibv_devinfo": "dualnet.parse.ibv_devinfo",
    "parse_ip_addr": "dualnet.parse.ip",
    "parse_ip_link": "dualnet.parse.ip",
    "parse_ip_route": "dualnet.parse.ip",
    "parse_kubectl_node": "dualnet.parse.kubectl_node",
    "parse_lsmod": "dualnet.parse.lsmod",
    "parse_lspci": "dualnet.parse.lspci",
    "parse_nccl_debug": "dualnet.parse.nccl_debug",
    "parse_network_status": "dualnet.parse.network_status",
    "parse_nvidia_smi_topo": "dualnet.parse.nvidia_smi_topo",
    "parse_rdma_dev": "dualnet.parse.rdma",
    "parse_rdma_link": "dualnet.parse.rdma",
    "parse_rdma_system": "dualnet.parse.rdma",
    "parse_show_gids": "dualnet.parse.show_gids",
}

__all__ = [
    "ParseError",
    "Reading",
    "Tool",
    "find_tool",
    "parse_devlink_eswitch",
    "parse_devlink_port",
    "parse_ibdev2netdev",
    "parse_ibv_devices",
    "parse_ibv_devinfo",
    "parse_ip_addr",
    "parse_ip_link",
    "parse_ip_route",
    "parse_kubectl_node",
    "parse_lsmod",
    "parse_lspci",
    "parse_nccl_debug",
    "parse_network_status",
    "parse_nvidia_smi_topo",
    "parse_rdma_dev",
    "parse_rdma_link",
    "parse_rdma_system",
    "parse_show_gids",
    "parse_tool_output",
    "read_tool_output",
    "report_from_dir",
    "tool_names",
]

__getattr__, __dir__ = _lazy_exports("dualnet.parse", _LAZY, __all__, globals())
