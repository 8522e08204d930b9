"""Objects that run nccl-tests across N nodes: an MPIJob when the Kubeflow MPI Operator is
installed, else an Indexed Job with a headless Service (pods find each other by DNS, rank 0 runs
mpirun over ssh with a key from a Secret). Pure builders."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from dualnet import labels
from dualnet.errors import HostError, UsageError
from dualnet.names import check_dns1123_label
from dualnet.plan.podhelper import (
    helper_configmap,
    helper_mount,
    helper_volume,
    nccl_exec_command,
)
from dualnet.verify.testpods import RUN_LABEL

SSH_PORT = 2222


class NcclJobSpec(BaseModel):
    name: str
    namespace: str
    network: str
    nad: str
    resource: str
    image: str
    nodes: int = Field(ge=2)
    gpus_per_node: int = Field(default=1, ge=1)
    env: dict[str, str] = Field(default_factory=dict, description="NCCL_* for every rank")
    per_pod_gid: bool = Field(
        default=False, description="each rank starts through `dualnet-pod nccl-exec`, which sets "
        "its own NCCL_IB_GID_INDEX/NCCL_IB_ADDR_RANGE from its net1 (shared mode: one GID per "
        "pod in the device's table); False: the node-wide settings in `env` are right")
    min_bytes: str = "8"
    max_bytes: str = "8G"
    run: str


def _labels(spec: NcclJobSpec) -> dict[str, str]:
    return {**labels.owned_labels(spec.network, "bench"), RUN_LABEL: spec.run}


def _perf_cmd(spec: NcclJobSpec) -> list[str]:
    perf = ["all_reduce_perf", "-b", spec.min_bytes, "-e", spec.max_bytes, "-f", "2", "-g", "1"]
    # mpirun starts this on every rank, inside the rank's pod: the helper reads that pod's net1
    return nccl_exec_command(perf) if spec.per_pod_gid else perf


def helper_name(spec: NcclJobSpec) -> str:
    return f"{spec.name}-dualnet-pod"


def helper_objects(spec: NcclJobSpec) -> list[dict[str, Any]]:
    """The ConfigMap holding `dualnet-pod`, when the ranks start through it."""
    if not spec.per_pod_gid:
        return []
    return [helper_configmap(helper_name(spec), spec.namespace, _labels(spec))]


def _with_helper(pod_spec: dict[str, Any], spec: NcclJobSpec) -> dict[str, Any]:
    """`pod_spec` with the helper mounted in every container (the ranks run there)."""
    if not spec.per_pod_gid:
        return pod_spec
    for c in pod_spec["containers"]:
        c.setdefault("volumeMounts", []).append(helper_mount())
    pod_spec.setdefault("volumes", []).append(helper_volume(helper_name(spec)))
    return pod_spec


def _mpirun(spec: NcclJobSpec, hosts: list[str] | None = None) -> list[str]:
    np = spec.nodes * spec.gpus_per_node
    cmd = ["mpirun", "--allow-run-as-root", "-np", str(np), "-bind-to", "none",
           "-map-by", "slot"]
    if hosts is not None:
        cmd += ["-H", ",".join(f"{h}:{spec.gpus_per_node}" for h in hosts),
                "-mca", "plm_rsh_args", f"-p {SSH_PORT} -o StrictHostKeyChecking=no"]
    for key in sorted(spec.env):
        cmd += ["-x", key]
    return cmd + _perf_cmd(spec)


def _rank_container(spec: NcclJobSpec, name: str, command: list[str] | None) -> dict[str, Any]:
    c: dict[str, Any] = {
        "name": name,
        "image": spec.image,
        "env": [{"name": k, "value": v} for k, v in spec.env.items()],
        "securityContext": {"capabilities": {"add": ["IPC_LOCK"]}},
        "resources": {"limits": {spec.resource: 1, "nvidia.com/gpu": spec.gpus_per_node}},
    }
    if command is not None:
        c["command"] = command
    return c


# The MPI Operator only mounts the ssh keys; the workers must run sshd themselves, in the
# foreground, as its examples do (examples/v2beta1/pi: `/usr/sbin/sshd -De`). Root needs the
# privilege separation directory, which an image may lack.
WORKER_SSHD = ["/bin/sh", "-c", "mkdir -p /run/sshd && exec /usr/sbin/sshd -De"]


def mpijob(spec: NcclJobSpec) -> dict[str, Any]:
    """A kubeflow.org/v2beta1 MPIJob: one launcher (no GPU) and `nodes` workers."""
    check_dns1123_label(spec.name, field="job name")
    worker_meta = {"labels": _labels(spec),
                   "annotations": {labels.NETWORKS_ANNOTATION: spec.nad}}
    launcher = {"name": "launcher", "image": spec.image, "command": _mpirun(spec),
                "env": [{"name": k, "value": v} for k, v in spec.env.items()]}
    return {
        "apiVersion": "kubeflow.org/v2beta1",
        "kind": "MPIJob",
        "metadata": {"name": spec.name, "namespace": spec.namespace, "labels": _labels(spec)},
        "spec": {
            "slotsPerWorker": spec.gpus_per_node,
            "runPolicy": {"cleanPodPolicy": "Running", "backoffLimit": 0},
            "mpiReplicaSpecs": {
                "Launcher": {"replicas": 1, "template": {
                    "metadata": {"labels": _labels(spec)},
                    "spec": {"containers": [launcher]}}},
                "Worker": {"replicas": spec.nodes, "template": {
                    "metadata": worker_meta,
                    "spec": _with_helper({
                        "affinity": _spread(spec),
                        "containers": [_rank_container(spec, "worker", WORKER_SSHD)],
                    }, spec)}},
            },
        },
    }


def _spread(spec: NcclJobSpec) -> dict[str, Any]:
    # one rank group per node: the point is to measure the network between nodes
    return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
        "labelSelector": {"matchLabels": {RUN_LABEL: spec.run}},
        "topologyKey": "kubernetes.io/hostname"}]}}


_SCRIPT = """\
set -eu
mkdir -p /root/.ssh /run/sshd
cp /etc/dualnet-ssh/id_ed25519 /root/.ssh/id_ed25519
cp /etc/dualnet-ssh/id_ed25519.pub /root/.ssh/authorized_keys
chmod 600 /root/.ssh/id_ed25519 /root/.ssh/authorized_keys
ssh-keygen -A >/dev/null
/usr/sbin/sshd -p {port} -o PermitRootLogin=prohibit-password -o StrictModes=no
if [ "$JOB_COMPLETION_INDEX" != "0" ]; then
  while [ ! -f /tmp/dualnet-done ]; do sleep 2; done
  exit 0
