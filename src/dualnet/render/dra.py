"""`render --target dra`: Dynamic Resource Allocation (resource.k8s.io/v1) objects for the modes a
shipped DRA driver fits, and a refusal with the reason for the others.

Dedicated NIC per pod (host-device) goes to kubernetes-sigs/dranet. The names below are dranet's
own (pkg/apis/attributes.go, pkg/apis/types.go, pkg/inventory/db.go):

* driver and attribute domain `dra.net`; device attributes `rdma`, `virtual`, `encapsulation`
  (netlink's EncapType: `ether`, `infiniband`), `ifName`, `numaNode`;
* the Kubernetes standard attribute `resource.kubernetes.io/pcieRoot`, which dranet and the NVIDIA
  GPU DRA driver both publish, so a claim can ask for a GPU and a NIC under one PCIe root;
* the opaque per-claim config `NetworkConfig`: `interface.name`, `interface.mtu`,
  `interface.addresses`, `interface.dhcp`, `routes[].destination` / `routes[].gateway`.

dranet has no IPAM: the addresses come from the spec's IPAM, one per claim, in a claim template
per node (see `claim_addresses`).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from dualnet.errors import UsageError
from dualnet.modes import Mode
from dualnet.plan.model import HostPlan, Plan, ResolvedNic
from dualnet.render.common import base_name, meta
from dualnet.render.dra_overlap import over_admission_note
from dualnet.render.images import image
from dualnet.render.networks import namespace_object
from dualnet.render.workloads import nccl_env
from dualnet.spec import IpamType

DRANET_DRIVER = "dra.net"
PCIE_ROOT = "resource.kubernetes.io/pcieRoot"
GPU_DEVICE_CLASS = "gpu.nvidia.com"  # the NVIDIA GPU DRA driver's class
DRA_MIN_K8S = (1, 34)  # resource.k8s.io/v1 is served (GA) from 1.34
POD_IFNAME = "net1"
# nvidia-smi topo relations that mean "under the same PCIe root complex" (PHB: through the host
# bridge, still the same root); NODE and SYS cross root complexes.
_SAME_ROOT = ("PIX", "PXB", "PHB")
# the pods that take an address from a claim, in address order
ROLES = ("test", "gdr")
_FIRST_HOST = 10  # first host number handed out when the spec gives no range start


def _refuse(field: str, what: str, hint: str) -> UsageError:
    return UsageError(f"--target dra: {field}: {what}", hint=hint)


def _parse_version(version: str) -> tuple[int, int]:
    major, minor = version.removeprefix("v").split(".")[:2]
    return int(major), int(minor)


def check_dra_fits(plan: Plan, k8s_version: str) -> None:
    """Refuse (exit 2, field named) where no shipped DRA driver does what the spec asks."""
    if _parse_version(k8s_version) < DRA_MIN_K8S:
        raise _refuse("--k8s-version", f"{k8s_version}: resource.k8s.io/v1 (DRA, GA) is served "
                      "from Kubernetes 1.34; older releases have only the beta APIs",
                      "pass --k8s-version 1.34 or newer, or use --target plain")
    mode = plan.mode
    if mode in (Mode.SHARED_ROCE, Mode.IPOIB):
        raise _refuse("spec.mode", f"{mode.value}: no shipped DRA driver shares one NIC among "
                      "pods (dranet moves the whole netdev into one pod)",
                      "keep --target plain (Multus + the RDMA shared device plugin), or use mode "
                      "host-device for a dedicated NIC per pod")
    if mode is Mode.SRIOV_DPDK:
        raise _refuse("spec.mode", f"{mode.value}: the SR-IOV DRA driver's vfio-pci VfConfig is "
                      "not rendered by this dualnet version",
                      "use --target plain or network-operator")
    for hp in plan.hosts:
        for nic in hp.nics:
            where = f"{hp.hostname}/{nic.netdev}"
            if nic.holds_default_route:
                raise _refuse("spec.nics", f"{where} carries the node's default route: dranet "
                              "excludes default-gateway uplinks (and their children) from its "
                              "inventory, so no claim could ever get it",
                              "choose a dedicated training port in spec.nics")
            if _is_bond(nic):
                raise _refuse("spec.nics", f"{where} is a bonded RDMA port "
                              f"({nic.rdma_device}): a bond's member functions cannot be moved "
                              "into a pod one by one", "pick an unbonded port, or keep "
                              "--target plain")


def _is_bond(nic: ResolvedNic) -> bool:
    # mlx5 names a LAG's RDMA device mlx5_bond_<n>; the kernel's bonding netdevs are bond<n>
    return "_bond" in (nic.rdma_device or "") or nic.netdev.startswith("bond")


def encapsulation(plan: Plan) -> str:
    """dranet's `encapsulation` of the selected ports (netlink EncapType), from their link layer:
    IPoIB netdevs are `infiniband`, RoCE ports `ether`."""
    layers = {n.link_layer for hp in plan.hosts for n in hp.nics}
    if len(layers) > 1:
        raise _refuse("spec.nics", "the selected ports mix Ethernet and InfiniBand: one "
                      "DeviceClass selects one encapsulation", "select ports of one link layer")
    return "infiniband" if layers == {"InfiniBand"} else "ether"


def _attr(name: str) -> str:
    return f'device.attributes["{DRANET_DRIVER}"].{name}'


def _guarded(name: str, test: str) -> str:
    """An attribute test that is false, not an evaluation error, where the attribute is absent
    (dranet omits attributes it cannot read)."""
    return f"has({_attr(name)}) && {_attr(name)} {test}"


def device_class_name(plan: Plan) -> str:
    return f"{plan.name}-dranet"


def device_class(plan: Plan) -> dict[str, Any]:
    expr = " && ".join([
        f'device.driver == "{DRANET_DRIVER}"',
        _guarded("rdma", "== true"),
        _guarded("virtual", "== false"),
        _guarded("encapsulation", f'== "{encapsulation(plan)}"'),
    ])
    return {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "DeviceClass",
        "metadata": meta(plan, device_class_name(plan), "component"),
        "spec": {"selectors": [{"cel": {"expression": expr}}]},
    }


def gpu_alignment(hp: HostPlan) -> str:
    """`pcieRoot` where every selected NIC of the host shares a PCIe root with a GPU (its nearest
    relation is PIX, PXB or PHB); `numaNode` otherwise (Grace: every pair NODE or SYS);
    `none` where neither topology nor NUMA is known."""
    rels = [(n.nearest_gpu or "").rpartition("(")[2].rstrip(")") for n in hp.nics]
    if rels and all(r in _SAME_ROOT for r in rels):
        return "pcieRoot"
    if hp.nics and all(n.numa_node is not None for n in hp.nics):
        return "numaNode"
    return "none"


def claim_numa_node(hp: HostPlan) -> int | None:
    """The NUMA node the GPUDirect claim's NIC selector asks for: set only where the alignment
    is by NUMA node (no GPU shares a PCIe root with the NICs)."""
    return hp.nics[0].numa_node if gpu_alignment(hp) == "numaNode" else None


def claim_addresses(plan: Plan) -> dict[tuple[str, str], str]:
    """One address per (host, pod role) from the spec's IPAM, in host then ROLES order: the
    spec's static addresses as given, otherwise consecutive addresses of the subnet from its
    range start, skipping the gateway and excluded ranges. Empty for DHCP."""
    return {k: a for k, a in _allocate(plan).items() if k[1] in ROLES}


def bench_addresses(plan: Plan) -> dict[tuple[str, str], str]:
    """The bench claims' addresses ((host, 'bench-server' | 'bench-client')), after every
    address `claim_addresses` hands out; a bench claim the IPAM has no address left for gets
    none (render then writes no bench objects and says why)."""
    return {k: a for k, a in _allocate(plan).items() if k[1] not in ROLES}


def _allocate(plan: Plan) -> dict[tuple[str, str], str]:
    """The one walk over the IPAM behind claim_addresses and bench_addresses: the test and
    GPUDirect claims first (each must get an address), the bench claims after (optional)."""
    ipam = plan.spec.spec.ipam
    required = [(hp.hostname, role) for hp in plan.hosts for role in ROLES]
    keys = required + [(hp.hostname, side) for hp, side in bench_sides(plan)]
    if ipam.type is IpamType.DHCP:
        return {}
    if ipam.type is IpamType.STATIC and ipam.addresses:
        if len(ipam.addresses) < len(required):
            raise _refuse("spec.ipam.addresses", f"{len(ipam.addresses)} address(es) for "
                          f"{len(required)} claims (dranet has no IPAM: each pod's claim needs "
                          "its own)", f"list at least {len(required)} addresses")
        return {k: a.address for k, a in zip(keys, ipam.addresses, strict=False)}
    if not ipam.subnet:
        raise _refuse("spec.ipam.subnet", "required: dranet has no IPAM, so dualnet writes "
                      "each claim's address from this subnet", "set spec.ipam.subnet")
    net = ipaddress.ip_network(ipam.subnet, strict=False)
    # integers: one arithmetic for IPv4 and IPv6 subnets
    start = int(ipaddress.ip_address(ipam.range_start)) if ipam.range_start else (
        int(net.network_address) + _FIRST_HOST)
    end = int(ipaddress.ip_address(ipam.range_end)) if ipam.range_end else (
        int(net.broadcast_address) - 1)
    skip = [ipaddress.ip_network(c, strict=False) for c in ipam.exclude]
    gateway = int(ipaddress.ip_address(ipam.gateway)) if ipam.gateway else None

    def ip(i: int) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        return ipaddress.IPv4Address(i) if net.version == 4 else ipaddress.IPv6Address(i)

    def excluded(i: int) -> bool:
        a = ip(i)
        return i == gateway or any(a in s for s in skip)

    out: dict[tuple[str, str], str] = {}
    addr = start
    for n, key in enumerate(keys):
        while addr <= end and excluded(addr):
            addr += 1
        if addr > end:
            if n >= len(required):
                break
            raise _refuse("spec.ipam", f"the range {ip(start)}..{ip(end)} has too few "
                          f"addresses for {len(required)} claims",
                          "widen spec.ipam.subnet or its range")
        out[key] = f"{ip(addr)}/{net.prefixlen}"
        addr += 1
    return out


def bench_sides(plan: Plan) -> list[tuple[HostPlan, str]]:
    """Where the ib_write_bw pair runs: the server on the first node and the client on the
    second; on one node with two or more planned NICs, both there (each claim takes its own
    NIC); none on one node with one NIC."""
    if len(plan.hosts) >= 2:
        return [(plan.hosts[0], "bench-server"), (plan.hosts[1], "bench-client")]
    if plan.hosts and len(plan.hosts[0].nics) >= 2:
        return [(plan.hosts[0], "bench-server"), (plan.hosts[0], "bench-client")]
    return []


def _mtu(plan: Plan, hp: HostPlan) -> int | None:
    return plan.spec.spec.mtu or next((n.mtu for n in hp.nics if n.mtu), None)


def dranet_config(plan: Plan, hp: HostPlan, address: str | None) -> dict[str, Any]:
    """dranet's NetworkConfig for one claim (JSON names of pkg/apis/types.go)."""
    iface: dict[str, Any] = {"name": POD_IFNAME}
    mtu = _mtu(plan, hp)
    if mtu:
        iface["mtu"] = mtu
    if address is None:
        iface["dhcp"] = True
    else:
        iface["addresses"] = [address]
    cfg: dict[str, Any] = {"interface": iface}
    ipam = plan.spec.spec.ipam
    routes = [{"destination": r.dst, **({"gateway": r.gw or ipam.gateway}
                                        if (r.gw or ipam.gateway) else {})}
              for r in ipam.routes]
    if routes:
        cfg["routes"] = routes
    return cfg


