"""Kernel-side steps: modules, RDMA netns mode, SR-IOV VF count, PCI driver binding.

Each handler is check -> act -> verify: it reads the state (sysfs under root), returns UNCHANGED
when the node already matches, otherwise acts through the host edge (which only records in a dry
run), then reads the state back and fails when it does not match.
"""

from __future__ import annotations

from dualnet.plan.steps import BindDriver, CreateVfs, LoadModules, SetNetnsMode
from dualnet.prepare.context import StepContext, StepError
from dualnet.prepare.host import HostWriteError
from dualnet.prepare.journal import Action
from dualnet.prepare.outcome import StepStatus

MODULES_LOAD_FILE = "/etc/modules-load.d/dualnet.conf"
NETNS_MODPROBE_FILE = "/etc/modprobe.d/dualnet-rdma.conf"
NETNS_PARAM = "/sys/module/ib_core/parameters/netns_mode"
_MODULES_HEADER = "# written by dualnet prepare: modules the RDMA training network needs at boot"
_NETNS_HEADER = "# written by dualnet prepare: RDMA netns mode at boot (1 = shared, 0 = exclusive)"

Result = tuple[StepStatus, str]


# ---- modules ----------------------------------------------------------------------------------
def module_loaded(ctx: StepContext, name: str) -> bool:
    norm = name.replace("-", "_")
    mods = ctx.host.read("/proc/modules") or ""
    if any(line.split(" ", 1)[0] == norm for line in mods.splitlines()):
        return True
    # Built-in drivers never show in /proc/modules but do have /sys/module/<name>.
    return ctx.host.is_dir(f"/sys/module/{norm}")


def _modules_file(ctx: StepContext, wanted: list[str]) -> str | None:
    """The content dualnet.conf must have, or None when it already lists every module."""
    current = ctx.host.read(MODULES_LOAD_FILE)
    listed = [ln.strip() for ln in (current or "").splitlines()
              if ln.strip() and not ln.lstrip().startswith(("#", ";"))]
    missing = [m for m in wanted if m not in listed]
    if current is not None and not missing:
        return None
    return "\n".join([_MODULES_HEADER, *listed, *missing]) + "\n"


def load_modules(step: LoadModules, ctx: StepContext) -> Result:
    missing = [m for m in step.modules if not module_loaded(ctx, m)]
    content = _modules_file(ctx, step.modules) if step.persist else None
    ctx.checked = True
    if not missing and content is None:
        return StepStatus.UNCHANGED, f"loaded{' and persisted' if step.persist else ''} already"
    for m in missing:
        ctx.must(["modprobe", m])
        ctx.push_undo([Action(op="run", argv=["modprobe", "-r", m])])
    if content is not None:
        ctx.acted = True
        ctx.push_undo(ctx.host.write_file(MODULES_LOAD_FILE, content))
    if ctx.dry_run:
        return StepStatus.WOULD_CHANGE, _what(missing, content)
    still = [m for m in step.modules if not module_loaded(ctx, m)]
    if still:
        raise StepError(f"modprobe succeeded but {', '.join(still)} is not loaded",
                         hint="check `dmesg` for the module's error")
    if content is not None and ctx.host.read(MODULES_LOAD_FILE) != content.rstrip("\n"):
        raise StepError(f"{ctx.host.path(MODULES_LOAD_FILE)} does not read back as written")
    ctx.verified = True
    return StepStatus.CHANGED, _what(missing, content)


def _what(missing: list[str], content: str | None) -> str:
    parts = [f"load {', '.join(missing)}"] if missing else []
    if content is not None:
        parts.append(f"persist in {MODULES_LOAD_FILE}")
    return "; ".join(parts)


# ---- RDMA netns mode --------------------------------------------------------------------------
def read_netns_mode(ctx: StepContext) -> str | None:
    raw = ctx.host.read(NETNS_PARAM)
    if raw is None:
        return None
    return {"Y": "shared", "1": "shared", "N": "exclusive", "0": "exclusive"}.get(raw.strip())


