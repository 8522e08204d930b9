"""The options of `discover` and `doctor`, declared once: their typer commands are built from
these tables (discover_cmds, doctor_cmds) and `dualnet.cli.fastpath` parses argv with them."""

from __future__ import annotations

from pathlib import Path

from dualnet.cli.fastpath import FastVerb, Opt, read_count, read_path
from dualnet.cli.output import OUTPUT_HELP, OutputFormat
from dualnet.modes import Mode

ROOT_HELP = "filesystem root to read sysfs/procfs from (a fixture tree, a chroot)"

OUTPUT = Opt("output", ("--output", "-o"), OUTPUT_HELP, default=OutputFormat.TABLE,
             read=OutputFormat)

DISCOVER: tuple[Opt, ...] = (
    Opt("root", ("--root",), ROOT_HELP, default=Path("/"), read=read_path),
    OUTPUT,
)

DOCTOR_ROOT = Opt("root", ("--root",), "read a live sysfs/procfs tree under DIR (default /)",
                  read=read_path)
DOCTOR_FROM = Opt(
    "from_dir", ("--from",),
    "read saved tool outputs from DIR (lsmod.txt, ibv_devinfo.txt, rdma_link.txt, "
    "rdma_system.txt, nvidia-smi_topo.txt, ...)",
    read=read_path)
DOCTOR_MODE = Opt("mode", ("--mode",), "the network mode you plan; enables its specific checks",
                  read=Mode)
DOCTOR_RDMA_CNI = Opt("rdma_cni", ("--rdma-cni",),
                      "namespace-aware RDMA (RDMA CNI, netns exclusive)")
DOCTOR_DPDK = Opt("dpdk", ("--dpdk",), "check DPDK needs (hugepages)")
DOCTOR_VFS = Opt("vfs", ("--vfs",), "VFs wanted per PF", read=read_count)
DOCTOR_STRICT = Opt(
    "strict", ("--strict",),
    "with --from: stop (exit 2) at the first file that cannot be read, instead of diagnosing "
    "the rest and reporting the file as a finding")
DOCTOR_OVS = Opt("ovs_offload", ("--ovs-offload",),
                 "OVS hardware offload expected: check switchdev mode and hw-tc-offload")
DOCTOR_DRA = Opt(
    "dra", ("--dra",),
    "devices go to pods through DRA (dranet): check resource.k8s.io/v1 is served "
    "(kubectl_api_resources.txt in --from), the runtime's NRI socket, and the ResourceSlices "
    "(resourceslices.json) against the node's facts")

DOCTOR: tuple[Opt, ...] = (DOCTOR_ROOT, DOCTOR_FROM, DOCTOR_MODE, DOCTOR_RDMA_CNI, DOCTOR_DPDK,
                           DOCTOR_VFS, DOCTOR_STRICT, DOCTOR_OVS, DOCTOR_DRA, OUTPUT)

FAST_VERBS: tuple[FastVerb, ...] = (
    FastVerb("discover", DISCOVER, "discover_cmds:run_discover"),
    FastVerb("doctor", DOCTOR, "doctor_cmds:run_doctor_verb"),
)
