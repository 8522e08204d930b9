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


def _job(plan: Plan, hp: HostPlan, side: str, peer_ip: str) -> dict[str, Any]:
    nic = hp.nics[0]
    env = [
        {"name": "BENCH", "value": "ib_write_bw"},
        # the claim moves one of the node's planned NICs in; its RDMA device keeps its name, but
        # which one is the scheduler's choice where several match: empty takes the first
        {"name": "RDMA_DEVICE",
         "value": (nic.rdma_device or "") if len(hp.nics) == 1 else ""},
        # RoCE: rdma_cm (-R) follows net1's IPv4 address to the right GID
        {"name": "GID_ARG", "value": "-R" if plan.link_layer == "Ethernet" else ""},
        {"name": "PEER_IP", "value": peer_ip},
        {"name": "GPUS", "value": "0"},
    ]
    short = side.removeprefix("bench-")
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta(plan, bench_job_name(plan, hp, side), BENCH_ROLE,
                         namespace=plan.namespace, labels={BENCH_SIDE: short}),
        "spec": {
            # a template: applying it starts nothing until it is resumed
            "suspend": True,
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": {**meta(plan, "x", BENCH_ROLE)["labels"],
                                        BENCH_SIDE: short}},
                "spec": {
                    "restartPolicy": "Never",
                    # the claim template carries this node's address: the pod must run there
                    "nodeSelector": {"kubernetes.io/hostname": hp.hostname},
                    "resourceClaims": [{"name": CLAIM, "resourceClaimTemplateName":
                                        template_name(plan, hp, side)}],
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
    jobs = [_job(plan, hp, side, "" if side == "bench-server" else peer) for hp, side in sides]
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
            + ("; DHCP: the client's PEER_IP is set by `dualnet bench --dra`, which reads the "
               "server's address from its claim status" if dhcp else "")
            + f". Run them with `dualnet bench --dra --network {plan.name} -n {plan.namespace}`.")
