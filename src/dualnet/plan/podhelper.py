"""`dualnet-pod`, the in-pod helper: its script and the pieces that ship it (ConfigMap, volume,
mount) and start a command through it. The script is the pod-side twin of
`plan.nccl.pod_nccl_env` (one derivation of the per-pod GID, in shell where the pod's facts
are); it lives beside it so `render` (test and training pods) and `verify` (bench's NCCL ranks)
take it from one place. What the script does: render/podhelper.py's docstring.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

SCRIPT_NAME = "dualnet-pod"
MOUNT_DIR = "/opt/dualnet"
VOLUME = "dualnet-pod"

# the script itself: data/pod/dualnet-pod.sh (a shell file, so shell tools can read and lint it)
SCRIPT = (files("dualnet") / "data" / "pod" / "dualnet-pod.sh").read_text(encoding="utf-8")


def helper_configmap(name: str, namespace: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "data": {SCRIPT_NAME: SCRIPT}}


def helper_volume(configmap: str) -> dict[str, Any]:
    return {"name": VOLUME, "configMap": {"name": configmap, "defaultMode": 0o555}}


def helper_mount() -> dict[str, Any]:
    return {"name": VOLUME, "mountPath": MOUNT_DIR, "readOnly": True}


def nccl_exec_command(command: list[str]) -> list[str]:
    """`command` wrapped so it starts with this pod's own NCCL GID settings."""
    return ["/bin/sh", f"{MOUNT_DIR}/{SCRIPT_NAME}", "nccl-exec", "--", *command]
