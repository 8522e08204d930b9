"""dualnet: a second, RDMA-capable training network for Kubernetes pods on GPU nodes."""

__version__ = "0.1.0"
