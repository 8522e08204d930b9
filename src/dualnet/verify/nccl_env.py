"""Kept importable for existing callers: the NCCL derivation lives in `dualnet.plan.nccl`."""

from __future__ import annotations

from dualnet.plan.nccl import (
    PEERMEM_MODULES,
    SOCKET_IFNAME,
    NcclSettings,
    derive_nccl_env,
    format_env,
    ib_hca_value,
    nccl_settings,
)

__all__ = [
    "PEERMEM_MODULES",
    "SOCKET_IFNAME",
    "NcclSettings",
    "derive_nccl_env",
    "format_env",
    "ib_hca_value",
    "nccl_settings",
]
