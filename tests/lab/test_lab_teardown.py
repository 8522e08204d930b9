"""Teardown when a namespace is only half made: a signal during `ip netns add` kills the child
(subprocess.run kills it on any exception) after it created /run/netns/NAME but before it
mounted the namespace there. Reading that "namespace" fails; the teardown must still remove
every namespace of the run, that file included."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from dualnet.errors import HostError
from dualnet.lab import netns
from dualnet.lab.nad import load_nad
from dualnet.lab.run import run_lab
from tests.helpers import NADS, own_run_id


@pytest.mark.netns
@pytest.mark.cni
def test_half_made_namespace_does_not_stop_the_teardown(real_lab: Path) -> None:
    run_id = own_run_id(secrets.token_hex(2))
    stale = netns.NETNS_DIR / f"dnlab-{run_id}-p1"

    def half_made(step: str) -> None:
        if step == "added:nad:0":
            # what a killed `ip netns add` leaves: the file, no namespace mounted on it
            stale.touch(mode=0)

    try:
        with pytest.raises(HostError, match="lab setup failed"):
            run_lab(load_nad(NADS / "macvlan-host-local.yaml"), pods=2, cni_bin=real_lab,
                    run_id=run_id, on_step=half_made)
        assert not netns.list_netns(f"dnlab-{run_id}")
        assert not stale.exists()
    finally:
        for name in netns.list_netns(f"dnlab-{run_id}"):
            netns.delete_netns(name)
