"""The pod network picture (the guide's architecture figure) drawn from a plan.

The pod has eth0 from the cluster CNI (Multus delegates to it) and net1 from the NAD's plugin,
`/dev/infiniband` for its RDMA device, and the extended resource that gets it there; on the host
side, the management port and the training ports the plan selected. What differs between modes is
only how net1 and the RDMA device reach the pod: that is `MODE_ATTACHMENT`, one entry per mode,
so a new mode is one more entry and the drawing follows.

DRA is a render target, not a mode (`render --target dra`): there the pod asks for a
ResourceClaim instead of an extended resource, a DRA driver (dranet for host-device, the SR-IOV
DRA driver for the SR-IOV modes) puts net1 in the pod, and the GPUDirect claim carries the GPU-NIC
alignment render chose. `DRA_ATTACHMENT` holds what differs per mode; every name and choice in
that picture is taken from render.dra / render.dra_sriov, never worked out here.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Literal

from dualnet.host.models import HostReport
from dualnet.modes import Mode
from dualnet.plan.model import HostPlan, Plan, ResolvedNic
from dualnet.render import dra, dra_sriov, nic_cluster_policy
from dualnet.report.svg import LINE_H, el, svg, text_width, tooltip


@dataclass(frozen=True)
class Attachment:
    """How one mode gives a pod its net1 and its RDMA device."""

    net1: Literal["child", "moved", "vf", "none"]
    """child: a macvlan/ipvlan/IPoIB child of the master; moved: the port's own netdev moves
    into the pod; vf: a VF's netdev; none: no kernel netdev (DPDK drives the VF itself)"""
    net1_text: str  # the link label; {cni} {master} {netdev} are filled in
    rdma: Literal["shared", "own", "none"]
    rdma_text: str
    host_end: str  # what the pod gets on the host side; {netdev} filled in


MODE_ATTACHMENT: dict[Mode, Attachment] = {
    Mode.SHARED_ROCE: Attachment(
        "child", "{cni} child of {master}", "shared",
        "the port's RDMA device, shared by every pod (netns shared)", "{cni} master"),
    Mode.HOST_DEVICE: Attachment(
        "moved", "host-device moves {netdev} into the pod", "own",
        "the port's RDMA device, moved with it", "{netdev} (the whole port)"),
    Mode.SRIOV: Attachment(
        "vf", "sriov: a VF of {netdev}", "own",
        "the VF's own RDMA device", "a VF of {netdev}"),
    Mode.SRIOV_DPDK: Attachment(
        "none", "no net1 netdev: DPDK drives a VF of {netdev} (vfio-pci)", "none",
        "no RDMA device: DPDK uses /dev/vfio", "a VF of {netdev} (vfio-pci)"),
    Mode.IPOIB: Attachment(
        "child", "IPoIB child of {master}", "shared",
        "the HCA's RDMA device, shared by every pod (netns shared)", "IPoIB parent"),
    Mode.IB_SRIOV: Attachment(
        "vf", "ib-sriov: an InfiniBand VF of {netdev}", "own",
        "the VF's own RDMA device", "a VF of {netdev}"),
}

# `render --target dra`: the modes a shipped DRA driver fits (render.dra.check_dra_fits refuses
# the others); {nad} is the NetworkAttachmentDefinition Multus attaches an SR-IOV VF through
DRA_ATTACHMENT: dict[Mode, Attachment] = {
    Mode.HOST_DEVICE: Attachment(
        "moved", "dranet moves {netdev} into the pod", "own",
        "the port's RDMA device, moved with it by dranet", "{netdev} (the whole port)"),
    Mode.SRIOV: Attachment(
        "vf", "SR-IOV DRA: a VF of {netdev}, Multus attaches it via NAD {nad}", "own",
        "the VF's own RDMA device", "a VF of {netdev}"),
    Mode.IB_SRIOV: Attachment(
        "vf", "SR-IOV DRA: an InfiniBand VF of {netdev}, Multus attaches it via NAD {nad}",
        "own", "the VF's own RDMA device", "a VF of {netdev}"),
}

