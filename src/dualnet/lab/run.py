"""One lab run: build the namespaces, attach every pod as Multus would (primary eth0, then the
NAD as net1, then CHECK), check, tear down and prove nothing is left. Teardown runs on success,
on failure, on exceptions and on SIGINT/SIGTERM."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from dualnet.errors import DualnetError, HostError, UsageError
from dualnet.lab import checks, netns, topology, where
from dualnet.lab.cni import supports_check
from dualnet.lab.conflist import Attachment, ChainOutcome, add, check, delete
from dualnet.lab.host import preflight
from dualnet.lab.models import (
    Check,
    CniErrorResult,
    LabReport,
    NetworkAttachmentDefinition,
    PodReport,
    Timing,
)
from dualnet.lab.rewrite import (
    KERNEL_LINK_PLUGINS,
    MASTER_PLUGINS,
    LabConfig,
    prepare,
    static_address_for,
)
from dualnet.lab.status import network_status
from dualnet.lab.topology import PRIMARY_NETWORK, Names, Topology
from dualnet.parse.network_status import NetworkStatus, dump_network_status

MAX_PODS = 64
DEL_WORKERS = 4
NAD_IFNAME = "net1"
# the plugins of containernetworking-plugins; any other type must come from elsewhere
STANDARD_PLUGINS = frozenset({
    "bandwidth", "bridge", "dhcp", "firewall", "host-device", "host-local", "ipvlan", "loopback",
    "macvlan", "portmap", "ptp", "sbr", "static", "tuning", "vlan", "vrf", "dummy", "tap"})

StepHook = Callable[[str], None]
# checks a caller adds to a run (e.g. `lab --vm`'s RDMA transfers): called after the lab's own
# checks passed, while the pods still exist
ExtraChecks = Callable[[Topology, LabConfig, list[PodReport]], list[Check]]


class LabInterruptedError(DualnetError):
    """SIGINT/SIGTERM during a run; raised after the teardown finished."""

    exit_code = 130


@dataclass
class _Attached:
    pod: int
    label: str
    config: dict[str, Any]
    att: Attachment
    result: dict[str, Any] | None = None
    added: bool = False


class _SignalGuard:
    """One handler for SIGINT/SIGTERM for the whole run: while working it raises (so the
    `finally` that tears down runs); while tearing down it only records, so a second Ctrl-C
    cannot leave half a lab. One handler, flipped by a flag, leaves no gap between the two."""

    def __init__(self) -> None:
        self.deferring = False
        self.pending: list[int] = []
        # signals whose exception was raised: one raised inside a __del__ (a Popen collected
        # mid-run) is swallowed by the interpreter, so the run must still end as interrupted
        self.raised: list[int] = []
        self._old: dict[int, Any] = {}

    def _handler(self, signum: int, _frame: FrameType | None) -> None:
        if self.deferring:
            self.pending.append(signum)
            return
        self.raised.append(signum)
        raise LabInterruptedError(f"interrupted by {signal.Signals(signum).name}")

    def __enter__(self) -> _SignalGuard:
        try:
            for s in (signal.SIGINT, signal.SIGTERM):
                self._old[s] = signal.signal(s, self._handler)
        except ValueError:  # not the main thread: no handlers, the finally still runs
            pass
        return self

    def __exit__(self, *_exc: object) -> None:
        for s, h in self._old.items():
            signal.signal(s, h)


def _cni_args(names: Names, i: int) -> str:
    # what a Kubernetes runtime / Multus sends; IgnoreUnknown keeps macvlan from rejecting it
    return (f"IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME={names.pod(i)};"
            f"K8S_POD_INFRA_CONTAINER_ID={names.container_id(i)}")


def _pod_config(lab: LabConfig, i: int) -> dict[str, Any]:
    """The NAD config for pod `i`: per-pod `ips` through runtimeConfig where static IPAM
    declares the capability (what each pod's networks annotation would carry)."""
    if not lab.static_ips_capability:
        return lab.config
    ips = static_address_for(lab.config, i, lab.static_base)
    conf = dict(lab.config)
    if "plugins" in conf:
        conf["plugins"] = [
            {**p, "runtimeConfig": {**(p.get("runtimeConfig") or {}), "ips": ips}}
            if (p.get("capabilities") or {}).get("ips") else p for p in conf["plugins"]]
    else:
        conf["runtimeConfig"] = {**(conf.get("runtimeConfig") or {}), "ips": ips}
    return conf


def explain(err: CniErrorResult, lab: LabConfig, topo: Topology) -> str:
    """The plugin's terse error plus the cause, where 1.1.1's words do not name it."""
    text = err.text()
    low = text.lower()
    node_nics = _node_nics(topo)
    have = f"; the node has: {', '.join(node_nics) or 'no NIC'}"
    if "link not found" in low and err.plugin in MASTER_PLUGINS and lab.master:
        return f"{text} -> master {lab.master!r} not found on the node{have}"
    if "failed to find host device" in low:
        return f"{text} -> host-device device {lab.device!r} not found on the node{have}"
    if "incompatible cni versions" in low:
        return (f"{text} -> cniVersion {lab.config.get('cniVersion')!r} is not supported by "
                "these plugins (containernetworking-plugins 1.1.1 stop at 1.0.0)")
    if "no default route interface" in low:
        return f"{text} -> `master` is not set and the node has no default route"
    return text


def _node_nics(topo: Topology) -> list[str]:
    """The NICs the (first) node really has, as the plugin saw them."""
    if not topo.nodes:
        return []
    skip = {"lo", topo.names.primary_bridge}
    try:
        names = [str(i.get("ifname")) for i in netns.links(topo.nodes[0])]
    except netns.IpError:
        return []
    return sorted(n for n in names if n not in skip and not n.startswith("veth"))


def kernel_unsupported(err: CniErrorResult) -> str:
    """A verdict when the kernel lacks the link type (not a fault of the NAD), else ''."""
    if err.plugin in KERNEL_LINK_PLUGINS and "operation not supported" in err.msg.lower():
        return (f"{err.plugin} is not supported by this kernel ({KERNEL_LINK_PLUGINS[err.plugin]}"
                f" is off): the plugin said {err.msg!r}. Not a fault of the NAD; rehearse it on "
                "a kernel with that option")
    return ""


def run_lab(
    nad: NetworkAttachmentDefinition,
    *,
    pods: int = 2,
    cni_bin: Path | str | None = None,
    keep: bool = False,
    node_nic: str | None = None,
    run_id: str | None = None,
    on_step: StepHook | None = None,
    extra_checks: ExtraChecks | None = None,
) -> LabReport:
    """Rehearse `nad` on `pods` pods with the real plugins and return the report. `on_step` is
    called with each step's name (tests inject failures there)."""
    if not 1 <= pods <= MAX_PODS:
        raise UsageError(f"--pods: {pods} is out of range", hint=f"1 to {MAX_PODS}")
    t_start = time.perf_counter()
    run_id = run_id or _free_run_id(topology.run_id_prefix(os.environ))
    if netns.list_netns(f"{topology.PREFIX}{run_id}-"):
        raise UsageError(f"run id {run_id!r}: namespaces {topology.PREFIX}{run_id}-* exist "
                         "already", hint="delete them with `ip netns delete NAME`")
    names = Names(run_id)
    run_dir = Path(tempfile.mkdtemp(prefix=f"dualnet-lab-{run_id}-", dir=where.current().scratch))
    lab = prepare(nad.config, run_dir)
    types = lab.plugin_types
    report = LabReport(nad=f"{nad.namespace}/{nad.name}", nad_type="+".join(types),
                       cni_version=nad.cni_version, run_id=run_id, verdict="pass",
                       rewrites=list(lab.rewrites))
    try:
        if lab.unsupported:
            report.verdict, report.reason = "unsupported", lab.unsupported
            return report
        foreign = [t for t in [*types, *lab.ipam_types] if t not in STANDARD_PLUGINS]
        needed = {"bridge", "host-local", *(t for t in [*types, *lab.ipam_types]
                                            if t in STANDARD_PLUGINS)}
        bin_dir = preflight(cni_bin, needed)
        missing = [t for t in foreign if not (bin_dir / t).is_file()]
        if missing:
            report.verdict = "fail"
            report.reason = (f"plugin {', '.join(repr(m) for m in missing)} is not in {bin_dir} "
                             "and not part of containernetworking-plugins")
            return report
        topo = Topology(names=names, node_nic=node_nic)
        try:
            _run(nad, lab, topo, report, bin_dir, run_dir, pods, keep, on_step, extra_checks)
        except netns.IpError as exc:
            # the lab's own plumbing failed (not the NAD): after teardown, say which command
            raise HostError(f"lab setup failed: {exc}",
                            hint="is another tool managing these namespaces? see `ip netns`"
                            ) from exc
    finally:
        if not report.kept:
            shutil.rmtree(run_dir, ignore_errors=True)
        report.timings.append(Timing(step="total", ms=(time.perf_counter() - t_start) * 1000))
    return report


def _free_run_id(prefix: str) -> str:
    for _ in range(16):
        rid = prefix + secrets.token_hex(2)
        if not netns.list_netns(f"{topology.PREFIX}{rid}-"):
            return rid
    return prefix + secrets.token_hex(2)


def _step(hook: StepHook | None, name: str) -> None:
    if hook is not None:
        hook(name)


def _run(nad: NetworkAttachmentDefinition, lab: LabConfig, topo: Topology, report: LabReport,
         bin_dir: Path, run_dir: Path, pods: int, keep: bool, on_step: StepHook | None,
         extra_checks: ExtraChecks | None = None) -> None:
    names = topo.names
    attached: list[_Attached] = []
    calls: list[tuple[str, float]] = []
    primary = topology.primary_config(names, topology.pod_subnet(lab.config), run_dir)
    finished = False
    with _SignalGuard() as guard:
        try:
            t0 = time.perf_counter()
            # host-device hands a whole NIC to one pod, and Linux refuses two vlan uppers with one
            # id on one master: every pod gets its own node there, as on a cluster
            node_count = pods if lab.device or "vlan" in lab.plugin_types else 1
            try:
                topology.build(topo, lab, node_count)
            except UsageError as exc:
                report.verdict, report.reason = "fail", f"cannot build the node: {exc.message}"
                finished = True
                return
            report.timings.append(Timing(step="build namespaces", ms=_ms(t0)))
            _step(on_step, "built")
            t0 = time.perf_counter()
            for i in range(pods):
                if not _attach_pod(i, nad, lab, topo, primary, bin_dir, attached, report,
                                   calls, on_step):
                    break
            report.timings.append(Timing(step=f"attach {pods} pod(s): ADD+CHECK", ms=_ms(t0)))
            _plugin_timings(calls, report)
            if report.verdict == "pass":
                t0 = time.perf_counter()
                report.checks.extend(checks.run_checks(topo, lab, report.pods, NAD_IFNAME))
                if extra_checks is not None and not any(c.result == "fail"
                                                        for c in report.checks):
                    report.checks.extend(extra_checks(topo, lab, report.pods))
                report.timings.append(Timing(step="checks", ms=_ms(t0)))
                failed = [c for c in report.checks if c.result == "fail"]
                if failed:
                    report.verdict = "fail"
                    report.reason = "; ".join(f"{c.name}{'@' + c.pod if c.pod else ''}: "
                                              f"{c.evidence}" for c in failed[:3])
            _step(on_step, "checked")
            finished = True
        finally:
            guard.deferring = True
            if keep and finished:
                report.kept = True
                report.cleanup.append("kept: " + " ".join(topo.created) + f"; state in "
                                      f"{run_dir}; remove with: ip netns delete NAME (each)")
            else:
                t0 = time.perf_counter()
                _teardown(topo, attached, report, run_dir)
                report.timings.append(Timing(step="teardown + verify", ms=_ms(t0)))
    if guard.raised and finished:
        raise LabInterruptedError(f"interrupted by {signal.Signals(guard.raised[0]).name} "
                                  "(teardown completed)")
    if guard.pending and finished:
        raise LabInterruptedError("interrupted during teardown (teardown completed)")


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def _attach_pod(i: int, nad: NetworkAttachmentDefinition, lab: LabConfig, topo: Topology,
                primary: dict[str, Any], bin_dir: Path, attached: list[_Attached],
                report: LabReport, calls: list[tuple[str, float]],
                on_step: StepHook | None) -> bool:
    names = topo.names
    pod_ns = topology.add_pod(topo, i)
    pod = PodReport(pod=names.pod(i), netns=pod_ns, container_id=names.container_id(i))
    report.pods.append(pod)
    node = topo.node_of(i)

    def attachment(ifname: str) -> Attachment:
        return Attachment(bin_dir=bin_dir, netns_path=netns.netns_path(pod_ns), ifname=ifname,
                          container_id=names.container_id(i), cni_args=_cni_args(names, i),
                          run_in_netns=node)

    steps: list[tuple[str, dict[str, Any], str]] = [
        ("primary", primary, "eth0"), ("nad", _pod_config(lab, i), NAD_IFNAME)]
    for label, conf, ifname in steps:
        rec = _Attached(pod=i, label=label, config=conf, att=attachment(ifname))
        attached.append(rec)  # recorded before ADD: a failed ADD is DEL'd too
        outcome = add(conf, rec.att)
        rec.result, rec.added = outcome.result, outcome.ok
        _record_calls(calls, outcome, f"{label} ")
        version = str(conf.get("cniVersion", "0.2.0"))
        if outcome.error is None and outcome.result is not None:
            if not supports_check(version):
                report.checks.append(Check(
                    name=f"cni-check-{label}", pod=pod.pod, passed=False, skipped=True,
                    evidence=f"not run: cniVersion {version} has no CHECK (0.4.0 and later)"))
            else:
                checked = check(conf, rec.att, outcome.result)
                _record_calls(calls, checked, f"{label} ")
                evidence = (f"CHECK failed: {checked.error.text()}" if checked.error else
                            f"CHECK rc 0 ({len(checked.calls)} plugin(s), with prevResult)")
                report.checks.append(Check(name=f"cni-check-{label}", pod=pod.pod,
                                           passed=checked.error is None, evidence=evidence))
                if checked.error is not None:
                    pod.error = f"CHECK {label}: {explain(checked.error, lab, topo)}"
                    report.verdict, report.reason = "fail", f"{pod.pod}: {pod.error}"
                    checks.describe_pod(pod)
                    return False
        if outcome.error is not None:
            unsupported = kernel_unsupported(outcome.error) if label == "nad" else ""
            if unsupported:
                report.verdict, report.reason = "unsupported", unsupported
            else:
                where = "primary network (the lab's own bridge)" if label == "primary" else \
                    f"NAD {nad.name}"
                pod.error = f"ADD {where}: {explain(outcome.error, lab, topo)}"
                report.verdict, report.reason = "fail", f"{pod.pod}: {pod.error}"
            checks.describe_pod(pod)  # shows what a failed ADD left behind (e.g. a DOWN net1)
            return False
        if label == "primary":
            pod.primary_result = rec.result or {}
            pod.network_status.extend(_multus_form(
                network_status(pod.primary_result, PRIMARY_NETWORK, default=True)))
        else:
            pod.nad_result = rec.result or {}
            pod.network_status.extend(_multus_form(
                network_status(pod.nad_result, f"{nad.namespace}/{nad.name}")))
        _step(on_step, f"added:{label}:{i}")
    checks.describe_pod(pod)
    return True


def _record_calls(calls: list[tuple[str, float]], outcome: ChainOutcome, prefix: str) -> None:
    calls.extend((f"{prefix}{c.plugin} {c.command}", c.elapsed_ms) for c in outcome.calls)


def _plugin_timings(calls: list[tuple[str, float]], report: LabReport) -> None:
    groups: dict[str, list[float]] = {}
    for key, ms in calls:
        groups.setdefault(key, []).append(ms)
    for key, values in groups.items():
        report.timings.append(Timing(step=f"{key} mean", ms=sum(values) / len(values)))
        if len(values) > 1:
            report.timings.append(Timing(step=f"{key} max", ms=max(values)))


def _teardown(topo: Topology, attached: list[_Attached], report: LabReport,
              run_dir: Path) -> None:
    """DEL every attachment in reverse (also failed ADDs), verify pods and nodes are clean,
    delete the namespaces, verify none is left and no host-local reservation remains."""
    leftovers: list[str] = []
    try:
        _del_and_inspect(topo, attached, report, run_dir, leftovers)
    finally:
        # whatever DEL or the inspection raised, the namespaces still go
        topology.destroy(topo)
    leftovers.extend(checks.leftover_namespaces(topo))
    report.cleanup.append(f"DEL {len(attached)} attachment(s), deleted {len(topo.created)} "
                          "namespace(s)")
    if leftovers:
        report.cleanup.extend(f"LEFT: {x}" for x in leftovers)
        report.verdict = "fail" if report.verdict == "pass" else report.verdict
        report.reason = report.reason or "teardown left: " + "; ".join(leftovers[:3])
    else:
        report.cleanup.append("verified: no namespaces, links or host-local reservations left")


def _del_and_inspect(topo: Topology, attached: list[_Attached], report: LabReport,
                     run_dir: Path, leftovers: list[str]) -> None:
    by_pod: dict[int, list[_Attached]] = {}
    for rec in attached:
        by_pod.setdefault(rec.pod, []).append(rec)

    def del_pod(recs: list[_Attached]) -> list[tuple[_Attached, ChainOutcome]]:
        # within a pod strictly in reverse (net1 before eth0), as a runtime does
        return [(rec, delete(rec.config, rec.att, rec.result)) for rec in reversed(recs)]

    # pods are independent (host-local serialises on its lock file), so DEL them side by side
    with ThreadPoolExecutor(max_workers=DEL_WORKERS) as pool:
        results = [r for rs in pool.map(del_pod, list(reversed(by_pod.values()))) for r in rs]
    for rec, out in results:
        if out.error is not None:
            note = f"DEL {rec.label} {topo.names.pod(rec.pod)}: {out.error.text()}"
            if rec.added:
                leftovers.append(note)
            else:
                report.cleanup.append(note + " (after a failed ADD; tolerated)")
    for line in checks.leftover_links(topo):
        # a pod link that DEL could not remove (macvlan 1.1.1 leaves one when IPAM fails and
        # DEL then fails on the same bad IPAM): it dies with the pod netns; say so, not hide it
        if line.startswith("pod "):
            report.cleanup.append(f"{line}: not removed by DEL; removed with its namespace")
        else:
            leftovers.append(line)
    leftovers.extend(checks.leftover_reservations(run_dir / "host-local"))


def _multus_form(entries: list[NetworkStatus]) -> list[dict[str, Any]]:
    """Entries as Multus serialises them (empty fields omitted, IPs bare)."""
    data: list[dict[str, Any]] = json.loads(dump_network_status(entries))
    return data


def annotation(pod: PodReport) -> str:
    """The network-status annotation value for `pod`, byte for byte as Multus writes it."""
    return dump_network_status(NetworkStatus.model_validate(e) for e in pod.network_status)
