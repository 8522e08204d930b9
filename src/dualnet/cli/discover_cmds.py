"""CLI verbs of the discover layer: `discover`, `show-gids`, `ibdev2netdev`, `topo`.

typer is imported only in `register`: `dualnet discover` with plain arguments runs
`run_discover` without it (dualnet.cli.fastpath)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dualnet.cli.options import DISCOVER, ROOT_HELP
from dualnet.cli.output import OutputFormat, emit
from dualnet.errors import UsageError

if TYPE_CHECKING:
    import typer
    from rich.console import RenderableType

    from dualnet.host.models import HostReport


def register(app: typer.Typer) -> None:
    """Add this layer's verbs to the dualnet app."""
    import typer

    root_opt, output_opt = DISCOVER

    @app.command("discover")
    def discover_cmd(
        root: Path = root_opt.option(),
        output: OutputFormat = output_opt.option(),
    ) -> None:
        """Report the node's NICs, RDMA devices, GPUs, topology, modules, CNI, read from sysfs."""
        run_discover(root=root, output=output)

    @app.command("show-gids")
    def show_gids_cmd(
        dev: str | None = typer.Argument(None, help="RDMA device, e.g. mlx5_0 (default: all)"),
        root: Path = typer.Option(Path("/"), "--root", help=ROOT_HELP),
    ) -> None:
        """GID tables in the layout of MOFED's show_gids."""
        from dualnet.host.views import show_gids_text

        report = _report(root)
        if dev is not None and report.rdma_device(dev) is None:
            known = ", ".join(d.name for d in report.rdma_devices) or "none"
            raise UsageError(f"DEV: no RDMA device {dev!r}",
                             hint=f"devices on this node: {known}")
        typer.echo(show_gids_text(report, dev), nl=False)

    @app.command("ibdev2netdev")
    def ibdev2netdev_cmd(
        root: Path = typer.Option(Path("/"), "--root", help=ROOT_HELP),
        verbose: bool = typer.Option(False, "-v", "--verbose", help="PCI address, id, fw, state"),
    ) -> None:
        """RDMA device -> netdev map in the layout of ibdev2netdev."""
        from dualnet.host.views import ibdev2netdev_text

        typer.echo(ibdev2netdev_text(_report(root), verbose), nl=False)

    @app.command("topo")
    def topo_cmd(root: Path = typer.Option(Path("/"), "--root", help=ROOT_HELP)) -> None:
        """GPU/NIC PCI relation matrix in the layout of `nvidia-smi topo -m`."""
        from dualnet.host.views import topo_text

        typer.echo(topo_text(_report(root)), nl=False)


def check_root(root: Path) -> Path:
    """A usable --root: an existing directory with sys/ or proc/ below it."""
    if not root.exists():
        raise UsageError(f"--root: {str(root)!r} does not exist",
                         hint="give a directory holding sys/ and proc/, or leave --root out for /")
    if not root.is_dir():
        raise UsageError(f"--root: {str(root)!r} is not a directory",
                         hint="give a directory holding sys/ and proc/")
    if not (root / "sys").is_dir() and not (root / "proc").is_dir():
        raise UsageError(f"--root: {str(root)!r} has neither sys/ nor proc/",
                         hint="point --root at the directory that contains sys/ and proc/")
    return root


def _report(root: Path) -> HostReport:
    from dualnet.host.discover import discover

    return discover(check_root(root))


def run_discover(root: Path, output: OutputFormat) -> int:
    """`dualnet discover`, after its arguments are parsed (by typer or the fast path)."""
    report = _report(root)
    emit(report, output, lambda: discover_table(report))
    return 0


# --- the table -------------------------------------------------------------------------------


def _s(v: object) -> str:
    # values come from files anyone could have written: never let them act as rich markup
    from rich.markup import escape

    return "-" if v is None or v == "" or v == [] else escape(str(v))


