"""CNI rules: plugins for the mode, Multus first, k3s's built-in flannel."""

from __future__ import annotations

from dualnet.doctor import Severity, diagnose
from dualnet.host.models import CniConfigFile, CniState
from dualnet.modes import MODE_CNI_PLUGINS, Mode
from tests.doctor.helpers import ids, only
from tests.doctor.reports import gh200

CNI = {
    "cni.plugins-missing",
    "cni.multus-missing",
    "cni.multus-not-first",
    "cni.k3s-builtin-flannel",
    "cni.first-config-invalid",
}


def _cni(plugins: list[str], files: list[CniConfigFile], k3s: bool | None = False) -> CniState:
    return CniState(
        bin_dirs=["/opt/cni/bin"],
        plugins=plugins,
        conf_dir="/etc/cni/net.d",
        conf_files=files,
        k3s_flannel_builtin=k3s,
    )


MULTUS = CniConfigFile(name="00-multus.conf", kind="conf", plugin_types=["multus-shim"])
FLANNEL = CniConfigFile(
    name="10-flannel.conflist", kind="conflist", plugin_types=["flannel", "portmap"]
)


def test_gh200_chain_is_complete_for_every_mode_it_has_plugins_for() -> None:
    assert not ids(diagnose(gh200(), Mode.SHARED_ROCE)) & CNI
    assert not ids(diagnose(gh200(), Mode.HOST_DEVICE)) & CNI


def test_empty_cni_dirs_for_shared_roce() -> None:
    found = diagnose(gh200(cni=_cni([], [])), Mode.SHARED_ROCE)
    missing = only(found, "cni.plugins-missing")
    assert missing.severity is Severity.ERROR
    assert missing.evidence["missing"] == ["macvlan", "host-local", "multus-shim"]
    assert missing.fix[0] == (
        "curl -L https://github.com/containernetworking/plugins/releases/download/v1.5.1/"
        "cni-plugins-linux-arm64-v1.5.1.tgz | tar -xz -C /opt/cni/bin"
    )
    assert any("multus-daemonset-thick.yml" in c for c in missing.fix)
    assert only(found, "cni.multus-missing").severity is Severity.ERROR
    # With no mode nothing is "needed", but a chain without Multus is still worth a warning.
    plain = diagnose(gh200(cni=_cni([], [])))
    assert "cni.plugins-missing" not in ids(plain)
    assert only(plain, "cni.multus-missing").severity is Severity.INFO
    # ... while a chain with another CNI first and no Multus is a warning.
    flannel_only = diagnose(gh200(cni=_cni(["flannel"], [FLANNEL])))
    assert only(flannel_only, "cni.multus-missing").severity is Severity.WARNING


def test_every_mode_asks_for_its_plugins() -> None:
    for mode, need in MODE_CNI_PLUGINS.items():
        f = only(
            diagnose(gh200(cni=_cni(["multus-shim"], [MULTUS, FLANNEL])), mode),
            "cni.plugins-missing",
        )
        assert f.evidence["missing"] == list(need)
        full = _cni(["multus-shim", *need], [MULTUS, FLANNEL])
        assert "cni.plugins-missing" not in ids(diagnose(gh200(cni=full), mode))


def test_rdma_cni_plugin_needed_with_rdma_cni() -> None:
    r = gh200(cni=_cni(["multus-shim", "sriov", "host-local"], [MULTUS, FLANNEL]))
    f = only(diagnose(r, Mode.SRIOV, rdma_cni=True), "cni.plugins-missing")
    assert f.evidence["missing"] == ["rdma"]
    assert any("rdma-cni-daemonset.yaml" in c for c in f.fix)
    assert "cni.plugins-missing" not in ids(diagnose(r, Mode.SRIOV))


def test_first_file_not_multus() -> None:
    early = CniConfigFile(name="00-cilium.conflist", kind="conflist", plugin_types=["cilium-cni"])
    r = gh200(cni=_cni(["multus-shim", "macvlan", "host-local"], [early, MULTUS, FLANNEL]))
    f = only(diagnose(r, Mode.SHARED_ROCE), "cni.multus-not-first")
    assert f.evidence["first_file"] == "00-cilium.conflist"
    assert f.evidence["first_type"] == "cilium-cni"
    assert f.fix[0] == "mv /etc/cni/net.d/00-multus.conf /etc/cni/net.d/00-00-multus.conf"
    late = CniConfigFile(name="90-multus.conflist", kind="conflist", plugin_types=["multus"])
    r2 = gh200(cni=_cni(["multus", "macvlan", "host-local"], [FLANNEL, late]))
    f2 = only(diagnose(r2, Mode.SHARED_ROCE), "cni.multus-not-first")
    assert f2.fix[0] == "mv /etc/cni/net.d/90-multus.conflist /etc/cni/net.d/00-multus.conflist"
    assert f.severity is Severity.ERROR


def test_only_primary_cni_means_multus_missing() -> None:
    r = gh200(cni=_cni(["macvlan", "host-local", "flannel"], [FLANNEL]))
    f = only(diagnose(r, Mode.SHARED_ROCE), "cni.multus-missing")
    assert f.evidence["first_file"] == "10-flannel.conflist"
    assert "cni.multus-not-first" not in ids(diagnose(r, Mode.SHARED_ROCE))


def test_broken_first_file() -> None:
    bad = CniConfigFile(name="00-multus.conf", kind="conf", error="invalid JSON at line 3")
    r = gh200(cni=_cni(["multus-shim", "macvlan", "host-local"], [bad, FLANNEL]))
    f = only(diagnose(r, Mode.SHARED_ROCE), "cni.first-config-invalid")
    assert f.evidence["error"] == "invalid JSON at line 3"


def test_k3s_builtin_flannel() -> None:
    r = gh200(cni=_cni(["macvlan", "host-local"], [], k3s=True))
    found = diagnose(r, Mode.SHARED_ROCE)
    f = only(found, "cni.k3s-builtin-flannel")
    assert f.severity is Severity.WARNING
    assert "--flannel-backend=none" in f.fix[0]
    assert f.persist == ["/etc/rancher/k3s/config.yaml: flannel-backend: none"]
    assert "cni.k3s-builtin-flannel" not in ids(diagnose(gh200(), Mode.SHARED_ROCE))
    # k3s unknown (None) is not judged.
    assert "cni.k3s-builtin-flannel" not in ids(
        diagnose(gh200(cni=_cni(["macvlan"], [MULTUS], k3s=None)), Mode.SHARED_ROCE)
    )


def test_cni_unknown_is_not_judged() -> None:
    found = diagnose(gh200(cni=None), Mode.SHARED_ROCE)
    assert not ids(found) & CNI
    assert "CNI plugins and configs" in only(found, "doctor.facts-unknown").evidence["unknown"]  # type: ignore[operator]
