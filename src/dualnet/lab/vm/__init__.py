"""`dualnet lab --vm`: the lab on a throw-away QEMU guest with a stock Debian kernel, so the
RDMA data path (Soft-RoCE GIDs, GID indexes, transfers between pods) meets a real kernel."""