def discover_table(report: HostReport) -> RenderableType:
    """The whole report as rich tables (what `dualnet discover` prints)."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    parts: list[RenderableType] = []
    parts.append(Text.assemble(
        ("node ", "bold"), _s(report.hostname), "  kernel ", _s(report.kernel),
        "  arch ", _s(report.arch), "  root ", _s(report.root)))

    nics = Table(title="NICs", title_justify="left", expand=False)
    for c in ("PCI", "ids", "model", "driver", "PF/VF", "netdev", "MAC", "MTU", "state",
              "speed", "NUMA", "SR-IOV", "RDMA"):
        nics.add_column(c, overflow="fold")
    for n in report.nics:
        kind = f"VF{n.vf_index} of {n.pf_pci_address}" if n.is_vf else "PF"
        sriov = (f"{n.sriov_numvfs}/{n.sriov_totalvfs}" if n.sriov_totalvfs is not None else "-")
        speed = f"{n.speed_mbps // 1000}G" if n.speed_mbps else "-"
        nics.add_row(_s(n.pci_address), _s(f"{n.vendor_id}:{n.device_id}"), _s(n.model),
                     _s(n.driver), _s(kind), _s(", ".join(n.netdevs)), _s(n.mac), _s(n.mtu),
                     _s(n.operstate), speed, _s(n.numa_node), sriov,
                     _s(", ".join(n.rdma_devices)))
    parts.append(nics)

    if report.rdma_devices:
        rd = Table(title="RDMA devices and ports", title_justify="left")
        for c in ("device", "PCI", "fw", "node GUID", "port", "state", "phys", "link", "rate",
                  "netdev", "MTU act/max", "GIDs", "RoCEv2 IPv4 GID", "char devs"):
            rd.add_column(c, overflow="fold")
        for d in report.rdma_devices:
            for p in d.ports or []:
                link = "RoCE" if p.link_layer and p.link_layer.value == "Ethernet" else _s(
                    p.link_layer.value if p.link_layer else None)
                rd.add_row(_s(d.name), _s(d.pci_address), _s(d.fw_ver), _s(d.node_guid),
                           str(p.number), p.state.value, p.phys_state.value, link, _s(p.rate),
                           _s(p.netdev), f"{_s(p.active_mtu)}/{_s(p.max_mtu)}", str(len(p.gids)),
                           _s(p.roce_v2_ipv4_gid_index), _s(" ".join(d.char_devices)))
        parts.append(rd)
    else:
        parts.append(Text("RDMA devices: none (no /sys/class/infiniband entries)", style="yellow"))

    if report.gpus:
        g = Table(title="GPUs and GPU x NIC PCI relation", title_justify="left")
        g.add_column("GPU")
        g.add_column("PCI")
        g.add_column("name")
        g.add_column("NUMA")
        nic_names = sorted({t.nic for t in report.topology},
                           key=lambda n: [d.name for d in report.rdma_devices].index(n))
        for name in nic_names:
            g.add_column(name)
        rel = {(t.gpu, t.nic): t.relation.value for t in report.topology}
        for gpu in report.gpus:
            gid = f"GPU{gpu.index}"
            g.add_row(gid, _s(gpu.pci_address), _s(gpu.name), _s(gpu.numa_node),
                      *[rel.get((gid, name), "-") for name in nic_names])
        parts.append(g)

    k = Table(title="Kernel modules and RDMA netns", title_justify="left")
    k.add_column("module")
    k.add_column("state")
    k.add_column("used by")
    from dualnet.host.discover import RELEVANT_MODULES

    for m in report.modules:
        if m.name not in RELEVANT_MODULES:
            continue
        state = "loaded" if m.loaded else ("built-in" if m.builtin else "[red]absent[/]")
        k.add_row(_s(m.name), state, _s(",".join(m.used_by)))
    k.add_row("netns mode", _s(report.netns_mode.value if report.netns_mode else None), "")
    parts.append(k)

    misc = Table(title="Management, memory, CNI", title_justify="left", show_header=False)
    misc.add_column("what")
    misc.add_column("value")
    mg = report.management
    misc.add_row("management", _s(f"{mg.name} {' '.join(mg.addresses)} via {mg.gateway or '-'}")
                 if mg else "- (no default route)")
    misc.add_row("/dev/infiniband", _s(" ".join(report.infiniband_char_devices)))
    misc.add_row("hugepages", _s(", ".join(f"{h.size_kb}kB: {h.total} (free {_s(h.free)})"
                                          for h in report.hugepages)))
    misc.add_row("memlock", "unlimited" if report.memlock_kb == -1 else
                 (f"{report.memlock_kb} KiB" if report.memlock_kb is not None else "-"))
    if report.cni is not None:
        misc.add_row("CNI bin dirs", _s(" ".join(report.cni.bin_dirs)))
        misc.add_row("CNI plugins", _s(" ".join(report.cni.plugins)))
        chain = [f"{f.name} ({','.join(f.plugin_types) or f.error or '?'})"
                 for f in report.cni.conf_files]
        misc.add_row(_s(f"CNI configs {report.cni.conf_dir or '-'}"), _s(" -> ".join(chain)))
        if report.cni.k3s_flannel_builtin is not None:
            misc.add_row("k3s built-in flannel", "yes" if report.cni.k3s_flannel_builtin else "no")
    parts.append(misc)

    if report.problems:
        pr = Table(title=f"Could not read ({len(report.problems)})", title_justify="left",
                   style="yellow")
        pr.add_column("path")
        pr.add_column("error")
        for prob in report.problems[:50]:
            pr.add_row(_s(prob.path), _s(prob.error))
        if len(report.problems) > 50:
            pr.add_row(f"... {len(report.problems) - 50} more", "")
        parts.append(pr)
    return Group(*parts)
