"""Pinned default images. Each tag was checked against published manifests (see the report of
the plan/render issue); `spec.images` overrides any of them."""

from __future__ import annotations

from dualnet.spec import Images

DEFAULT_IMAGES: dict[str, str] = {
    # multus-cni thick image, as deployments/multus-daemonset-thick.yml uses (there :snapshot-thick)
    "multus": "ghcr.io/k8snetworkplumbingwg/multus-cni:v4.2.4-thick",
    # the containernetworking plugins image the Network Operator deploys (multi-arch); its
    # entrypoint copies the binaries into /host/opt/cni/bin and sleeps
    "cni_plugins": "ghcr.io/k8snetworkplumbingwg/plugins:v1.6.2-update.1",
    "rdma_shared_device_plugin": "ghcr.io/mellanox/k8s-rdma-shared-dev-plugin:v1.5.3",
    "sriov_device_plugin": "ghcr.io/k8snetworkplumbingwg/sriov-network-device-plugin:v3.9.0",
    "sriov_cni": "ghcr.io/k8snetworkplumbingwg/sriov-cni:v2.9.0",
    "ib_sriov_cni": "ghcr.io/k8snetworkplumbingwg/ib-sriov-cni:v1.1.1",
    "ipoib_cni": "ghcr.io/mellanox/ipoib-cni:v1.2.0",
    "rdma_cni": "ghcr.io/k8snetworkplumbingwg/rdma-cni:v1.1.0",
    "whereabouts": "ghcr.io/k8snetworkplumbingwg/whereabouts:v0.9.3",
    # the guide's test pod image; RDMA tools (ibv_devinfo) are installed into it by the user
    "test": "ubuntu:24.04",
    "gpu_test": "ghcr.io/coreweave/nccl-tests:12.9.1-devel-ubuntu24.04-nccl2.29.2-1-d73ec07",
    "dpdk": "ubuntu:24.04",
    "bench": "ghcr.io/coreweave/nccl-tests:12.9.1-devel-ubuntu24.04-nccl2.29.2-1-d73ec07",
}

# NicClusterPolicy wants repository / image / version separately; the Network Operator deploys
# Multus thin, so its image is the plain (non -thick) tag.
OPERATOR_MULTUS = "ghcr.io/k8snetworkplumbingwg/multus-cni:v4.2.2"


def image(images: Images, key: str) -> str:
    """The override from the spec, or the pinned default."""
    override: str | None = getattr(images, key)
    return override or DEFAULT_IMAGES[key]


def split_image(ref: str) -> tuple[str, str, str]:
    """'ghcr.io/mellanox/ipoib-cni:v1.2.0' -> ('ghcr.io/mellanox', 'ipoib-cni', 'v1.2.0')."""
    name, _, tag = ref.rpartition(":")
    if not name or "/" in tag:
        name, tag = ref, "latest"
    repo, _, img = name.rpartition("/")
    return repo or "docker.io/library", img, tag
