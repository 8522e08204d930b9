"""`doctor --dra`: the resource.k8s.io/v1 API and the runtime's NRI socket, from real inputs:
the api-resources captures of tests/parse/outputs (through `--from`) and a tree with a real
Unix socket at /var/run/nri/nri.sock (through discover)."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from dualnet.doctor import Severity, diagnose
from dualnet.host.discover import discover
from dualnet.host.models import HostReport, KubeNode, LinkLayer
from dualnet.host.samples import build_sample
from dualnet.parse.from_dir import report_from_dir
from tests.doctor.helpers import ids, only
from tests.doctor.reports import gh200
from tests.helpers import run_cli

OUTPUTS = Path(__file__).resolve().parent.parent / "parse" / "outputs"
DRA = {"dra.resource-api-not-served", "dra.nri-socket-missing", "dra.facts-unknown"}


def _from(tmp_path: Path, capture: str) -> Path:
    folder = tmp_path / "from"
    folder.mkdir()
    suffix = ".json" if capture.endswith(".json") else ".txt"
    shutil.copy(OUTPUTS / capture, folder / f"kubectl_api_resources{suffix}")
    return folder


@pytest.fixture(scope="module")
def gh200_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sample("gh200", tmp_path_factory.mktemp("gh200"))


@pytest.fixture()
def nri_root(gh200_root: Path, tmp_path: Path) -> Iterator[Path]:
    """The gh200 sample tree with a listening Unix socket where containerd puts NRI's."""
    root = tmp_path / "root"
    shutil.copytree(gh200_root, root, symlinks=True)
    sock_dir = root / "var/run/nri"
    sock_dir.mkdir(parents=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(sock_dir / "nri.sock"))
    server.listen(1)
    try:
        yield root
    finally:
        server.close()


@pytest.mark.parametrize("capture", ["api_resources-k8s-1.32-beta.txt", "apis-k8s-1.33-beta.json"])
def test_beta_only_cluster_is_an_error(tmp_path: Path, capture: str) -> None:
    report = report_from_dir(_from(tmp_path, capture))
    f = only(diagnose(report, dra=True), "dra.resource-api-not-served")
    assert f.severity is Severity.ERROR
    older = f.evidence["resource.k8s.io versions served"]
    assert isinstance(older, list) and "resource.k8s.io/v1beta1" in older
    assert "older than 1.34" in f.why


@pytest.mark.parametrize("capture", ["api_resources-k8s-1.34-dra.txt", "api_versions-k8s-1.34.txt"])
def test_v1_served_is_quiet(tmp_path: Path, capture: str) -> None:
    report = report_from_dir(_from(tmp_path, capture))
    found = ids(diagnose(report, dra=True))
    assert "dra.resource-api-not-served" not in found
    # --from cannot see the node's socket: said, not passed
    f = only(diagnose(report, dra=True), "dra.facts-unknown")
    assert f.severity is Severity.INFO and "NRI socket" in f.title


def test_no_resource_group_at_all() -> None:
    r = gh200()
    r.dra.api_versions = ["apps/v1", "v1"]
    f = only(diagnose(r, dra=True), "dra.resource-api-not-served")
    assert f.evidence["resource.k8s.io versions served"] == []
    assert "DRA is off" in f.why


def test_without_dra_flag_nothing_fires(tmp_path: Path) -> None:
    report = report_from_dir(_from(tmp_path, "api_resources-k8s-1.32-beta.txt"))
    report.dra.nri_socket_present = False
    assert not ids(diagnose(report)) & DRA


def test_discover_without_nri_socket(gh200_root: Path) -> None:
    report = discover(gh200_root)
    assert report.dra.nri_socket_present is False
    f = only(diagnose(report, dra=True), "dra.nri-socket-missing")
    assert f.severity is Severity.ERROR
    assert f.evidence["looked at"] == ["/var/run/nri/nri.sock", "/run/nri/nri.sock"]


def test_discover_finds_the_nri_socket(nri_root: Path) -> None:
    report = discover(nri_root)
    assert report.dra.nri_socket == "/var/run/nri/nri.sock"
    assert "dra.nri-socket-missing" not in ids(diagnose(report, dra=True))