def _nic_selector(hp: HostPlan, numa: int | None) -> dict[str, Any]:
    names = ", ".join(f'"{n.netdev}"' for n in hp.nics)
    expr = _guarded("ifName", f"in [{names}]")
    if numa is not None:
        expr += " && " + _guarded("numaNode", f"== {numa}")
    return {"cel": {"expression": expr}}


def host_suffix(hp: HostPlan) -> str:
    return hp.hostname.lower()


def claim_template(plan: Plan, hp: HostPlan, role: str, address: str | None) -> dict[str, Any]:
    """The per-node claim template of one pod role: one dedicated NIC (test), or a GPU and a NIC
    aligned by PCIe root or NUMA node (gdr)."""
    requests: list[dict[str, Any]] = []
    constraints: list[dict[str, Any]] = []
    numa: int | None = None
    if role == "gdr":
        align = gpu_alignment(hp)
        requests.append({"name": "gpu", "exactly": {"deviceClassName": GPU_DEVICE_CLASS,
                                                    "count": 1}})
        if align == "pcieRoot":
            constraints.append({"requests": ["gpu", "nic"], "matchAttribute": PCIE_ROOT})
        numa = claim_numa_node(hp)
    requests.append({"name": "nic", "exactly": {
        "deviceClassName": device_class_name(plan), "count": 1,
        "selectors": [_nic_selector(hp, numa)]}})
    devices: dict[str, Any] = {"requests": requests}
    if constraints:
        devices["constraints"] = constraints
    devices["config"] = [{"requests": ["nic"], "opaque": {
        "driver": DRANET_DRIVER, "parameters": dranet_config(plan, hp, address)}}]
    return {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceClaimTemplate",
        "metadata": meta(plan, template_name(plan, hp, role), "claim-template",
                         namespace=plan.namespace),
        "spec": {"spec": {"devices": devices}},
    }