def set_netns_mode(step: SetNetnsMode, ctx: StepContext) -> Result:
    now = read_netns_mode(ctx)
    content = None
    if step.persist:
        want = f"{_NETNS_HEADER}\noptions ib_core netns_mode={1 if step.mode == 'shared' else 0}\n"
        if ctx.host.read(NETNS_MODPROBE_FILE) != want.rstrip("\n"):
            content = want
        ctx.notes.extend(_conflicting_options(ctx))
    ctx.checked = True
    if now is None:
        ctx.notes.append(f"ib_core is not loaded ({NETNS_PARAM} missing): the mode can only be "
                         "persisted now; it applies when ib_core loads")
    if (now is None or now == step.mode) and content is None:
        if now is not None:
            return StepStatus.UNCHANGED, f"netns mode {step.mode}"
        return StepStatus.UNCHANGED, "persisted already" if step.persist else "nothing to set"
    if now is not None and now != step.mode:
        argv = ["rdma", "system", "set", "netns", step.mode]
        try:
            ctx.must(argv)
        except StepError as exc:
            if "busy" in exc.message.lower():
                raise StepError(
                    exc.message,
                    hint="the kernel refuses (EBUSY) while any non-init network namespace exists "
                    "(pods, containers, `ip netns`): drain the node and stop the container "
                    "runtime, "
                    "or persist the option and reboot",
                ) from exc
            raise
        ctx.push_undo([Action(op="run", argv=["rdma", "system", "set", "netns", now])])
    if content is not None:
        ctx.acted = True
        ctx.push_undo(ctx.host.write_file(NETNS_MODPROBE_FILE, content))
    msg = f"netns mode {now or '?'} -> {step.mode}" if now != step.mode else "persist netns mode"
    if ctx.dry_run:
        return StepStatus.WOULD_CHANGE, msg
    if now is not None and read_netns_mode(ctx) != step.mode:
        raise StepError(f"{NETNS_PARAM} reads {read_netns_mode(ctx)!r} after the change, "
                         f"not {step.mode!r}")
    if content is not None and ctx.host.read(NETNS_MODPROBE_FILE) != content.rstrip("\n"):
        raise StepError(f"{ctx.host.path(NETNS_MODPROBE_FILE)} does not read back as written")
    ctx.verified = True
    return StepStatus.CHANGED, msg


def _conflicting_options(ctx: StepContext) -> list[str]:
    d = ctx.host.path("/etc/modprobe.d")
    if not d.is_dir():
        return []
    out = []
    for f in sorted(d.glob("*.conf")):
        if f.name == NETNS_MODPROBE_FILE.rsplit("/", 1)[1]:
            continue
        try:
            text = f.read_text()
        except OSError:
            continue
        if any(ln.split()[:2] == ["options", "ib_core"] and "netns_mode" in ln
               for ln in text.splitlines() if ln.strip()):
            out.append(f"{f} also sets ib_core netns_mode: remove it, or the two may disagree")
    return out


# ---- SR-IOV VFs -------------------------------------------------------------------------------
def _int(ctx: StepContext, rel: str) -> int | None:
    raw = ctx.host.read(rel)
    return int(raw) if raw is not None and raw.strip().isdigit() else None


_ERRNO_HINTS = {
    "EBUSY": "VFs exist already or are in use: dualnet writes 0 first; something still holds them",
    "ERANGE": "more VFs than sriov_totalvfs allows",
    "ENOENT": "the driver cannot configure SR-IOV on this function",
    "EOPNOTSUPP": "the driver cannot configure SR-IOV on this function",
    "ENOMEM": "the kernel could not allocate the VFs (PCI resources; check BIOS SR-IOV setting)",
}