_DP = {True: "rdma-shared-device-plugin", False: "sriov-device-plugin"}


def cluster_cni(report: HostReport | None) -> str | None:
    """The primary CNI the kubelet runs, from the node's CNI config chain (Multus skipped)."""
    if report is None or report.cni is None:
        return None
    for f in report.cni.conf_files:
        types = [t for t in f.plugin_types if not t.startswith("multus")]
        if types and f.error is None:
            return types[0]
    return None


def _ipam(plan: Plan) -> str:
    ipam = plan.spec.spec.ipam
    return ipam.type.value + (f" {ipam.subnet}" if ipam.subnet else "")


@dataclass(frozen=True)
class Chip:
    """One labelled box in the picture; `key` is what the tests and the CSS find it by."""

    key: str
    title: str
    detail: str
    cls: str


@dataclass(frozen=True)
class Link:
    start: str
    end: str
    label: str
    cls: str


@dataclass(frozen=True)
class PodPicture:
    host: str
    mode: Mode
    pod: list[Chip]
    host_side: list[Chip]
    links: list[Link]
    target: str = "plain"


@dataclass(frozen=True)
class DraClaim:
    """The GPUDirect pod's claim as `render --target dra` writes it, for one host."""

    driver: str  # the DRA driver's name (the ResourceSlice / opaque config driver)
    project: str  # who ships it
    template: str  # the ResourceClaimTemplate the pod names
    device_class: str
    requests: str  # what the claim asks for
    alignment: str  # render.dra.gpu_alignment's choice, or "none" for the SR-IOV driver
    align_text: str
    net1: str  # how net1 gets its address


def dra_claim(plan: Plan, host: HostPlan) -> DraClaim:
    """What render chose for this host's GPUDirect claim, from render's own functions (the
    caller has run `render.dra.check_dra_fits`)."""
    ipam = _ipam(plan)
    if plan.mode in (Mode.SRIOV, Mode.IB_SRIOV):
        return DraClaim(
            dra_sriov.SRIOV_DRIVER, "dra-driver-sriov", dra_sriov.claim_template_name(plan),
            dra_sriov.device_class_name(plan), "vf", "none",
            "no GPU-VF constraint: nvidia.com/gpu from the device plugin",
            f"VfConfig ifName {dra_sriov.POD_IFNAME} · NAD {plan.name} · IPAM {ipam}")
    align = dra.gpu_alignment(host)
    if align == "pcieRoot":
        text = f"matchAttribute {dra.PCIE_ROOT}: GPU and NIC under one root"
    elif align == "numaNode":
        text = (f"{dra.DRANET_DRIVER} numaNode == {dra.claim_numa_node(host)}: no GPU shares "
                "the NIC's PCIe root")
    else:
        text = "none: neither PCIe topology nor NUMA node known"
    address = dra.claim_addresses(plan).get((host.hostname, "gdr"))
    return DraClaim(
        dra.DRANET_DRIVER, "dranet", dra.template_name(plan, host, "gdr"),
        dra.device_class_name(plan), f"gpu ({dra.GPU_DEVICE_CLASS}) + nic", align, text,
        f"dranet NetworkConfig · {address or 'DHCP'} (dranet has no IPAM)")


