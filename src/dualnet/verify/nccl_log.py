"""NCCL's own log judged against what dualnet expected: the transport (NET/IB or NET/Socket),
the HCAs NCCL took, GPUDirect RDMA, the GID setting; and a Socket result mapped to its likely
cause from the facts dualnet holds about the pod. Pure functions over a parsed `NcclLog`."""

from __future__ import annotations

from pydantic import BaseModel, Field

from dualnet.parse.errors import ParseError
from dualnet.parse.nccl_debug import NcclLog, parse_nccl_debug
from dualnet.verify.models import CheckResult, Status

# what bench and verify --nccl set for the run; ENV makes NCCL echo the GID settings it read
NCCL_DEBUG_ENV = {"NCCL_DEBUG": "INFO", "NCCL_DEBUG_SUBSYS": "INIT,NET,ENV"}


class PodFacts(BaseModel):
    """What dualnet read from a rank's pod (None: not read), to name a Socket result's cause."""

    dev_infiniband: list[str] | None = Field(default=None, description="names in /dev/infiniband")
    rdma_devices: list[str] | None = Field(default=None, description="ibv_devinfo in the pod")
    ipc_lock: bool | None = Field(default=None, description="IPC_LOCK in the container's caps")
    peermem_loaded: bool | None = Field(default=None, description="nvidia_peermem on the node")
    interfaces: list[str] | None = Field(default=None, description="the pod's interfaces")


def _bare(hca: str) -> str:
    return hca.lstrip("=^").split(":", 1)[0]


def socket_cause(log: NcclLog, facts: PodFacts, expected_hcas: list[str]) -> str:
    """The most likely reason NCCL used sockets, first match wins (most specific first)."""
    if log.env.get("NCCL_IB_DISABLE") == "1":
        return "NCCL_IB_DISABLE=1 is set: NCCL was told not to use IB/RoCE (unset it)"
    if log.libibverbs_missing:
        return ("libibverbs is not in the image (NCCL could not open libibverbs.so): install "
                "rdma-core's libibverbs and the mlx5 provider (ibverbs-providers) in the image")
    if facts.dev_infiniband is not None and not any(
            n.startswith("uverbs") for n in facts.dev_infiniband):
        return ("/dev/infiniband has no uverbs device in the pod: the pod did not request the "
                "RDMA resource, or the device plugin mounted nothing")
    if log.unopenable_devices:
        return (f"NCCL could not open {', '.join(log.unopenable_devices)}: its uverbs device is "
                "not in the pod or not accessible (request the RDMA resource for the pod)")
    if facts.rdma_devices is not None and not facts.rdma_devices:
        return "no RDMA device is visible in the pod (ibv_devinfo lists none)"
    if facts.rdma_devices and expected_hcas:
        missing = [h for h in expected_hcas if _bare(h) not in facts.rdma_devices]
        if missing:
            return (f"HCA {', '.join(missing)} is not in the pod (it sees "
                    f"{', '.join(facts.rdma_devices)}): wrong resource or NAD for this node")
    hca_env = log.env.get("NCCL_IB_HCA")
    if hca_env and facts.rdma_devices and not any(
            d.startswith(_bare(h)) for h in hca_env.split(",") for d in facts.rdma_devices):
        seen = ", ".join(facts.rdma_devices)
        return f"NCCL_IB_HCA={hca_env} matches no device in the pod ({seen})"
    if facts.ipc_lock is False:
        return ("the container lacks IPC_LOCK: NCCL cannot pin memory for RDMA (add "
                "securityContext.capabilities.add: [IPC_LOCK])")
    ifname = log.env.get("NCCL_SOCKET_IFNAME")
    if ifname and facts.interfaces is not None and not any(
            i.startswith(p.lstrip("=^")) for p in ifname.split(",") for i in facts.interfaces):
        return (f"NCCL_SOCKET_IFNAME={ifname} names no interface in the pod "
                f"({', '.join(facts.interfaces)})")
    if log.ib_no_device:
        return ("NCCL found no usable IB/RoCE device (`NET/IB : No device found`): check that "
                "the pod sees an ACTIVE port (`dualnet verify`)")
    return "NCCL chose sockets; neither its log nor the pod's facts say why"


def transport_check(target: str, log: NcclLog, facts: PodFacts,
                    expected_hcas: list[str]) -> CheckResult:
    transports = log.transports
    evidence = [f"networks: {', '.join(log.networks) or '-'}",
                f"connections: {len(log.connections)} via "
                f"{', '.join('NET/' + t for t in transports) or '-'}"]
    if log.uses_socket:
        cause = socket_cause(log, facts, expected_hcas)
        return CheckResult(check="nccl-transport", target=target, status=Status.FAIL,
                           summary=f"NCCL used NET/Socket: {cause}",
                           evidence=evidence + log.warnings[:3])
    if log.uses_ib:
        return CheckResult(check="nccl-transport", target=target, status=Status.PASS,
                           summary="NCCL used " + ", ".join(f"NET/{t}" for t in transports),
                           evidence=evidence)
    return CheckResult(check="nccl-transport", target=target, status=Status.UNMEASURED,
                       summary="the log names no network transport (no `Using network` and no "
                       "connection line): was NCCL_DEBUG=INFO set and did NCCL initialise?",
                       evidence=evidence)