def create_vfs(step: CreateVfs, ctx: StepContext) -> Result:
    dev = f"/sys/class/net/{step.pf}/device"
    if not ctx.host.exists(f"/sys/class/net/{step.pf}"):
        raise StepError(f"no interface {step.pf} under {ctx.host.path('/sys/class/net')}")
    total = _int(ctx, f"{dev}/sriov_totalvfs")
    cur = _int(ctx, f"{dev}/sriov_numvfs")
    if total is None or cur is None:
        raise StepError(f"{step.pf} has no SR-IOV capability (no sriov_totalvfs/sriov_numvfs)",
                         hint="enable SR-IOV in the NIC firmware (mlxconfig SRIOV_EN=1 "
                         "NUM_OF_VFS=N) and in the BIOS, then reboot")
    ctx.checked = True
    if step.num_vfs > total:  # safety refuses first; kept here for direct callers
        raise StepError(f"{step.num_vfs} VFs asked, sriov_totalvfs is {total}")
    ctx.state.planned_numvfs[step.pf] = step.num_vfs
    if cur == step.num_vfs:
        return StepStatus.UNCHANGED, f"{cur} VFs on {step.pf}"
    path = f"{dev}/sriov_numvfs"
    try:
        if cur != 0:
            # The kernel refuses N -> M directly (EBUSY): go through 0, which removes the VFs.
            ctx.write_sysfs(path, "0")
            ctx.notes.append(f"the {cur} existing VFs of {step.pf} were removed and recreated: "
                             "pods using them lost their interfaces")
            ctx.push_undo([Action(op="write_sysfs", path=str(ctx.host.path(path)),
                                  value=str(cur))])
        if step.num_vfs != 0:
            ctx.write_sysfs(path, str(step.num_vfs))
            restore = [Action(op="write_sysfs", path=str(ctx.host.path(path)), value="0")]
            if cur != 0:
                restore.append(Action(op="write_sysfs", path=str(ctx.host.path(path)),
                                      value=str(cur)))
                ctx.undo_groups.pop()
            ctx.push_undo(restore)
    except HostWriteError as exc:
        raise StepError(str(exc), hint=_ERRNO_HINTS.get(exc.errno_name)) from exc
    msg = f"VFs on {step.pf}: {cur} -> {step.num_vfs}"
    if ctx.dry_run:
        return StepStatus.WOULD_CHANGE, msg
    after = _int(ctx, path)
    if after != step.num_vfs:
        raise StepError(f"{ctx.host.path(path)} reads {after} after writing {step.num_vfs}")
    ctx.verified = True
    return StepStatus.CHANGED, msg


# ---- PCI driver binding -----------------------------------------------------------------------
def bound_driver(ctx: StepContext, pci: str) -> str | None:
    link = ctx.host.path(f"/sys/bus/pci/devices/{pci}/driver")
    try:
        return link.resolve(strict=True).name if link.is_symlink() or link.exists() else None
    except OSError:
        return None


def bind_driver(step: BindDriver, ctx: StepContext) -> Result:
    pci = step.pci_address
    if not ctx.host.exists(f"/sys/bus/pci/devices/{pci}"):
        raise StepError(f"no PCI device {pci} under {ctx.host.path('/sys/bus/pci/devices')}")
    cur = bound_driver(ctx, pci)
    ctx.checked = True
    if cur == step.driver:
        return StepStatus.UNCHANGED, f"{pci} bound to {step.driver}"
    drivers = "/sys/bus/pci/drivers"
    try:
        if cur is not None:
            ctx.write_sysfs(f"{drivers}/{cur}/unbind", pci)
            ctx.push_undo([Action(op="write_sysfs", path=str(ctx.host.path(
                f"{drivers}/{cur}/bind")), value=pci)])
        # driver_override makes the bind stick to this driver even if its id table lacks the device
        override = f"/sys/bus/pci/devices/{pci}/driver_override"
        old_override = ctx.host.read(override)
        ctx.write_sysfs(override, step.driver)
        ctx.push_undo([Action(op="write_sysfs", path=str(ctx.host.path(override)),
                              value=old_override if old_override not in (None, "(null)") else "")])
        ctx.write_sysfs(f"{drivers}/{step.driver}/bind", pci)
        ctx.push_undo([Action(op="write_sysfs", path=str(ctx.host.path(
            f"{drivers}/{step.driver}/unbind")), value=pci)])
    except HostWriteError as exc:
        raise StepError(str(exc), hint="is the driver module loaded? (modprobe it first)") from exc
    msg = f"{pci}: {cur or 'unbound'} -> {step.driver}"
    if ctx.dry_run:
        return StepStatus.WOULD_CHANGE, msg
    after = bound_driver(ctx, pci)
    if after != step.driver:
        raise StepError(f"{pci} is bound to {after or 'nothing'} after binding {step.driver}")
    ctx.verified = True
    return StepStatus.CHANGED, msg