def test_a_plain_file_is_not_a_socket(gh200_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(gh200_root, root, symlinks=True)
    (root / "run/nri").mkdir(parents=True)
    (root / "run/nri/nri.sock").write_text("")
    assert discover(root).dra.nri_socket_present is False


def test_cli_flag(gh200_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "doctor", "--root", str(gh200_root), "--dra", "-o", "json")
    assert code == 4
    assert '"dra.nri-socket-missing"' in out
    code, out, _ = run_cli(capsys, "doctor", "--root", str(gh200_root), "-o", "json")
    assert '"dra.nri-socket-missing"' not in out


def _ib_report(tmp_path: Path, *, node: str | None = None) -> HostReport:
    """gh200 with its second port as InfiniBand (IPoIB netdev ibp1s0f1, HCA mlx5_1) and the
    dranet slices capture read through --from."""
    report = report_from_dir(_slices(tmp_path))
    base = gh200()
    dev = base.rdma_devices[1]
    dev.netdevs, dev.ports[0].netdev = ["ibp1s0f1"], "ibp1s0f1"
    dev.ports[0].link_layer = LinkLayer.INFINIBAND
    nic = base.nics[1]
    nic.netdev, nic.netdevs, nic.link_type = "ibp1s0f1", ["ibp1s0f1"], "infiniband"
    base.dra = report.dra
    if node is not None:
        base.kubernetes_node = KubeNode(name=node, allocatable={"rdma/hca_shared": "63"})
    return base


def _slices(tmp_path: Path, capture: str = "resourceslices-dranet-ipoib-rdma-false.json") -> Path:
    folder = tmp_path / "slices"
    folder.mkdir(parents=True)
    shutil.copy(OUTPUTS / capture, folder / "resourceslices.json")
    return folder


def test_ipoib_published_without_rdma(tmp_path: Path) -> None:
    found = diagnose(_ib_report(tmp_path), dra=True)
    (f,) = [f for f in found if f.id == "dra.ipoib-published-without-rdma"]  # node "other" not
    assert f.severity is Severity.ERROR
    assert f.subject == "ibp1s0f1"
    assert f.evidence["RDMA devices on the node"] == ["mlx5_1"]


def test_ipoib_rule_quiet_when_the_node_has_no_hca(tmp_path: Path) -> None:
    report = _ib_report(tmp_path)
    report.rdma_devices = report.rdma_devices[:1]
    report.nics[1].rdma_devices = []
    assert "dra.ipoib-published-without-rdma" not in ids(diagnose(report, dra=True))


def test_ipoib_rule_quiet_when_published_with_rdma(tmp_path: Path) -> None:
    report = _ib_report(tmp_path)
    assert report.dra.devices is not None
    for d in report.dra.devices:
        d.attributes["rdma"] = True
    assert "dra.ipoib-published-without-rdma" not in ids(diagnose(report, dra=True))


def test_device_plugin_and_dra_overlap(tmp_path: Path) -> None:
    f = only(diagnose(_ib_report(tmp_path, node="guest"), dra=True), "dra.device-plugin-overlap")
    assert f.severity is Severity.WARNING
    assert f.evidence["device-plugin resources"] == ["rdma/hca_shared"]
    assert f.evidence["DRA devices (rdma=true)"] == ["dra.net/enp1s0f0np0"]
    assert f.evidence["their PCI addresses"] == ["0000:01:00.0"]


def test_no_overlap_on_another_node_or_with_zero_allocatable(tmp_path: Path) -> None:
    other = _ib_report(tmp_path / "a", node="other")  # other's slice has no rdma=true device
    assert "dra.device-plugin-overlap" not in ids(diagnose(other, dra=True))
    zero = _ib_report(tmp_path / "b", node="guest")
    assert zero.kubernetes_node is not None
    zero.kubernetes_node.allocatable = {"rdma/hca_shared": "0"}
    assert "dra.device-plugin-overlap" not in ids(diagnose(zero, dra=True))



def _plugin_configmap(name: str, config: str) -> str:
    """A device plugin's ConfigMap, as `kubectl -n kube-system get configmap NAME -o yaml`
    prints it."""
    return (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"
            f"  namespace: kube-system\ndata:\n  config.json: |\n    {config}\n")


def test_overlap_names_the_pci_functions_when_the_plugin_config_is_read(
        tmp_path: Path) -> None:
    from dualnet.parse.device_plugin_config import parse_device_plugin_config

    report = _ib_report(tmp_path, node="guest")
    report.device_plugins = parse_device_plugin_config(_plugin_configmap(
        "rdma-devices", '{"configList": [{"resourceName": "hca_shared", "rdmaHcaMax": 63, '
        '"selectors": {"vendors": ["15b3"], "ifNames": ["enp1s0f0np0"]}}]}'))
    f = only(diagnose(report, dra=True), "dra.device-plugin-overlap")
    assert f.evidence["over-admitted PCI functions"] == ["0000:01:00.0"]
    assert f.evidence["device-plugin resources"] == ["rdma/hca_shared"]
    assert f.evidence["DRA devices"] == ["dra.net/enp1s0f0np0"]
    assert "0000:01:00.0 (rdma/hca_shared and dra.net/enp1s0f0np0)" in f.title


def test_no_overlap_when_the_plugin_cannot_advertise_the_function(tmp_path: Path) -> None:
    """Allocatable RDMA resources and rdma=true slices on one node (the rule without configs
    warns), but the SR-IOV plugin's pciAddresses name the port with the default route, which
    that plugin never advertises (netDeviceProvider.go): no common PCI function, no finding."""
    from dualnet.parse.device_plugin_config import parse_device_plugin_config

    report = _ib_report(tmp_path, node="guest")
    assert "dra.device-plugin-overlap" in ids(diagnose(report, dra=True))
    report.device_plugins = parse_device_plugin_config(_plugin_configmap(
        "sriovdp-config", '{"resourceList": [{"resourceName": "hostdev", '
        '"selectors": {"pciAddresses": ["0000:01:00.0"]}}]}'))
    assert "dra.device-plugin-overlap" not in ids(diagnose(report, dra=True))
