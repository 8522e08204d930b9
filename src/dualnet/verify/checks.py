"""The guide's step-7 checks as pure functions over what was captured from a pod.

Each returns a CheckResult with the evidence lines it decided on, so a failing row shows the user
the same output they would have looked at by hand.
"""

from __future__ import annotations

import re

from dualnet import labels
from dualnet.errors import UsageError
from dualnet.host.models import PortState
from dualnet.parse.ibv_devinfo import parse_ibv_devinfo
from dualnet.parse.ip import IpInterface
from dualnet.parse.network_status import NetworkStatus, parse_network_status
from dualnet.verify.models import CheckResult, Status

DEFAULT_IF = "eth0"
SECONDARY_IF = "net1"


def _fmt_entry(e: NetworkStatus) -> str:
    default = " (default)" if e.default else ""
    return f"{e.interface or '<no interface>'}{default}: {e.name} ips={','.join(e.ips) or '-'}"


def check_network_status(
    target: str, annotation: str | None, secondary: str = SECONDARY_IF
) -> CheckResult:
    """network-status lists eth0 as the default network and net1, both with addresses."""
    name = "network-status"
    if not annotation:
        return CheckResult(
            check=name, target=target, status=Status.FAIL,
            summary="pod has no k8s.v1.cni.cncf.io/network-status annotation: Multus did not "
            "handle this pod (is 00-multus.conf first in /etc/cni/net.d?)",
        )
    try:
        entries = parse_network_status(annotation)
    except UsageError as exc:
        return CheckResult(check=name, target=target, status=Status.FAIL,
                           summary=f"annotation does not parse: {exc.message}")
    evidence = [_fmt_entry(e) for e in entries]
    default = next((e for e in entries if e.default), None)
    # OVS offload: the training VF is the default network itself (eth0)
    second = default if secondary == DEFAULT_IF else next(
        (e for e in entries if e.interface == secondary), None)
    problems: list[str] = []
    if default is None:
        problems.append("no entry marked default (the cluster network)")
    elif default.interface not in (None, DEFAULT_IF):
        problems.append(f"default network is on {default.interface}, expected {DEFAULT_IF}")
    elif not default.ips:
        problems.append(f"default network {default.name!r} has no IP address")
    if second is None:
        problems.append(f"no {secondary} entry: the pod did not get the training network "
                        "(check the k8s.v1.cni.cncf.io/networks annotation and the NAD)")
    elif not second.ips:
        problems.append(f"{secondary} ({second.name}) has no IP address (IPAM did not run or "
                        "the plugin has none)")
    if problems or default is None or second is None:
        return CheckResult(check=name, target=target, status=Status.FAIL,
                           summary="; ".join(problems), evidence=evidence)
    note = (
        "" if default.interface
        else f" (default entry names no interface; taken as {DEFAULT_IF})"
    )
    if secondary == DEFAULT_IF:
        return CheckResult(
            check=name, target=target, status=Status.PASS,
            summary=f"{DEFAULT_IF} {','.join(default.ips)} from {default.name} (the default "
            f"network carries the training VF: OVS offload){note}", evidence=evidence)
    return CheckResult(
        check=name, target=target, status=Status.PASS,
        summary=f"{DEFAULT_IF} {','.join(default.ips)} (default) and {secondary} "
        f"{','.join(second.ips)} from {second.name}{note}",
        evidence=evidence,
    )


def training_interface(annotations: dict[str, str]) -> str:
    """eth0 for a pod whose default network is a NAD and that asks for no other network (an OVS
    offload pod, `v1.multus-cni.io/default-network`), else net1."""
    if annotations.get(labels.DEFAULT_NETWORK_ANNOTATION) and not annotations.get(
            labels.NETWORKS_ANNOTATION):
        return DEFAULT_IF
    return SECONDARY_IF


def net1_ips(annotation: str | None, secondary: str = SECONDARY_IF) -> list[str]:
    if not annotation:
        return []
    try:
        entries = parse_network_status(annotation)
    except UsageError:
        return []
    if secondary == DEFAULT_IF:
        return next((e.ips for e in entries if e.default), [])
    return next((e.ips for e in entries if e.interface == secondary), [])


def check_interfaces(
    target: str,
    interfaces: list[IpInterface],
    expected_secondary_ips: list[str] | None = None,
    secondary: str = SECONDARY_IF,
) -> CheckResult:
    """Both eth0 and net1 exist inside the pod, are UP with carrier, and carry an address."""
    ifaces = {i.name: i for i in interfaces}
    evidence = [
        f"{i.name}: <{','.join(i.flags)}> state {i.state} mtu {i.mtu} "
        f"{' '.join(i.ipv4 + i.ipv6) or 'no address'}"
        for n, i in sorted(ifaces.items()) if n in (DEFAULT_IF, secondary)
    ]
    problems: list[str] = []
    for want in dict.fromkeys((DEFAULT_IF, secondary)):
        iface = ifaces.get(want)
        if iface is None:
            problems.append(f"{want} missing")
            continue
        if not iface.lower_up:
            problems.append(f"{want} not up (flags {','.join(iface.flags) or 'none'})")
        if not iface.ipv4 and not [a for a in iface.ipv6 if not a.startswith("fe80")]:
            problems.append(f"{want} has no address")
    if expected_secondary_ips and secondary in ifaces:
        have = set(ifaces[secondary].ips)
        missing = [ip for ip in expected_secondary_ips if ip not in have]
        if missing:
            problems.append(f"{secondary} lacks {', '.join(missing)} that network-status reports")
    if problems:
        return CheckResult(check="interfaces", target=target, status=Status.FAIL,
                           summary="; ".join(problems), evidence=evidence)
    return CheckResult(check="interfaces", target=target, status=Status.PASS,
                       summary=(f"{DEFAULT_IF} and {secondary} are" if secondary != DEFAULT_IF
                                else f"{DEFAULT_IF} is") + " UP,LOWER_UP with addresses",
                       evidence=evidence)


