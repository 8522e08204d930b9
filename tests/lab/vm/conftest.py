"""The VM of the `vm` tests: booted once per test session (a boot is ~10 s under TCG, every
command in the guest a few hundred ms), powered off at the end. Under CI=true a missing QEMU or
kernel fails the tests instead of skipping them (CI fetches the kernel first:
scripts/test.sh runs `dualnet lab --vm --fetch-kernel`)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from dualnet.lab.vm.machine import Machine
from tests.helpers import vm_kernel


@pytest.fixture(scope="session")
def vm() -> Iterator[Machine]:
    from dualnet.lab.vm.session import prepare_guest

    accel = os.environ.get("DUALNET_VM_ACCEL", "auto")
    machine = Machine(vm_kernel(), accel="tcg" if accel == "tcg" else
                      "kvm" if accel == "kvm" else "auto")
    with machine:
        prepare_guest(machine)
        yield machine
