"""`verify` on a DRA pod: what the driver wrote in `ResourceClaim.status.devices[]` against what
`ip addr` shows inside the pod. Pure functions over the claim (as the API returns it, a dict),
the pod's `ip addr` output and the pod's events.

dranet (kubernetes-sigs/dranet, pkg/driver's RunPodSandbox hook) writes, per allocated device:
`Ready` once the netdev is in the pod (reason `NetworkDeviceReady`; `RDMAOnlyDeviceReady` for a
device without netdev), `NetworkReady` once its addresses and routes are set, `RDMALinkReady`
once the RDMA link moved in (exclusive RDMA netns mode only), and `networkData`
(`interfaceName`, `ips`, `hardwareAddress`). On failure it records pod events
(`NetworkDeviceAttachFailed`, `RDMADeviceAttachFailed`, ...): they are the evidence of a
missing condition.
"""

from __future__ import annotations

from typing import Any

from dualnet.errors import UsageError
from dualnet.parse.ip import parse_ip_addr
from dualnet.verify.models import CheckResult, Status

CLAIM_CHECK = "dra-claim"
INTERFACE_CHECK = "dra-interface"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _event_lines(events: list[dict[str, Any]] | None) -> list[str]:
    """Warning events of the pod, oldest first, as `kubectl describe` shows them."""
    lines = []
    for e in events or []:
        if e.get("type") == "Warning":
            lines.append(f"event {e.get('reason', '?')}: {e.get('message', '')}".rstrip())
    return lines or ["no Warning events on the pod"]


def required_conditions(device_status: dict[str, Any], *, exclusive_rdma: bool) -> list[str]:
    """The conditions dranet sets on a device that was attached completely."""
    has_netdev = bool(_dict(device_status.get("networkData")).get("interfaceName"))
    wanted = ["Ready"]
    if has_netdev:
        wanted.append("NetworkReady")
    if exclusive_rdma:
        wanted.append("RDMALinkReady")
    return wanted


def check_claim(
    target: str,
    claim: dict[str, Any],
    ip_addr: str | None,
    events: list[dict[str, Any]] | None = None,
    *,
    exclusive_rdma: bool = False,
) -> list[CheckResult]:
    """One `dra-claim` row per allocated device (its conditions), and one `dra-interface` row
    for each device with networkData (name and addresses against the pod's `ip addr`; `could
    not measure` when `ip addr` could not be run or read)."""
    meta = _dict(claim.get("metadata"))
    claim_name = f"{meta.get('namespace', '?')}/{meta.get('name', '?')}"
    status = _dict(claim.get("status"))
    results = _list(_dict(_dict(status.get("allocation")).get("devices")).get("results"))
    if not results:
        return [CheckResult(
            check=CLAIM_CHECK, target=target, status=Status.FAIL,
            summary=f"claim {claim_name} is not allocated: the scheduler found no device",
            evidence=_event_lines(events),
        )]
    written = {
        (d.get("driver"), d.get("pool"), d.get("device")): d
        for d in map(_dict, _list(status.get("devices")))
    }
    out: list[CheckResult] = []
    for result in map(_dict, results):
        key = (result.get("driver"), result.get("pool"), result.get("device"))
        row = f"{target} {key[0]}/{key[2]}"
        device_status = written.get(key)
        if device_status is None:
            out.append(CheckResult(
                check=CLAIM_CHECK, target=row, status=Status.FAIL,
                summary=f"{key[0]} wrote no status for {key[2]} in claim {claim_name}: the "
                "device was not attached to the pod",
                evidence=_event_lines(events),
            ))
            continue
        out.append(_conditions_row(row, device_status, events, exclusive_rdma=exclusive_rdma))
        data = _dict(device_status.get("networkData"))
        if data.get("interfaceName"):
            out.append(_interface_row(row, data, ip_addr))
    return out


def _conditions_row(row: str, device_status: dict[str, Any],
                    events: list[dict[str, Any]] | None, *, exclusive_rdma: bool) -> CheckResult:
    seen = {
        str(c.get("type")): str(c.get("status"))
        for c in map(_dict, _list(device_status.get("conditions")))
    }
    wanted = required_conditions(device_status, exclusive_rdma=exclusive_rdma)
    shown = [f"{t}={seen.get(t, 'missing')}" for t in wanted]
    bad = [t for t in wanted if seen.get(t) != "True"]
    if bad:
        return CheckResult(
            check=CLAIM_CHECK, target=row, status=Status.FAIL,
            summary="not True: " + ", ".join(f"{t} ({seen.get(t, 'missing')})" for t in bad),
            evidence=shown + _event_lines(events),
        )
    return CheckResult(check=CLAIM_CHECK, target=row, status=Status.PASS,
                       summary=", ".join(shown), evidence=shown)


def _interface_row(row: str, data: dict[str, Any], ip_addr: str | None) -> CheckResult:
    name = str(data["interfaceName"])
    claimed = sorted(str(ip) for ip in _list(data.get("ips")))
    if ip_addr is None:
        return CheckResult(check=INTERFACE_CHECK, target=row, status=Status.UNMEASURED,
                           summary="`ip addr` could not be run in the pod")
    try:
        interfaces = parse_ip_addr(ip_addr)
    except UsageError as exc:
        return CheckResult(check=INTERFACE_CHECK, target=row, status=Status.UNMEASURED,
                           summary=f"`ip addr` output does not parse: {exc.message}")
    iface = next((i for i in interfaces if i.name == name), None)
    claim_line = f"claim networkData: {name} ips={','.join(claimed) or '-'}"
    if iface is None:
        return CheckResult(
            check=INTERFACE_CHECK, target=row, status=Status.FAIL,
            summary=f"the claim says {name}, the pod has no such interface",
            evidence=[claim_line, "pod interfaces: " + ", ".join(i.name for i in interfaces)],
        )
    pod_line = f"pod ip addr: {name} {','.join(iface.addresses) or '-'}"
    missing = [ip for ip in claimed if ip not in iface.addresses]
    if missing:
        return CheckResult(
            check=INTERFACE_CHECK, target=row, status=Status.FAIL,
            summary=f"{name} lacks the claim's address(es) {', '.join(missing)}",
            evidence=[claim_line, pod_line],
        )
    return CheckResult(check=INTERFACE_CHECK, target=row, status=Status.PASS,
                       summary=f"{name} carries {', '.join(claimed) or 'no claimed address'}",
                       evidence=[claim_line, pod_line])
