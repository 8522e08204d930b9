"""`prepare` for real in the guest: prepare's engine and steps, on a `GuestHost`, against the
guest's kernel. In the guest's root namespace (the guest is the node): a management link (a
dummy with the default route) and a training link (a veth at MTU 1500). The steps:
load ib_ipoib (unloaded first, so the load is real), RDMA netns mode exclusive, MTU 9000 on
the training link; all with `persist: false` (the guest's / is the host's, read-only).

Checked: the dry run changes nothing; the real run changes each; a second run changes nothing;
switching the netns mode while a network namespace exists fails with the kernel's EBUSY and
changes nothing; an MTU step on the management link is refused. The guest is left as found
(netns mode shared, links and route removed).
"""

from __future__ import annotations

import shlex

from dualnet.lab import where
from dualnet.lab.models import Check
from dualnet.lab.vm.guesthost import GuestHost
from dualnet.prepare import PrepareReport, StepStatus, parse_steps, prepare

MODULE = "ib_ipoib"  # not loaded by the lab; a real plan's module (ipoib mode)
SETUP = ("modprobe -r {mod} 2>/dev/null; ip link add {m} type dummy && "
         "ip addr add 10.253.0.2/24 dev {m} && ip link set {m} up && "
         "ip route add default via 10.253.0.1 dev {m} && "
         "ip link add {t} mtu 1500 type veth peer name {u} && ip link set {t} up && "
         "ip link set {u} up")
TEARDOWN = "ip link delete {m}; ip link delete {t}; ip netns delete {ns} 2>/dev/null; " \
           "rdma system set netns shared; true"


def _state(ex: where.Executor, train: str) -> str:
    """What the steps change, read in the guest: module, netns mode, MTU."""
    script = (f"grep -c '^{MODULE} ' /proc/modules; rdma system | cut -d' ' -f2; "
              f"cat /sys/class/net/{shlex.quote(train)}/mtu")
    return " ".join(ex.run(["sh", "-c", script]).out.split())


def _statuses(report: PrepareReport) -> list[str]:
    return [s.status.value for s in report.steps]


def _acts(report: PrepareReport) -> list[str]:
    return [a.render() for a in report.journal if a.phase == "act"]


def prepare_checks(run_id: str) -> list[Check]:
    ex = where.current()
    mgmt, train, peer, ns = f"dnm{run_id}", f"dnt{run_id}", f"dnu{run_id}", f"dnq{run_id}"
    q = {k: shlex.quote(v) for k, v in
         {"m": mgmt, "t": train, "u": peer, "ns": ns, "mod": MODULE}.items()}
    # as a user's STEPS.yaml for `dualnet prepare --steps` would give them
    steps = parse_steps([{"kind": "load_modules", "modules": [MODULE], "persist": False},
                         {"kind": "netns_mode", "mode": "exclusive", "persist": False},
                         {"kind": "mtu", "interface": train, "mtu": 9000}])
    out: list[Check] = []
    try:
        busy = ex.run(["ip", "netns", "list"]).out.strip()
        res = ex.run(["sh", "-c", SETUP.format(**q)], timeout_s=60)
        if not res.ok or busy:
            why = f"namespaces exist: {busy}" if busy else res.err.strip()[-200:]
            return [Check(name="prepare-in-guest", passed=False,
                          evidence=f"setting up the guest's links: {why}")]
        before = _state(ex, train)
        dry = prepare(steps, GuestHost(ex, dry_run=True))
        after_dry = _state(ex, train)
        out.append(Check(
            name="prepare-dry-run-changes-nothing",
            passed=_statuses(dry) == ["would-change"] * 3 and after_dry == before,
            evidence=f"steps {_statuses(dry)}; (module loaded, netns, mtu) {before!r} -> "
            f"{after_dry!r}; would run: {'; '.join(_acts(dry))[:200]}"))
        real = prepare(steps, GuestHost(ex))
        after = _state(ex, train)
        out.append(Check(
            name="prepare-in-guest", passed=_statuses(real) == ["changed"] * 3 and
            after == "1 exclusive 9000",
            evidence=f"steps {_statuses(real)} (" + "; ".join(
                f"{s.title}: {s.error or s.message}" for s in real.steps) + f"); guest now "
            f"{after!r} (module loaded, netns mode, mtu)"))
        again = prepare(steps, GuestHost(ex))
        out.append(Check(
            name="prepare-second-run-changes-nothing",
            passed=_statuses(again) == ["unchanged"] * 3 and not _acts(again),
            evidence=f"steps {_statuses(again)}; commands run: {_acts(again) or 'none'}"))
        out.append(_ebusy(ex, ns))
        out.append(_refuses_management(ex, mgmt))
    finally:
        ex.run(["sh", "-c", TEARDOWN.format(**q)], timeout_s=60)
    return out


def _ebusy(ex: where.Executor, ns: str) -> Check:
    """Back to shared while a namespace exists: the kernel refuses; then without it: done."""
    ex.run(["ip", "netns", "add", ns])
    back = parse_steps([{"kind": "netns_mode", "mode": "shared", "persist": False}])
    refused = prepare(back, GuestHost(ex))
    still = ex.run(["rdma", "system"]).out.split()[1:2]
    ex.run(["ip", "netns", "delete", ns])
    done = prepare(back, GuestHost(ex))
    step = refused.steps[0]
    ok = (step.status is StepStatus.FAILED and "busy" in (step.error or "").lower()
          and "namespace" in (step.hint or "") and still == ["exclusive"]
          and done.steps[0].status is StepStatus.CHANGED)
    return Check(name="prepare-netns-ebusy", passed=ok,
                 evidence=f"with netns {ns}: {step.status.value}: {(step.error or '')[-90:]}; "
                 f"mode stayed {' '.join(still)}; without it: {done.steps[0].status.value}")


def _refuses_management(ex: where.Executor, mgmt: str) -> Check:
    before = ex.run(["cat", f"/sys/class/net/{mgmt}/mtu"]).out.strip()
    report = prepare(parse_steps([{"kind": "mtu", "interface": mgmt, "mtu": 9000}]),
                     GuestHost(ex))
    after = ex.run(["cat", f"/sys/class/net/{mgmt}/mtu"]).out.strip()
    step = report.steps[0]
    return Check(name="prepare-refuses-management-link",
                 passed=step.status is StepStatus.REFUSED and before == after and
                 not _acts(report),
                 evidence=f"mtu 9000 on {mgmt} (the guest's default route): "
                 f"{step.status.value}: {(step.error or step.message)[:120]}; mtu {before} -> "
                 f"{after}")