def pod_picture(plan: Plan, host: HostPlan, report: HostReport | None = None, *,
                target: str = "plain") -> PodPicture:
    """The picture's content for one host of the plan as `render --target TARGET` deploys it
    (pure; `pod_svg` draws it). plain and network-operator give the pod the same device plugin
    resource; dra gives it a ResourceClaim."""
    claim = dra_claim(plan, host) if target == "dra" else None
    att = MODE_ATTACHMENT[plan.mode] if claim is None else DRA_ATTACHMENT[plan.mode]
    nics = host.nics
    first = nics[0] if nics else None
    netdev = first.netdev if first else "?"
    fill = {"cni": plan.cni_type, "master": plan.master or netdev, "netdev": netdev,
            "nad": plan.name}
    cni = cluster_cni(report)
    spec = plan.spec.spec
    pod = [Chip("eth0", "eth0", f"cluster network {spec.pod_cidr}", "iface")]
    if claim is not None:
        pod.append(Chip("net1", "net1", claim.net1, "iface"))
    elif att.net1 == "none":
        pod.append(Chip("net1", "VF (no net1)", f"DPDK via /dev/vfio · hugepages "
                        f"{spec.hugepages_1gi}", "iface dpdk"))
    else:
        pod.append(Chip("net1", "net1", f"{plan.cni_type} · IPAM {_ipam(plan)}", "iface"))
    if att.rdma != "none":
        pod.append(Chip("rdma", "/dev/infiniband", "uverbsN, rdma_cm (RDMA verbs, CM)", "rdma"))
    if claim is None:
        pod.append(Chip("resource", "limits", f"{plan.resource_name}: 1", "resource"))
    else:
        pod.append(Chip("claim", "ResourceClaim",
                        f"ResourceClaimTemplate {claim.template} · {claim.requests}",
                        "claim"))
        pod.append(Chip("align", f"alignment: {claim.alignment}", claim.align_text,
                        f"align align-{claim.alignment}"))

    mgmt = host.management_interface
    host_side: list[Chip] = []
    links: list[Link] = []
    mgmt_is_training = any(n.netdev == mgmt for n in nics)
    if mgmt and not mgmt_is_training:
        host_side.append(Chip("mgmt", mgmt, "management port (default route)", "port mgmt"))
    for i, n in enumerate(nics):
        host_side.append(_port_chip(i, n, att.host_end.format(**{**fill, "netdev": n.netdev}),
                                    mgmt))
    if claim is None:
        plugin = _DP[plan.uses_shared_plugin]
        by = " · deployed by the NicClusterPolicy" if (
            target == "network-operator" and _operator_deploys_plugin(plan)) else ""
        host_side.append(Chip("plugin", plugin, f"advertises {plan.resource_name}{by}",
                              "plugin"))
    else:
        host_side.append(Chip("driver", claim.project,
                              f"DRA driver {claim.driver} · DeviceClass {claim.device_class}",
                              "driver"))

    eth0_to = "mgmt" if mgmt and not mgmt_is_training else ("port0" if nics else "mgmt")
    # dranet needs no Multus: eth0 is the cluster CNI's alone
    via = "" if claim is not None and claim.driver == dra.DRANET_DRIVER else "Multus → "
    links.append(Link("eth0", eth0_to,
                      f"{via}{cni or 'cluster CNI'}" + (" (same wire as net1)"
                                                        if mgmt_is_training else ""),
                      "link cluster"))
    for i, _n in enumerate(nics):
        label = att.net1_text.format(**{**fill, "netdev": nics[i].netdev}) if i == 0 else "or"
        links.append(Link("net1", f"port{i}", label, "link net1" + (" alt" if i else "")))
    if att.rdma != "none" and first is not None:
        dev = first.rdma_device or "?"
        links.append(Link("rdma", "port0", f"{dev}: {att.rdma_text}", f"link rdma {att.rdma}"))
    if claim is None:
        links.append(Link("resource", "plugin", "kubelet allocates it", "link resource"))
    else:
        links.append(Link("claim", "driver", f"scheduler allocates it, {claim.project} "
                          "prepares it", "link claim"))
        if claim.alignment != "none" and first is not None:
            links.append(Link("align", "port0", f"{claim.alignment}: {first.nearest_gpu or '?'}",
                              f"link align align-{claim.alignment}"))
    return PodPicture(host.hostname, plan.mode, pod, host_side, links, target)


def _operator_deploys_plugin(plan: Plan) -> bool:
    """Whether `render --target network-operator`'s NicClusterPolicy carries the device plugin."""
    spec = nic_cluster_policy(plan)["spec"]
    return "rdmaSharedDevicePlugin" in spec or "sriovDevicePlugin" in spec