def template_name(plan: Plan, hp: HostPlan, role: str) -> str:
    """The ResourceClaimTemplate of one node and pod role (`claim_template` and the pod that
    names it; `dualnet report --target dra` draws it)."""
    kind = {"test": "nic", "gdr": "gpu-nic"}.get(role, f"{role}-nic")
    return f"{base_name(plan)}-{kind}-{host_suffix(hp)}"


def _pod(plan: Plan, hp: HostPlan, role: str) -> dict[str, Any]:
    s = plan.spec.spec
    claim = "nic" if role == "test" else "gpu-nic"
    container: dict[str, Any] = {
        "name": "test" if role == "test" else "gdr-test",
        "image": image(s.images, "test" if role == "test" else "gpu_test"),
        "command": ["sleep", "infinity"],
    }
    if role == "gdr":
        container["env"] = nccl_env(plan)
    # RDMA registers (pins) memory: IPC_LOCK lifts the memlock limit for it
    container["securityContext"] = {"capabilities": {"add": ["IPC_LOCK"]}}
    container["resources"] = {"claims": [{"name": claim}]}
    name = f"{base_name(plan)}-{'test' if role == 'test' else 'gdr-test'}-{host_suffix(hp)}"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta(plan, name, f"{'test' if role == 'test' else 'gdr-test'}-pod",
                         namespace=plan.namespace),
        "spec": {
            # the claim template carries this node's addresses: the pod must run there
            "nodeSelector": {"kubernetes.io/hostname": hp.hostname},
            "resourceClaims": [{"name": claim,
                                "resourceClaimTemplateName": template_name(plan, hp, role)}],
            "containers": [container],
        },
    }


