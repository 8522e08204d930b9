"""The VM of the `vm` tests: booted once per test session (a boot is ~10 s under TCG, every
command in the guest a few hundred ms), powered off at the end. Under CI=true a missing QEMU or
kernel fails the tests instead of skipping them (CI fetches the kernel first:
scripts/test.sh runs `dualnet lab --vm --fetch-kernel`)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from dualnet.lab.vm.kernel import Kernel, cached_kernel
from dualnet.lab.vm.machine import QEMU, Machine
from tests.conftest import require


def vm_kernel() -> Kernel:
    require(shutil.which(QEMU) is not None, f"{QEMU} (apt-get install qemu-system-x86)")
    require(shutil.which("busybox") is not None, "busybox (apt-get install busybox-static)")
    kernel = cached_kernel()
    require(kernel is not None, "the VM kernel (run `dualnet lab --vm --fetch-kernel`)")
    assert kernel is not None
    return kernel


@pytest.fixture(scope="session")
def vm() -> Iterator[Machine]:
    from dualnet.lab.vm.session import prepare_guest

    accel = os.environ.get("DUALNET_VM_ACCEL", "auto")
    machine = Machine(vm_kernel(), accel="tcg" if accel == "tcg" else
                      "kvm" if accel == "kvm" else "auto")
    with machine:
        prepare_guest(machine)
        yield machine