def _port_chip(i: int, n: ResolvedNic, what: str, mgmt: str | None) -> Chip:
    rdma = f"{n.rdma_device} {n.port_state or '?'}" if n.rdma_device else "no RDMA device"
    detail = f"{what} · {n.pci_address} · {n.link_layer} · {rdma}"
    if n.mtu is not None:
        detail += f" · MTU {n.mtu}"
    cls = "port training" + (" mgmt" if n.netdev == mgmt else "")
    title = n.netdev + ("  ★ management" if n.netdev == mgmt else "")
    return Chip(f"port{i}", title, detail, cls)


# --- drawing ----------------------------------------------------------------------------------

_CHIP_H = 2 * LINE_H + 14
_ROW = _CHIP_H + 18


def pod_svg(picture: PodPicture) -> ET.Element:
    # details and wire labels are 11px text
    pod_w = max([240.0] + [max(text_width(c.detail, 11), text_width(c.title)) + 24
                           for c in picture.pod])
    host_w = max([280.0] + [max(text_width(c.detail, 11), text_width(c.title)) + 24
                            for c in picture.host_side])
    gap = max([220.0] + [text_width(lk.label, 11) + 60 for lk in picture.links])
    pod_x, top = 16.0, 44.0
    host_x = pod_x + pod_w + 24 + gap
    rows = max(len(picture.pod), len(picture.host_side))
    height = top + rows * _ROW + 24
    width = host_x + host_w + 24
    root = svg(width, height, cls="podnet",
               label=f"pod network of {picture.host} ({picture.mode.value}, "
                     f"--target {picture.target})",
               data_mode=picture.mode.value, data_host=picture.host, data_target=picture.target)
    el(root, "rect", cls="frame pod-frame", x=pod_x - 8, y=top - 32, width=pod_w + 16,
       height=rows * _ROW + 36, rx=10)
    el(root, "text", "pod", cls="frame-title", x=pod_x, y=top - 12)
    el(root, "rect", cls="frame host-frame", x=host_x - 8, y=top - 32, width=host_w + 16,
       height=rows * _ROW + 36, rx=10)
    el(root, "text", f"host {picture.host}", cls="frame-title", x=host_x, y=top - 12)
    centre: dict[tuple[str, str], float] = {}
    for side, chips, x, w in (("pod", picture.pod, pod_x, pod_w),
                              ("host", picture.host_side, host_x, host_w)):
        for i, chip in enumerate(chips):
            y = top + i * _ROW
            centre[(side, chip.key)] = y + _CHIP_H / 2
            g = el(root, "g", cls=f"chip {chip.cls}", data_key=chip.key, data_side=side)
            el(g, "rect", cls="chip-box", x=x, y=y, width=w, height=_CHIP_H, rx=6)
            el(g, "text", chip.title, cls="chip-title", x=x + 10, y=y + LINE_H + 2)
            el(g, "text", chip.detail, cls="chip-detail", x=x + 10, y=y + 2 * LINE_H + 4)
    x1, x2 = pod_x + pod_w, host_x
    for lk in picture.links:
        y1, y2 = centre.get(("pod", lk.start)), centre.get(("host", lk.end))
        if y1 is None or y2 is None:
            continue
        g = el(root, "g", cls=lk.cls, data_from=lk.start, data_to=lk.end)
        # straight under its label, then the bend: the label never sits on the curve
        bend = max(x1 + text_width(lk.label, 11) + 24, x2 - 140)
        mid = (bend + x2) / 2
        path = el(g, "path", cls="wire",
                  d=f"M{x1:.1f},{y1:.1f} H{bend:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} "
                    f"{x2:.1f},{y2:.1f}")
        tooltip(path, lk.label)
        el(g, "text", lk.label, cls="wire-label", x=x1 + 14, y=y1 - 6)
    return root
