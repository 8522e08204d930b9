"""`render --target dra`: the ib_write_bw pair between two dranet claims, as the Multus target's
bench Job does it. Two suspended Jobs (server and client, `dualnet.io/bench-side`), each pinned
to its node and taking one NIC through its own ResourceClaimTemplate, whose dranet config
carries the pod's address from the spec's IPAM (`dra.bench_addresses`), so the client's PEER_IP
is known here. `dualnet bench --dra` launches pods from these Jobs' templates and measures
(verify.bench); resuming the Jobs runs the same test without dualnet."""

from __future__ import annotations

from typing import Any

from dualnet.labels import BENCH_SIDE
from dualnet.plan.model import HostPlan, Plan
from dualnet.render.common import base_name, meta
from dualnet.render.dra import (
    POD_IFNAME,
    bench_addresses,
    bench_sides,
    claim_template,
    host_suffix,
    template_name,
)
from dualnet.render.images import image
from dualnet.render.workloads import BENCH_SCRIPT
from dualnet.spec import IpamType

BENCH_ROLE = "bench"
CLAIM = "nic"


def bench_job_name(plan: Plan, hp: HostPlan, side: str) -> str:
    return f"{base_name(plan)}-{side}-{host_suffix(hp)}"


def _job(plan: Plan, name: str, side: str, template: str, *, rdma_device: str,
         peer_ip: str, pod_spec: dict[str, Any],
         annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """One side's suspended Job: the Multus target's bench script and env, the NIC from
    `template` (a ResourceClaimTemplate) instead of an extended resource."""
    env = [
        {"name": "BENCH", "value": "ib_write_bw"},
        {"name": "RDMA_DEVICE", "value": rdma_device},
        # RoCE: rdma_cm (-R) follows net1's IPv4 address to the right GID
        {"name": "GID_ARG", "value": "-R" if plan.link_layer == "Ethernet" else ""},
        {"name": "PEER_IP", "value": peer_ip},
        {"name": "GPUS", "value": "0"},
    ]
    short = side.removeprefix("bench-")
    pod_meta: dict[str, Any] = {"labels": {**meta(plan, "x", BENCH_ROLE)["labels"],
                                           BENCH_SIDE: short}}
    if annotations:
        pod_meta["annotations"] = annotations
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta(plan, name, BENCH_ROLE, namespace=plan.namespace,
                         labels={BENCH_SIDE: short}),
        "spec": {
            # a template: applying it starts nothing until it is resumed
            "suspend": True,
            "backoffLimit": 0,
            "template": {
                "metadata": pod_meta,
                "spec": {
                    "restartPolicy": "Never",
                    **pod_spec,
                    "resourceClaims": [{"name": CLAIM, "resourceClaimTemplateName": template}],
                    "containers": [{
                        "name": "bench",
                        "image": image(plan.spec.spec.images, "bench"),
                        "command": ["/bin/bash", "-c", BENCH_SCRIPT],
                        "env": env,
                        "securityContext": {"capabilities": {"add": ["IPC_LOCK"]}},
                        "resources": {"claims": [{"name": CLAIM}]},
                    }],
                },
            },
        },
    }


def _dranet_job(plan: Plan, hp: HostPlan, side: str, peer_ip: str) -> dict[str, Any]:
    # the claim moves one of the node's planned NICs in; its RDMA device keeps its name, but
    # which one is the allocator's choice where several match: empty takes the first
    rdma = (hp.nics[0].rdma_device or "") if len(hp.nics) == 1 else ""
    return _job(plan, bench_job_name(plan, hp, side), side, template_name(plan, hp, side),
                rdma_device=rdma, peer_ip=peer_ip,
                # the claim template carries this node's address: the pod must run there
                pod_spec={"nodeSelector": {"kubernetes.io/hostname": hp.hostname}})


def sriov_bench(plan: Plan) -> list[dict[str, Any]]:
    """The SR-IOV DRA driver's pair: both sides take a VF through the one VF claim template
    and get net1's address from the NAD's IPAM (so PEER_IP is set when the server runs);
    required anti-affinity puts them on two nodes where the plan has two."""
    from dualnet.labels import NETWORK, NETWORKS_ANNOTATION, ROLE
    from dualnet.render.dra_sriov import claim_template_name

    spread: dict[str, Any] = {}
    if len(plan.hosts) >= 2:
        term = {"topologyKey": "kubernetes.io/hostname",
                "labelSelector": {"matchLabels": {NETWORK: plan.name, ROLE: BENCH_ROLE}}}
        spread = {"affinity": {"podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [term]}}}
    return [_job(plan, f"{base_name(plan)}-{side}", side, claim_template_name(plan),
                 rdma_device="", peer_ip="", pod_spec=spread,
                 annotations={NETWORKS_ANNOTATION: plan.name})
            for side in ("bench-server", "bench-client")]


def bench_problem(plan: Plan) -> str | None:
    """Why no bench pair is rendered; None where it is."""
    sides = bench_sides(plan)
    if not sides:
        return ("one node with one planned NIC: an ib_write_bw pair needs two claims on two "
                "NICs (a second node, or a second port in spec.nics)")
    if plan.spec.spec.ipam.type is not IpamType.DHCP and len(bench_addresses(plan)) < 2:
        return ("the spec's IPAM has no addresses left for the two bench claims after the test "
                "and GPUDirect pods (widen spec.ipam or list more addresses)")
    return None


def dranet_bench(plan: Plan) -> list[dict[str, Any]]:
    """The bench claim templates, then the server and client Jobs; [] where bench_problem."""
    if bench_problem(plan) is not None:
        return []
    sides = bench_sides(plan)
    addresses = bench_addresses(plan)
    templates = [claim_template(plan, hp, side, addresses.get((hp.hostname, side)))
                 for hp, side in sides]
    server_hp, server_side = sides[0]
    server_addr = addresses.get((server_hp.hostname, server_side))
    peer = server_addr.split("/")[0] if server_addr else ""
    jobs = [_dranet_job(plan, hp, side, "" if side == "bench-server" else peer)
            for hp, side in sides]
    return [*templates, *jobs]


def bench_note(plan: Plan) -> str:
    problem = bench_problem(plan)
    if problem is not None:
        return f"No bench Jobs: {problem}."
    (server, _), (client, _) = bench_sides(plan)
    dhcp = plan.spec.spec.ipam.type is IpamType.DHCP
    return (f"Bench: suspended Jobs {bench_job_name(plan, server, 'bench-server')} (server, "
            f"{server.hostname}) and {bench_job_name(plan, client, 'bench-client')} (client, "
            f"{client.hostname}), each with its own {POD_IFNAME} claim"
            + ("; DHCP: the client's PEER_IP is empty (`dualnet bench --dra` reads the "
               "server's address from its claim status; resuming by hand, set it)" if dhcp
               else "")
            + f". Run them with `dualnet bench --dra --network {plan.name} -n {plan.namespace}`.")
