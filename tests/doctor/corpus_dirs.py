"""Folders of real captured outputs (tests/corpus), laid out as a user's `--from` folder."""

from __future__ import annotations

import shutil
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent / "corpus"

# The GH200 guide's step-1 outputs, under the names `dualnet doctor --from` reads.
GH200_FILES = {
    "lsmod.txt": "lsmod/gh200-mofed.txt",
    "rdma_link.txt": "rdma_link/gh200-cx7.txt",
    "rdma_system.txt": "rdma_system/gh200-shared.txt",
    "nvidia-smi_topo.txt": "nvidia-smi_topo/gh200-1gpu-2nic.txt",
    "ip_addr.txt": "ip_addr/gh200-host.txt",
    "ibv_devinfo.txt": "ibv_devinfo/gh200-cx7-host.txt",
    "lspci.txt": "lspci/gh200.txt",
}


def make_from_dir(dest: Path, files: dict[str, str]) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name, rel in files.items():
        shutil.copyfile(CORPUS / rel, dest / name)
    return dest
