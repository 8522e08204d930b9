"""One entry point for every parser: `parse_tool_output("rdma link", text)`.

Tool names are matched loosely: case, spaces, dashes and underscores do not matter and a few
common spellings are aliases (`ip a`, `topo`, `nvidia-smi topo -m`), so the same table serves
the CLI and the file names of `--from DIR`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from dualnet.errors import UsageError
from dualnet.parse._text import ParseWarning, collecting
from dualnet.parse.api_resources import parse_api_resources
from dualnet.parse.device_plugin_config import parse_device_plugin_config
from dualnet.parse.devlink import parse_devlink_eswitch, parse_devlink_port
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
from dualnet.parse.resource_slices import parse_resource_slices
from dualnet.parse.show_gids import parse_show_gids


@dataclass(frozen=True)
class Tool:
    key: str
    parse: Callable[[str], Any]
    returns: str
    aliases: tuple[str, ...] = ()


TOOLS: tuple[Tool, ...] = (
    Tool("ibv_devinfo", parse_ibv_devinfo, "list[RdmaDevice]", ("ibv_devinfo_v", "ibv_devinfo_l")),
    Tool("ibv_devices", parse_ibv_devices, "list[RdmaDevice]"),
    Tool("rdma_link", parse_rdma_link, "list[RdmaDevice]", ("rdma_link_show",)),
    Tool("rdma_dev", parse_rdma_dev, "list[RdmaDevice]", ("rdma_dev_show",)),
    Tool("rdma_system", parse_rdma_system, "NetnsMode", ("rdma_system_show", "netns_mode")),
    Tool("lsmod", parse_lsmod, "list[KernelModule]"),
    Tool(
        "nvidia_smi_topo",
        parse_nvidia_smi_topo,
        "TopoResult",
        ("nvidia_smi_topo_m", "topo", "topo_m", "nvidia_topo"),
    ),
    Tool("show_gids", parse_show_gids, "list[RdmaDevice]"),
    Tool("ibdev2netdev", parse_ibdev2netdev, "list[RdmaDevice]", ("ibdev2netdev_v",)),
    Tool("lspci", parse_lspci, "LspciResult", ("lspci_nn", "lspci_v", "lspci_vvv")),
    Tool(
        "ip_link",
        parse_ip_link,
        "list[IpInterface]",
        ("ip_d_link", "ip_d_link_show", "ip_link_show"),
    ),
    Tool("ip_addr", parse_ip_addr, "list[IpInterface]", ("ip_a", "ip_addr_show", "ip_address")),
    Tool("ip_route", parse_ip_route, "list[Route]", ("ip_r", "ip_route_show")),
    Tool("network_status", parse_network_status, "list[NetworkStatus]", ("networks_status",)),
    Tool("nccl_debug", parse_nccl_debug, "NcclLog", ("nccl_log", "nccl_debug_info")),
    Tool(
        "kubectl_node",
        parse_kubectl_node,
        "KubeNode",
        ("kubectl_describe_node", "kubectl_get_node", "node", "describe_node"),
    ),
    Tool(
        "devlink_eswitch",
        parse_devlink_eswitch,
        "list[Eswitch]",
        ("devlink_dev_eswitch", "devlink_dev_eswitch_show"),
    ),
    Tool("devlink_port", parse_devlink_port, "list[Representor]", ("devlink_port_show",)),
    Tool(
        "kubectl_api_resources",
        parse_api_resources,
        "list[str]",
        ("api_resources", "kubectl_api_versions", "api_versions", "apis", "kubectl_get_raw_apis"),
    ),
    Tool(
        "resourceslices",
        parse_resource_slices,
        "list[DraDevice]",
        ("resource_slices", "kubectl_get_resourceslices"),
    ),
    Tool(
        "device_plugin_config",
        parse_device_plugin_config,
        "list[DevicePluginResource]",
        ("device_plugin_configs", "sriovdp_config", "rdma_devices", "configmaps",
         "nic_cluster_policy", "nicclusterpolicy"),
    ),
)


def normalize(name: str) -> str:
    """`nvidia-smi topo -m` -> `nvidia_smi_topo_m`."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


_BY_NAME: dict[str, Tool] = {}
for _tool in TOOLS:
    for _name in (_tool.key, *_tool.aliases):
        _BY_NAME[normalize(_name)] = _tool


def find_tool(name: str) -> Tool | None:
    return _BY_NAME.get(normalize(name))


def tool_names() -> list[str]:
    return [t.key for t in TOOLS]


def parse_tool_output(tool: str, text: str) -> Any:
    """Parse `text` as the output of `tool`; raises UsageError for an unknown tool name and
    ParseError (a UsageError) for text that does not parse."""
    return _known(tool).parse(text)


def _known(tool: str) -> Tool:
    found = find_tool(tool)
    if found is None:
        raise UsageError(
            f"unknown tool {tool!r}",
            hint="one of: " + ", ".join(tool_names()),
        )
    return found


class Reading(BaseModel):
    """What one paste gave: the parsed value and every line skipped on the way."""

    model_config = ConfigDict(extra="forbid")

    tool: str
    value: Any
    warnings: list[ParseWarning]


def read_tool_output(tool: str, text: str) -> Reading:
    """`parse_tool_output`, plus the warnings (skipped lines) the parser gave."""
    found = _known(tool)
    with collecting() as warnings:
        value = found.parse(text)
    # prepare() warns as it splits, the parser as it reads: show them in line order
    ordered = sorted(warnings, key=lambda w: w.line_no)
    return Reading(tool=found.key, value=value, warnings=ordered)