fi
for h in {hosts}; do
  until getent hosts "$h" >/dev/null; do sleep 2; done
done
rc=0
{mpirun} || rc=$?
for h in {workers}; do
  ssh -p {port} -o StrictHostKeyChecking=no "$h" touch /tmp/dualnet-done || true
done
exit $rc
"""


def indexed_job(spec: NcclJobSpec, public_key: str, private_key: str) -> list[dict[str, Any]]:
    """Secret (ssh key) + headless Service + Indexed Job; rank 0 runs mpirun."""
    check_dns1123_label(spec.name, field="job name")
    svc = spec.name
    hosts = [f"{spec.name}-{i}.{svc}" for i in range(spec.nodes)]
    script = _SCRIPT.format(port=SSH_PORT, hosts=" ".join(hosts), workers=" ".join(hosts[1:]),
                            mpirun=" ".join(_mpirun(spec, hosts)))
    container = _rank_container(spec, "rank", ["bash", "-c", script])
    container["volumeMounts"] = [{"name": "ssh", "mountPath": "/etc/dualnet-ssh",
                                  "readOnly": True}]
    meta = {"name": spec.name, "namespace": spec.namespace, "labels": _labels(spec)}
    return [
        {"apiVersion": "v1", "kind": "Secret", "metadata": dict(meta), "type": "Opaque",
         "stringData": {"id_ed25519": private_key, "id_ed25519.pub": public_key}},
        {"apiVersion": "v1", "kind": "Service", "metadata": dict(meta),
         "spec": {"clusterIP": "None", "publishNotReadyAddresses": True,
                  "selector": {RUN_LABEL: spec.run}}},
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": dict(meta),
         "spec": {
             "completionMode": "Indexed", "completions": spec.nodes, "parallelism": spec.nodes,
             "backoffLimit": 0,
             "template": {
                 "metadata": {"labels": _labels(spec),
                              "annotations": {labels.NETWORKS_ANNOTATION: spec.nad}},
                 "spec": _with_helper({
                     "subdomain": svc,
                     "restartPolicy": "Never",
                     "affinity": _spread(spec),
                     "containers": [container],
                     "volumes": [{"name": "ssh", "secret": {"secretName": spec.name,
                                                            "defaultMode": 0o400}}],
                 }, spec),
             },
         }},
    ]


def ssh_keypair() -> tuple[str, str]:
    """(public, private) ed25519 key made with ssh-keygen, for the Indexed Job's ranks only."""
    tool = shutil.which("ssh-keygen")
    if tool is None:
        raise HostError("ssh-keygen not found: needed for the Indexed Job fallback",
                        hint="install openssh-client, or install the Kubeflow MPI Operator "
                        "(then dualnet runs an MPIJob)")
    with tempfile.TemporaryDirectory() as d:
        key = Path(d) / "id_ed25519"
        subprocess.run([tool, "-q", "-t", "ed25519", "-N", "", "-C", "dualnet-bench", "-f",
                        str(key)], check=True, capture_output=True)
        return key.with_suffix(".pub").read_text(), key.read_text()


def validate_nodes(nodes: int) -> int:
    if nodes < 2:
        raise UsageError(f"--nodes {nodes}: NCCL across nodes needs at least 2")
    return nodes