def render_dra(plan: Plan, k8s_version: str) -> list[dict[str, Any]]:
    """dranet: DeviceClass, then per node the claim templates and the pods that use them;
    SR-IOV modes: the SR-IOV DRA driver's objects (render.dra_sriov)."""
    check_dra_fits(plan, k8s_version)
    if plan.mode in (Mode.SRIOV, Mode.IB_SRIOV):
        from dualnet.render.dra_sriov import render_sriov_dra

        return render_sriov_dra(plan)
    addresses = claim_addresses(plan)
    out: list[dict[str, Any]] = [device_class(plan), *namespace_object(plan)]
    for hp in plan.hosts:
        for role in ROLES:
            out.append(claim_template(plan, hp, role, addresses.get((hp.hostname, role))))
    for hp in plan.hosts:
        for role in ROLES:
            out.append(_pod(plan, hp, role))
    from dualnet.render.dra_bench import dranet_bench

    return [*out, *dranet_bench(plan)]


def dra_plan_notes(plan: Plan) -> list[str]:
    """What the DRA target decided and what the user must know, for PLAN.md and stderr."""
    if plan.mode in (Mode.SRIOV, Mode.IB_SRIOV):
        return [
            "The SR-IOV DRA driver (k8snetworkplumbingwg/dra-driver-sriov) and a Multus with DRA "
            "support must be installed; dualnet does not render them. VFs must exist on the PFs "
            "(the host steps above).",
            "The DeviceAttributes k8s.cni.cncf.io/resourceName and the NAD's resourceName "
            "annotation are one value; Multus skips a claimed VF silently where they differ.",
            "Addresses come from the NAD's IPAM, as with --target plain.",
            f"The DeviceClass bridges the extended resource {plan.resource_name} "
            "(extendedResourceName, the DRAExtendedResource feature), so pod specs with "
            f"resources.limits {plan.resource_name}: 1 keep working. Remove the SR-IOV network "
            "device plugin from these nodes first: it would advertise the same VFs (PCI "
            "functions) as the DRA driver, and the scheduler would admit each one twice.",
            over_admission_note(plan),
            "Bench: suspended Jobs "
            f"{base_name(plan)}-bench-server and {base_name(plan)}-bench-client, each with a VF "
            "claim, on two nodes where the plan has two; net1's address comes from the NAD, so "
            "the client's PEER_IP is empty (resuming by hand, set it to the server's net1); "
            f"`dualnet bench --dra --network {plan.name} -n {plan.namespace}` runs "
            "ib_write_bw in pods made from them with the server's address.",
        ]
    notes = [
        "dranet (kubernetes-sigs/dranet) must be installed (its release install.yaml); it needs "
        "the container runtime's NRI (containerd >= 2.0, CRI-O >= 1.30). dualnet does not render "
        "it.",
        "dranet has no IPAM and does not restore a moved NIC's host addresses when the NIC "
        "returns: each claim template carries its own address from the spec's IPAM, one "
        "template per node and pod; a second pod on a template would get the same address.",
        f"The GPUDirect pods ask for a GPU through the NVIDIA GPU DRA driver (DeviceClass "
        f"{GPU_DEVICE_CLASS}), so the GPU and the NIC are allocated together.",
        f"No extendedResourceName bridge for {plan.resource_name}: an implicit claim would carry "
        "no per-node address (dranet has no IPAM). Remove the SR-IOV network device plugin "
        "that advertises these ports first: it and dranet would offer the same PCI function "
        "twice.",
        over_admission_note(plan),
    ]
    from dualnet.render.dra_bench import bench_note

    notes.append(bench_note(plan))
    for hp in plan.hosts:
        align = gpu_alignment(hp)
        nics = ", ".join(f"{n.netdev} ({n.nearest_gpu or 'no GPU relation known'})"
                         for n in hp.nics)
        if align == "pcieRoot":
            why = f"GPU and NIC share a PCIe root ({nics}): matchAttribute {PCIE_ROOT}"
        elif align == "numaNode":
            why = (f"no GPU shares a PCIe root with {nics}: NIC selected by "
                   f"dra.net numaNode == {claim_numa_node(hp)}, no pcieRoot constraint")
        else:
            why = f"neither PCIe topology nor NUMA node known for {nics}: no alignment"
        notes.append(f"{hp.hostname}: {why}.")
    return notes