def hca_check(target: str, log: NcclLog, expected_hcas: list[str]) -> CheckResult:
    seen = [h.ref for h in log.hcas]
    evidence = [f"NCCL: {', '.join(f'{h.ref}/{h.link_layer}' for h in log.hcas) or '-'}",
                f"expected: {', '.join(expected_hcas) or '-'}"]
    if not log.hcas:
        return CheckResult(check="nccl-hcas", target=target, status=Status.UNMEASURED,
                           summary="NCCL printed no `NET/IB : Using` list", evidence=evidence)
    if not expected_hcas:
        return CheckResult(check="nccl-hcas", target=target, status=Status.SKIP,
                           summary=f"NCCL took {', '.join(seen)}; no expected list to compare",
                           evidence=evidence)

    def matches(want: str, ref: str) -> bool:
        w = want.lstrip("=^")
        return ref == w if ":" in w else ref.split(":", 1)[0] == w

    missing = [w for w in expected_hcas if not any(matches(w, r) for r in seen)]
    extra = [r for r in seen if not any(matches(w, r) for w in expected_hcas)]
    if missing or extra:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unexpected {', '.join(extra)}"] if extra else [])
        return CheckResult(check="nccl-hcas", target=target, status=Status.FAIL,
                           summary="NCCL's HCAs differ from the expected: " + "; ".join(parts),
                           evidence=evidence)
    return CheckResult(check="nccl-hcas", target=target, status=Status.PASS,
                       summary=f"NCCL took the expected HCAs: {', '.join(seen)}", evidence=evidence)


def gdr_check(target: str, log: NcclLog, facts: PodFacts) -> CheckResult:
    gdr = log.gdr
    evidence = [f"GDRDMA connections: {sum(c.gdr for c in log.connections)}/"
                f"{len(log.connections)}"] + [f"GPU Direct RDMA Disabled for {h}"
                                               for h in log.gdr_disabled_hcas]
    if gdr is None:
        return CheckResult(check="nccl-gdrdma", target=target, status=Status.UNMEASURED,
                           summary="no IB connection line in the log to read GDRDMA from",
                           evidence=evidence)
    if gdr:
        return CheckResult(check="nccl-gdrdma", target=target, status=Status.PASS,
                           summary="every IB connection is GDRDMA (GPUDirect RDMA)",
                           evidence=evidence)
    if facts.peermem_loaded is False:
        why = "nvidia_peermem is not loaded on the node (modprobe nvidia_peermem)"
    elif log.gdr_disabled_hcas:
        why = ("NCCL disabled it per HCA: the GPU<->NIC distance exceeds NCCL_NET_GDR_LEVEL, or "
               "neither peermem nor DMA-BUF is usable")
    else:
        why = "some IB connections lack /GDRDMA (GPU and NIC too far apart?)"
    return CheckResult(check="nccl-gdrdma", target=target, status=Status.FAIL,
                       summary=f"GPUDirect RDMA asked but not used: {why}", evidence=evidence)


def gid_check(target: str, log: NcclLog, expected: dict[str, str]) -> CheckResult:
    """The GID settings NCCL echoed (ENV subsystem) against what dualnet derived for the pod."""
    keys = ("NCCL_IB_GID_INDEX", "NCCL_IB_ADDR_FAMILY", "NCCL_IB_ADDR_RANGE")
    echoed = {k: log.env[k] for k in keys if k in log.env}
    evidence = [f"{k}={v}" for k, v in echoed.items()] + [f"localGid {g}" for g in log.local_gids]
    if not echoed:
        return CheckResult(check="nccl-gid", target=target, status=Status.UNMEASURED,
                           summary="NCCL echoed no GID setting (NCCL prints the GID it uses only "
                           "as ENV echoes: NCCL_DEBUG_SUBSYS needs ENV)", evidence=evidence)
    wrong = [f"{k}={echoed[k]} (expected {v})" for k, v in expected.items()
             if k in echoed and echoed[k] != v]
    if wrong:
        return CheckResult(check="nccl-gid", target=target, status=Status.FAIL,
                           summary="NCCL read other GID settings: " + "; ".join(wrong),
                           evidence=evidence)
    return CheckResult(check="nccl-gid", target=target, status=Status.PASS,
                       summary="NCCL read " + ", ".join(f"{k}={v}" for k, v in echoed.items()),
                       evidence=evidence)


def nccl_checks(target: str, text: str, *, expected_hcas: list[str] | None = None,
                gpudirect: bool = False, facts: PodFacts | None = None,
                expected_gid: dict[str, str] | None = None) -> list[CheckResult]:
    """Every NCCL-log check for one rank's log; a log that does not parse could not measure."""
    facts = facts or PodFacts()
    try:
        log = parse_nccl_debug(text)
    except ParseError as exc:
        return [CheckResult(check="nccl-transport", target=target, status=Status.UNMEASURED,
                            summary=f"NCCL's log could not be read: {exc.message}",
                            evidence=text.strip().splitlines()[-5:])]
    wanted = expected_hcas or []
    out = [transport_check(target, log, facts, wanted)]
    if log.uses_ib or log.hcas:
        out.append(hca_check(target, log, wanted))
    if gpudirect:
        out.append(gdr_check(target, log, facts))
    if expected_gid:
        out.append(gid_check(target, log, expected_gid))
    return out