def check_dev_infiniband(
    target: str, listing: str, expected_uverbs: int | None = None
) -> CheckResult:
    """/dev/infiniband holds uverbsN (verbs) and rdma_cm (connection manager)."""
    names = sorted({n.strip().rstrip("/") for n in listing.split() if n.strip()})
    names = [n.rsplit("/", 1)[-1] for n in names]
    uverbs = [n for n in names if re.fullmatch(r"uverbs\d+", n)]
    evidence = [" ".join(names) or "(empty)"]
    problems: list[str] = []
    if not names or "No such file" in listing:
        problems.append("/dev/infiniband is empty or missing: the pod did not request the RDMA "
                        "resource, or the device plugin mounts nothing")
    else:
        if not uverbs:
            problems.append("no uverbs* device (ib_uverbs not loaded on the node?)")
        if "rdma_cm" not in names:
            problems.append("no rdma_cm (rdma_ucm not loaded on the node?)")
        if expected_uverbs is not None and len(uverbs) < expected_uverbs:
            problems.append(f"{len(uverbs)} uverbs devices, expected {expected_uverbs}")
    if problems:
        return CheckResult(check="dev-infiniband", target=target, status=Status.FAIL,
                           summary="; ".join(problems), evidence=evidence)
    return CheckResult(check="dev-infiniband", target=target, status=Status.PASS,
                       summary=f"{', '.join(uverbs)} and rdma_cm present", evidence=evidence)


def check_ibv_devinfo(target: str, text: str, expected_device: str | None = None) -> CheckResult:
    """`ibv_devinfo` in the pod shows the expected device with an ACTIVE port."""
    try:
        devices = parse_ibv_devinfo(text)
    except UsageError as exc:
        return CheckResult(check="ibv_devinfo", target=target, status=Status.FAIL,
                           summary=f"output does not parse: {exc.message}",
                           evidence=text.strip().splitlines()[:5])
    evidence = [
        f"{d.name} port {p.number}: {p.state.value} ({p.link_layer.value if p.link_layer else '?'})"
        for d in devices for p in d.ports
    ]
    if not devices:
        return CheckResult(check="ibv_devinfo", target=target, status=Status.FAIL,
                           summary="no RDMA device visible in the pod", evidence=evidence)
    wanted = [d for d in devices if expected_device is None or d.name == expected_device]
    if not wanted:
        return CheckResult(
            check="ibv_devinfo", target=target, status=Status.FAIL,
            summary=f"{expected_device} not visible "
            f"(pod sees {', '.join(d.name for d in devices)})",
            evidence=evidence)
    active = [(d.name, p.number) for d in wanted for p in d.ports if p.state is PortState.ACTIVE]
    if not active:
        return CheckResult(check="ibv_devinfo", target=target, status=Status.FAIL,
                           summary=f"no ACTIVE port on {', '.join(d.name for d in wanted)} "
                           "(link down or no cable/partner)", evidence=evidence)
    return CheckResult(
        check="ibv_devinfo", target=target, status=Status.PASS,
        summary="ACTIVE: " + ", ".join(f"{n}/{p}" for n, p in active), evidence=evidence)


_PING_SUMMARY = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received")
_PING_RTT = re.compile(r"(?:rtt|round-trip) min/avg/max\S* = ([\d.]+)/([\d.]+)/([\d.]+)")


def check_ping(source: str, dest: str, dest_ip: str, output: str, exit_code: int,
               interface: str = SECONDARY_IF) -> CheckResult:
    """`ping -I net1` from one pod reaches the other pod's net1 address."""
    target = f"{source} -> {dest} ({dest_ip} via {interface})"
    lines = [ln for ln in output.strip().splitlines() if ln.strip()]
    m = _PING_SUMMARY.search(output)
    rtt = _PING_RTT.search(output)
    evidence = [
        ln for ln in lines if _PING_SUMMARY.search(ln) or _PING_RTT.search(ln)
    ] or lines[-3:]
    if m is None:
        return CheckResult(check="ping-net1", target=target, status=Status.FAIL,
                           summary=f"ping gave no summary (exit {exit_code}); is ping installed "
                           "in the image?", evidence=evidence)
    sent, got = int(m.group(1)), int(m.group(2))
    if got == 0:
        return CheckResult(check="ping-net1", target=target, status=Status.FAIL,
                           summary=f"0/{sent} replies over {interface}: the pods cannot reach each "
                           "other on the training network (different subnets, host-local IPAM "
                           "giving the same IP on two nodes, or no L2 path between the ports)",
                           evidence=evidence)
    avg = f", avg rtt {rtt.group(2)} ms" if rtt else ""
    return CheckResult(check="ping-net1", target=target,
                       status=Status.PASS if got == sent else Status.FAIL,
                       summary=f"{got}/{sent} replies{avg}", evidence=evidence)
