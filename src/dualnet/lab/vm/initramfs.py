"""The guest's initramfs: static busybox, the 9p modules (decompressed: busybox's insmod reads
no .ko.xz) and an /init that mounts the host's / read-only over 9p, mounts the run's writable
share at the same path it has on the host, and chroots into the host's root to start the agent.
After the chroot the guest runs the host's own ip, rdma, rdma-core, perftest and CNI plugins.

Built with the `cpio` tool (newc, as the kernel reads it) and cached next to the kernel, keyed
by the content of what goes in."""

from __future__ import annotations

import hashlib
import lzma
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from dualnet.errors import HostError
from dualnet.lab.vm.kernel import Kernel, cache_dir

BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")
# 9p over virtio, in load order; virtio_pci and virtio_console are built into Debian's kernel
NINEP_MODULES = ("fs/netfs/netfs", "net/9p/9pnet", "net/9p/9pnet_virtio", "fs/9p/9p")
HOST_TAG = "hostroot"
WORK_TAG = "dnwork"

# PID 1. `dualnet.work=` (kernel command line) names the writable share's host path.
INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in netfs 9pnet 9pnet_virtio 9p; do
  insmod /lib/9p/$m.ko || echo "dualnet-init: insmod $m failed"
done
WORK=$(sed -n 's/.*dualnet\.work=\([^ ]*\).*/\1/p' /proc/cmdline)
mkdir -p /host
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot /host \
  || { echo "dualnet-init: cannot mount the host root"; poweroff -f; }
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev
mkdir -p /host/dev/pts /host/dev/shm
mount -t devpts devpts /host/dev/pts
mount -t tmpfs shm /host/dev/shm
mount -t tmpfs run /host/run
mount -t tmpfs tmp /host/tmp
mount -t tmpfs varlib /host/var/lib
mkdir -p "/host$WORK"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 dnwork "/host$WORK" \
  || { echo "dualnet-init: cannot mount the work share"; poweroff -f; }
exec chroot /host /bin/sh "$WORK/agent.sh"
"""


def find_busybox() -> Path:
    for cand in BUSYBOX_CANDIDATES:
        p = Path(cand)
        if p.is_file():
            return p
    raise HostError("busybox is not installed (the VM's initramfs is built from it)",
                    hint="apt-get install busybox-static")


def _module_file(kernel: Kernel, stem: str) -> Path:
    mods = kernel.modules_dir
    assert mods is not None
    for ext in (".ko.xz", ".ko", ".ko.zst", ".ko.gz"):
        p = mods / "kernel" / f"{stem}{ext}"
        if p.is_file():
            return p
    raise HostError(f"{stem}.ko not found under {mods}/kernel",
                    hint="the kernel's module tree must hold 9p (fs/9p, net/9p, fs/netfs)")


def _decompress(src: Path) -> bytes:
    data = src.read_bytes()
    if src.name.endswith(".xz"):
        return lzma.decompress(data)
    if src.name.endswith(".gz"):
        import gzip

        return gzip.decompress(data)
    if src.name.endswith(".zst"):
        raise HostError(f"{src}: zstd-compressed modules are not supported; decompress them")
    return data


def build_initramfs(kernel: Kernel) -> Path:
    """The initramfs for `kernel` (cached); the user's own `--initrd` when given."""
    if kernel.initrd is not None:
        return kernel.initrd
    busybox = find_busybox()
    modules = [_module_file(kernel, m) for m in NINEP_MODULES]
    key = hashlib.sha256(INIT.encode())
    for p in (busybox, *modules):
        key.update(p.name.encode())
        key.update(str(p.stat().st_size).encode())
        key.update(str(p.stat().st_mtime_ns).encode())
    out = cache_dir() / f"initramfs-{kernel.release}-{key.hexdigest()[:16]}.cpio.gz"
    if out.is_file():
        return out
    if shutil.which("cpio") is None:
        raise HostError("cpio is not installed (the VM's initramfs is built with it)",
                        hint="apt-get install cpio")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dualnet-initramfs-") as tmp:
        root = Path(tmp)
        for d in ("bin", "dev", "proc", "sys", "lib/9p", "host"):
            (root / d).mkdir(parents=True)
        shutil.copy2(busybox, root / "bin" / "busybox")
        for mod in modules:
            stem = mod.name.split(".ko")[0]
            (root / "lib" / "9p" / f"{stem}.ko").write_bytes(_decompress(mod))
        init = root / "init"
        init.write_text(INIT)
        init.chmod(0o755)
        files = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
        partial = out.with_suffix(f".{os.getpid()}.partial")
        with partial.open("wb") as fh:
            cpio = subprocess.Popen(["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0"],
                                    cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            gz = subprocess.Popen(["gzip", "-1"], stdin=cpio.stdout, stdout=fh)
            assert cpio.stdin is not None and cpio.stdout is not None
            cpio.stdout.close()
            cpio.stdin.write(("\n".join(files) + "\n").encode())
            cpio.stdin.close()
            if cpio.wait() != 0 or gz.wait() != 0:
                partial.unlink(missing_ok=True)
                raise HostError("building the initramfs with cpio failed")
        partial.rename(out)
    return out
