"""The real captures of tests/corpus/ as the parse tests read them: each tool's parser, the files
it has, and the damage the property tests do to them (a copy-paste's mutations)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

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
from dualnet.parse.show_gids import parse_show_gids

CORPUS = Path(__file__).resolve().parent.parent / "corpus"

PARSERS: dict[str, Callable[[str], Any]] = {
    "devlink_eswitch": parse_devlink_eswitch,
    "devlink_port": parse_devlink_port,
    "ibdev2netdev": parse_ibdev2netdev,
    "ibv_devices": parse_ibv_devices,
    "ibv_devinfo": parse_ibv_devinfo,
    "ip_addr": parse_ip_addr,
    "ip_link": parse_ip_link,
    "ip_route": parse_ip_route,
    "kubectl_node": parse_kubectl_node,
    "lsmod": parse_lsmod,
    "lspci": parse_lspci,
    "network-status": parse_network_status,
    "nccl_debug": parse_nccl_debug,
    "nvidia-smi_topo": parse_nvidia_smi_topo,
    "rdma_dev": parse_rdma_dev,
    "rdma_link": parse_rdma_link,
    "rdma_system": parse_rdma_system,
    "show_gids": parse_show_gids,
}

def corpus_files() -> list[str]:
    return sorted(
        str(p.relative_to(CORPUS)) for p in CORPUS.glob("*/*.txt") if p.parent.name in PARSERS
    )


def read(rel: str) -> str:
    return (CORPUS / rel).read_text(encoding="utf-8")


GARBAGE = st.lists(
    st.sampled_from(
        [
            *"\x00\x07\x1b\t \n:{}[]()<>\"',.-_/=#*0123456789abcXYZé€\ufeff\u2028",
            *("==>", "port", "GPU0", "NIC0", "hca_id:", "vf 0", "link ", "X", "PIX", "null"),
        ]
    ),
    min_size=1,
    max_size=8,
).map("".join)


@st.composite
def mutated(draw: st.DrawFn, texts: list[str]) -> str:
    text = draw(st.sampled_from(texts))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        lines = text.split("\n")
        op = draw(
            st.sampled_from(
                [
                    "delete", "duplicate", "swap", "truncate", "inject", "tabs", "spaces",
                    "collapse", "bom", "nbsp", "comment", "elision",
                ]
            )
        )
        i = draw(st.integers(min_value=0, max_value=max(len(lines) - 1, 0)))
        j = draw(st.integers(min_value=0, max_value=max(len(lines) - 1, 0)))
        if op == "delete" and lines:
            del lines[i]
        elif op == "duplicate" and lines:
            lines.insert(j, lines[i])
        elif op == "swap" and lines:
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "truncate":
            text = text[: draw(st.integers(min_value=0, max_value=len(text)))]
            continue
        elif op == "inject":
            pos = draw(st.integers(min_value=0, max_value=len(text)))
            text = text[:pos] + draw(GARBAGE) + text[pos:]
            continue
        elif op == "tabs":
            text = text.replace("\t", " " * draw(st.integers(min_value=1, max_value=8)))
            continue
        elif op == "spaces":
            text = text.replace("    ", "\t")
            continue
        elif op == "collapse":
            lines = [" ".join(line.split()) for line in lines]
        elif op == "bom":
            text = "\ufeff" + text
            continue
        elif op == "nbsp":
            text = text.replace(" ", "\u00a0", draw(st.integers(min_value=1, max_value=50)))
            continue
        elif op == "comment":
            lines.insert(j, "# " + draw(GARBAGE))
        elif op == "elision":
            lines.insert(j, draw(st.sampled_from(["...", "... (mlx5_3~mlx5_15 are fabricN (Up))",
                                                  "[...]", "<snip>"])))
        text = "\n".join(lines)
    return text
