"""Build a HostReport from a folder of saved tool outputs (`dualnet doctor --from DIR`).

Accepted file names (case-insensitive; `-`, `_` and spaces are interchangeable; extension `.txt`,
`.out`, `.log` or none):

| file | content |
|---|---|
| `ibv_devinfo` (`ibv_devinfo_v`, `ibv_devinfo_l`) | `ibv_devinfo` / `-v` / `-l` |
| `ibv_devices` | `ibv_devices` |
| `rdma_link` | `rdma link` |
| `rdma_dev` | `rdma dev` |
| `rdma_system` (`netns_mode`) | `rdma system`, or the Y/N of ib_core's `netns_mode` parameter |
| `lsmod` | `lsmod` or `lsmod | grep ...` |
| `nvidia-smi_topo` (`nvidia_smi_topo`, `topo`, `topo_m`) | `nvidia-smi topo -m` |
| `show_gids` | `show_gids` |
| `ibdev2netdev` (`ibdev2netdev_v`) | `ibdev2netdev` / `-v` |
| `lspci` (`lspci_nn`, `lspci_v`) | `lspci` / `-nn` / `-v` |
| `ip_link` | `ip [-d] link show` |
| `ip_addr` (`ip_a`) | `ip addr` |
| `ip_route` (`ip_r`) | `ip route` |
| `hostname` | `hostname` |
| `uname` | `uname -a` or `uname -r` |
| `dev_infiniband` (`ls_dev_infiniband`) | `ls /dev/infiniband` |
| `kubectl_node` (`node`, `.json`, `.yaml`) | `kubectl describe node`, `get node -o yaml|json` |
| `devlink_eswitch` (`devlink_dev_eswitch_show`) | `devlink dev eswitch show` |
| `devlink_port` (`devlink_port_show`) | `devlink port show` (text or `-j`) |
| `kubectl_api_resources` (`api_versions`, `apis`) | `kubectl api-resources`, `api-versions`, |
|  | `kubectl get --raw /apis` (JSON) |
| `resourceslices` (`kubectl_get_resourceslices`) | `kubectl get resourceslices -o json|yaml` |
| `device_plugin_config` (`sriovdp_config`, `rdma_devices`, `configmaps`, `nic_cluster_policy`) | |
|  | `kubectl -n kube-system get configmap sriovdp-config rdma-devices -o yaml`, a |
|  | NicClusterPolicy, or a plugin's config.json |

Facts are merged per RDMA device and port across files: `rdma link` gives state and netdev,
`ibv_devinfo` firmware, part id and MTUs, `show_gids` the GID table, `ibdev2netdev -v` the PCI
address. A file with another name is listed in `report.problems`. Best effort by default: a
known file that cannot be read or parsed at all is a `refused` problem (with its reason) and the
other files still make the report; each line a parser skipped is a `skipped` problem naming the
file and line. `strict=True` (`doctor --from DIR --strict`) raises the refused file's error
instead, as earlier releases did.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Iterable
from pathlib import Path

from dualnet.errors import UsageError
from dualnet.host.discover import natural_key
from dualnet.host.models import (
    HostReport,
    KubeNode,
    ManagementInterface,
    NetnsMode,
    Nic,
    RdmaDevice,
    RdmaPort,
    ReadProblem,
    TopoEntry,
)
from dualnet.host.roce import roce_v2_ipv4_gid_index
from dualnet.inputs import read_text
from dualnet.parse._text import ParseWarning, collecting
from dualnet.parse.api_resources import parse_api_resources
from dualnet.parse.device_plugin_config import parse_device_plugin_config
from dualnet.parse.devlink import parse_devlink_eswitch, parse_devlink_port
from dualnet.parse.errors import ParseError
from dualnet.parse.eswitch_facts import eswitch_facts, representor_names
from dualnet.parse.ibdev2netdev import Ibdev2netdevRow, parse_ibdev2netdev_rows, rows_to_devices
from dualnet.parse.ibv_devices import parse_ibv_devices
from dualnet.parse.ibv_devinfo import parse_ibv_devinfo, verbs_messages
from dualnet.parse.ip import IpInterface, parse_ip_addr, parse_ip_link, parse_ip_route
from dualnet.parse.kubectl_node import parse_kubectl_node
from dualnet.parse.lsmod import parse_lsmod
from dualnet.parse.lspci import LspciResult, parse_lspci
from dualnet.parse.nvidia_smi_topo import TopoResult, parse_nvidia_smi_topo
from dualnet.parse.rdma import parse_rdma_dev, parse_rdma_link, parse_rdma_system
from dualnet.parse.registry import normalize
from dualnet.parse.resource_slices import parse_resource_slices
from dualnet.parse.show_gids import parse_show_gids

_EXTENSIONS = ("", ".txt", ".out", ".log", ".json", ".yaml", ".yml")

# canonical key -> accepted normalized stems
FILE_NAMES: dict[str, tuple[str, ...]] = {
    "ibv_devinfo": ("ibv_devinfo", "ibv_devinfo_v", "ibv_devinfo_l"),
    "ibv_devices": ("ibv_devices",),
    "rdma_link": ("rdma_link", "rdma_link_show"),
    "rdma_dev": ("rdma_dev", "rdma_dev_show"),
    "rdma_system": ("rdma_system", "rdma_system_show", "netns_mode"),
    "lsmod": ("lsmod",),
    "nvidia_smi_topo": ("nvidia_smi_topo", "nvidia_smi_topo_m", "topo", "topo_m"),
    "show_gids": ("show_gids",),
    "ibdev2netdev": ("ibdev2netdev", "ibdev2netdev_v"),
    "lspci": ("lspci", "lspci_nn", "lspci_v", "lspci_vvv"),
    "ip_link": ("ip_link", "ip_d_link", "ip_link_show"),
    "ip_addr": ("ip_addr", "ip_a", "ip_address"),
    "ip_route": ("ip_route", "ip_r"),
    "hostname": ("hostname",),
    "uname": ("uname", "uname_a", "uname_r"),
    "dev_infiniband": ("dev_infiniband", "ls_dev_infiniband"),
    "kubectl_node": ("kubectl_node", "kubectl_describe_node", "kubectl_get_node", "node"),
    "devlink_eswitch": ("devlink_eswitch", "devlink_dev_eswitch", "devlink_dev_eswitch_show"),
    "devlink_port": ("devlink_port", "devlink_port_show"),
    "kubectl_api_resources": ("kubectl_api_resources", "api_resources", "kubectl_api_versions",
                              "api_versions", "apis", "kubectl_get_raw_apis"),
    "resourceslices": ("resourceslices", "resource_slices", "kubectl_get_resourceslices"),
    "device_plugin_config": ("device_plugin_config", "device_plugin_configs", "sriovdp_config",
                             "rdma_devices", "configmaps", "nic_cluster_policy",
                             "nicclusterpolicy"),
}

_STEM_TO_KEY = {stem: key for key, stems in FILE_NAMES.items() for stem in stems}


def classify(name: str) -> str | None:
    """File name -> canonical key, or None when the name is not one dualnet reads."""
    lower = name.lower()
    for ext in sorted(_EXTENSIONS, key=len, reverse=True):
        if ext and lower.endswith(ext):
            lower = lower[: -len(ext)]
            break
    return _STEM_TO_KEY.get(normalize(lower))


# --- merging ------------------------------------------------------------------------------------


def _field_names(cls: type[RdmaPort | RdmaDevice]) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _merge_port(base: RdmaPort, other: RdmaPort) -> None:
    for field in _field_names(RdmaPort):
        if field in ("number", "gids", "roce_v2_ipv4_gid_index"):
            continue
        mine, theirs = getattr(base, field), getattr(other, field)
        if field in ("state", "phys_state"):
            if mine.value == "UNKNOWN" and theirs.value != "UNKNOWN":
                setattr(base, field, theirs)
                if field == "state":
                    base.state_read = True
        elif field == "state_read":
            base.state_read = base.state_read or theirs
        elif mine is None and theirs is not None:
            setattr(base, field, theirs)
    if not base.gids and other.gids:
        base.gids = list(other.gids)


def _merge_device(base: RdmaDevice, other: RdmaDevice) -> None:
    for field in _field_names(RdmaDevice):
        if field in ("name", "ports", "netdevs", "char_devices"):
            continue
        if getattr(base, field) is None and getattr(other, field) is not None:
            setattr(base, field, getattr(other, field))
    for name in other.netdevs:
        if name not in base.netdevs:
            base.netdevs.append(name)
    for port in other.ports:
        mine = next((p for p in base.ports if p.number == port.number), None)
        if mine is None:
            base.ports.append(copy.deepcopy(port))
        else:
            _merge_port(mine, port)


def merge_devices(sources: Iterable[list[RdmaDevice]]) -> list[RdmaDevice]:
    """Merge device lists, earlier lists winning per field; ports merged by number."""
    merged: dict[str, RdmaDevice] = {}
    for devices in sources:
        for dev in devices:
            if dev.name in merged:
                _merge_device(merged[dev.name], dev)
            else:
                merged[dev.name] = copy.deepcopy(dev)
    out = sorted(merged.values(), key=lambda d: natural_key(d.name))
    for dev in out:
        dev.ports.sort(key=lambda p: p.number)
        for port in dev.ports:
            port.roce_v2_ipv4_gid_index = roce_v2_ipv4_gid_index(port.gids)
            if port.netdev and port.netdev not in dev.netdevs:
                dev.netdevs.append(port.netdev)
    return out


# ASCII digits, bounded runs: int() then never sees "²" or a 10,000-digit run from a tool output
_PREDICTABLE = re.compile(
    r"^(?:en|ib)(?:P([0-9]{1,5}))?p([0-9]{1,3})s([0-9]{1,3})(?:f([0-9]{1,3}))?(?:np[0-9]{1,3})?$")


def pci_from_ifname(name: str) -> str | None:
    """PCI address a systemd predictable interface name encodes (numbers are decimal)."""
    m = _PREDICTABLE.match(name)
    if m is None:
        return None
    domain, bus, slot, func = (int(g) if g else 0 for g in m.groups())
    if domain > 0xFFFF or bus > 0xFF or slot > 0x1F or func > 7:
        return None
    return f"{domain:04x}:{bus:02x}:{slot:02x}.{func}"


def _link_nics(
    nics: list[Nic],
    devices: list[RdmaDevice],
    interfaces: list[IpInterface],
    rows: list[Ibdev2netdevRow],
) -> None:
    by_pci = {n.pci_address: n for n in nics}
    # netdev -> PCI address, from `ip -d link` (parentdev) and `ibdev2netdev -v`.
    netdev_pci: dict[str, str] = {}
    for iface in interfaces:
        if iface.parentbus in (None, "pci") and iface.parentdev:
            netdev_pci[iface.name] = iface.parentdev
    for row in rows:
        if row.pci_address:
            netdev_pci.setdefault(row.netdev, row.pci_address)
    # Last resort: systemd predictable names encode the PCI address (enP2p1s0f0np0 ->
    # 0002:01:00.0), used only when lspci shows a function at exactly that address.
    names = {n for d in devices for n in d.netdevs} | {i.name for i in interfaces}
    for netdev in sorted(names - set(netdev_pci)):
        pci = pci_from_ifname(netdev)
        if pci is not None and pci in by_pci:
            netdev_pci[netdev] = pci
    for netdev, pci in netdev_pci.items():
        nic = by_pci.get(pci)
        if nic is not None and netdev not in nic.netdevs:
            nic.netdevs.append(netdev)
            nic.netdev = nic.netdev or netdev
    for dev in devices:
        if dev.pci_address is None:
            dev.pci_address = next((netdev_pci[n] for n in dev.netdevs if n in netdev_pci), None)
        nic = by_pci.get(dev.pci_address or "")
        if nic is not None and dev.name not in nic.rdma_devices:
            nic.rdma_devices.append(dev.name)
    by_name = {i.name: i for i in interfaces}
    for nic in nics:
        found = by_name.get(nic.netdev or "")
        if found is None:
            continue
        iface = found
        nic.mac = nic.mac or iface.mac
        nic.mtu = nic.mtu or iface.mtu
        nic.operstate = nic.operstate or iface.operstate
        if iface.link_type in ("ether", "infiniband"):
            nic.link_type = "ether" if iface.link_type == "ether" else "infiniband"
        if iface.vfs and nic.sriov_numvfs is None:
            nic.sriov_numvfs = len(iface.vfs)


def _name_topology(
    topo: TopoResult, devices: list[RdmaDevice], problems: list[ReadProblem]
) -> None:
    if not topo.unresolved_nics:
        return
    labels = [n for n in topo.nics if n.startswith("NIC")]
    names = [d.name for d in devices]
    if len(topo.unresolved_nics) == len(topo.nics) == len(names):
        # nvidia-smi numbers NICs in RDMA device order; with no legend, that order is the best
        # available guess. It is said so in problems, since a rule may act on it.
        mapping = dict(zip(labels, names, strict=True))
        topo.topology = [
            TopoEntry(gpu=e.gpu, nic=mapping.get(e.nic, e.nic), relation=e.relation)
            for e in topo.topology
        ]
        problems.append(
            ReadProblem(
                path="nvidia-smi_topo",
                error="no NIC Legend; assumed " + ", ".join(f"{k}={v}" for k, v in mapping.items()),
            )
        )
    else:
        problems.append(
            ReadProblem(
                path="nvidia-smi_topo",
                error="no NIC Legend; NIC columns left unnamed: " + ", ".join(topo.unresolved_nics),
            )
        )


def _refused(file: Path, exc: ParseError) -> ReadProblem:
    where = f"line {exc.line_no}: " if exc.line_no else ""
    hint = f" ({exc.hint})" if exc.hint else ""
    return ReadProblem(path=file.name, error=f"{where}{exc.reason}{hint}", kind="refused",
                       line=exc.line_no or None)


def _skipped(file: Path, warning: ParseWarning) -> ReadProblem:
    return ReadProblem(path=file.name, error=str(warning), kind="skipped",
                       line=warning.line_no or None)


def _in_file(exc: ParseError, file: Path) -> ParseError:
    return ParseError(exc.source, f"{exc.reason} (file {file.name})", line_no=exc.line_no,
                      line=exc.line, hint=exc.hint)


def report_from_dir(path: Path, *, strict: bool = False) -> HostReport:
    """Assemble a HostReport (source='tool-outputs') from the saved outputs in `path`."""
    if not path.exists():
        raise UsageError(f"--from {path}: no such directory")
    if not path.is_dir():
        raise UsageError(f"--from {path}: not a directory", hint="give the folder of saved outputs")
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise UsageError(
            f"--from {path}: the directory is empty",
            hint="save outputs there, e.g. `ibv_devinfo > ibv_devinfo.txt`; accepted names: "
            + ", ".join(sorted(FILE_NAMES)),
        )
    report = HostReport(source="tool-outputs", root=str(path))
    texts: dict[str, tuple[Path, str]] = {}
    for file in files:
        key = classify(file.name)
        if key is None:
            report.problems.append(
                ReadProblem(
                    path=file.name,
                    error="not a file name dualnet reads; expected one of "
                    + ", ".join(sorted(FILE_NAMES)),
                )
            )
            continue
        if key in texts:
            report.problems.append(
                ReadProblem(path=file.name, error=f"second {key} file; {texts[key][0].name} used")
            )
            continue
        try:
            # the one reader of user files (size limit, UTF-8 with a BOM and PowerShell's
            # UTF-16 decoded); lenient: undecodable bytes become U+FFFD and the parsers read
            # what they can, naming the lines they skip
            texts[key] = (file, read_text(file, what="--from", expect="a saved tool output "
                                          "(text)", allow_empty=True, lenient=True))
        except UsageError as exc:
            if strict:
                raise
            report.problems.append(ReadProblem(path=file.name, error=exc.message,
                                               kind="refused"))
    if not texts and not any(p.kind == "refused" for p in report.problems):
        # Nothing to judge: a verdict of "all clear" here would be a lie.
        raise UsageError(
            f"--from {path}: none of its {len(files)} file(s) is a tool output dualnet reads",
            hint="name them like lsmod.txt, ibv_devinfo.txt, rdma_link.txt; accepted names: "
            + ", ".join(sorted(FILE_NAMES)),
        )

    def parsed(key: str) -> object | None:
        file, text = texts[key]
        with collecting() as warnings:
            try:
                value = _PARSERS[key](text)
            except ParseError as exc:
                if strict:
                    raise _in_file(exc, file) from None
                report.problems.append(_refused(file, exc))
                return None
        report.problems.extend(_skipped(file, w) for w in sorted(warnings, key=lambda w: w.line_no))
        return value

    results = {key: parsed(key) for key in list(texts)}

    def devices_of(key: str) -> list[RdmaDevice]:
        value = results.get(key)
        return value if isinstance(value, list) else []

    for key in ("ibv_devinfo", "ibv_devices"):
        if key in texts:
            report.verbs_messages.extend(
                m for m in verbs_messages(texts[key][1]) if m not in report.verbs_messages
            )
    # A tool that lists devices and printed none ("No IB devices found") says there are none.
    report.rdma_devices_listed = any(
        isinstance(results.get(k), list)
        for k in ("ibv_devinfo", "ibv_devices", "rdma_link", "rdma_dev", "show_gids")
    )
    node = results.get("kubectl_node")
    if isinstance(node, KubeNode):
        report.kubernetes_node = node
        report.hostname = report.hostname or node.name

    served = results.get("kubectl_api_resources")
    if isinstance(served, list):
        report.dra.api_versions = served
    published = results.get("resourceslices")
    if isinstance(published, list):
        report.dra.devices = published
    plugins = results.get("device_plugin_config")
    if isinstance(plugins, list):
        report.device_plugins = plugins

    rows_value = results.get("ibdev2netdev")
    rows: list[Ibdev2netdevRow] = rows_value if isinstance(rows_value, list) else []
    report.rdma_devices = merge_devices(
        [
            devices_of("rdma_link"),
            devices_of("show_gids"),
            devices_of("ibv_devinfo"),
            rows_to_devices(rows),
            devices_of("rdma_dev"),
            devices_of("ibv_devices"),
        ]
    )
    modules = results.get("lsmod")
    if isinstance(modules, list):
        report.modules = modules
    netns = results.get("rdma_system")
    if isinstance(netns, NetnsMode):
        report.netns_mode = netns

    lspci = results.get("lspci")
    interfaces: list[IpInterface] = []
    for key in ("ip_link", "ip_addr"):
        value = results.get(key)
        if isinstance(value, list):
            for iface in value:
                known = next((i for i in interfaces if i.name == iface.name), None)
                if known is None:
                    interfaces.append(iface)
                else:  # ip addr adds addresses to what ip -d link said
                    known.addresses = known.addresses or iface.addresses
                    known.parentdev = known.parentdev or iface.parentdev
    if isinstance(lspci, LspciResult):
        report.nics = list(lspci.nics)
        report.gpus = list(lspci.gpus)
    ports_value, esw_value = results.get("devlink_port"), results.get("devlink_eswitch")
    ports = ports_value if isinstance(ports_value, list) else []
    reps = representor_names(interfaces, ports)
    # representors are eswitch ports, not their PF's netdevs (nor RDMA netdevs)
    _link_nics(report.nics, report.rdma_devices,
               [i for i in interfaces if i.name not in reps], rows)
    report.eswitches, report.representors = eswitch_facts(
        report.nics, interfaces, ports, esw_value if isinstance(esw_value, list) else [])

    topo = results.get("nvidia_smi_topo")
    if isinstance(topo, TopoResult):
        _name_topology(topo, report.rdma_devices, report.problems)
        report.topology = topo.topology
        names = {d.name for d in report.rdma_devices}
        strangers = [n for n in dict.fromkeys(e.nic for e in topo.topology) if n not in names]
        if names and strangers:
            # Outputs from different hosts (or a renamed device) would pair GPUs with NICs that
            # the other files do not describe; say so rather than silently mixing them.
            report.problems.append(
                ReadProblem(
                    path="nvidia-smi_topo",
                    error="NICs not in the other files: " + ", ".join(strangers),
                )
            )
        if report.gpus and len(report.gpus) == len(topo.gpus):
            for gpu, tgpu in zip(report.gpus, topo.gpus, strict=True):
                gpu.numa_node = tgpu.numa_node if tgpu.numa_node is not None else gpu.numa_node
                gpu.local_cpulist = tgpu.local_cpulist or gpu.local_cpulist
        else:
            report.gpus = topo.gpus

    routes = results.get("ip_route")
    if isinstance(routes, list):
        report.routes = routes
        default = next((r for r in routes if r.destination in ("0.0.0.0/0", "::/0")), None)
        if default is not None:
            iface = next((i for i in interfaces if i.name == default.interface), None)
            report.management = ManagementInterface(
                name=default.interface,
                addresses=list(iface.addresses) if iface else [],
                gateway=default.gateway,
            )

    if "hostname" in texts:
        words = texts["hostname"][1].split()
        report.hostname = words[0] if words else None
    if "uname" in texts:
        _apply_uname(report, texts["uname"][1])
    if "dev_infiniband" in texts:
        report.infiniband_char_devices = sorted(
            w for w in texts["dev_infiniband"][1].split() if re.fullmatch(r"[a-z_]+\d*", w)
        )
    return report


def _apply_uname(report: HostReport, text: str) -> None:
    words = text.split()
    if len(words) == 1:  # uname -r
        report.kernel = words[0]
    elif len(words) >= 3 and words[0] == "Linux":  # uname -a
        report.hostname = report.hostname or words[1]
        report.kernel = words[2]
        arch = [w for w in words if w in ("x86_64", "aarch64", "ppc64le", "s390x")]
        report.arch = arch[0] if arch else None


def _raw(text: str) -> str:
    """Files read as plain text (hostname, uname, ls) need no parser."""
    return text


_PARSERS = {
    "devlink_eswitch": parse_devlink_eswitch,
    "devlink_port": parse_devlink_port,
    "ibv_devinfo": parse_ibv_devinfo,
    "ibv_devices": parse_ibv_devices,
    "rdma_link": parse_rdma_link,
    "rdma_dev": parse_rdma_dev,
    "rdma_system": parse_rdma_system,
    "lsmod": parse_lsmod,
    "nvidia_smi_topo": parse_nvidia_smi_topo,
    "show_gids": parse_show_gids,
    "ibdev2netdev": parse_ibdev2netdev_rows,
    "lspci": parse_lspci,
    "ip_link": parse_ip_link,
    "ip_addr": parse_ip_addr,
    "ip_route": parse_ip_route,
    "hostname": _raw,
    "uname": _raw,
    "dev_infiniband": _raw,
    "kubectl_node": parse_kubectl_node,
    "kubectl_api_resources": parse_api_resources,
    "resourceslices": parse_resource_slices,
    "device_plugin_config": parse_device_plugin_config,
}
