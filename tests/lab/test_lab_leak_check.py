"""The lab tests' leak check counts this session's namespaces only: a namespace a run of this
session left is a leak, one another suite's run made at the same time is not (two suites on one
machine made the old all-`dnlab-` check fail at random)."""

from __future__ import annotations

import secrets

import pytest

from dualnet.errors import UsageError
from dualnet.lab import netns
from dualnet.lab.topology import PREFIX, RUN_PREFIX_ENV, run_id_prefix
from tests.helpers import LAB_RUN_PREFIX, have_root_netns, own_lab_namespaces, own_run_id, require


@pytest.mark.netns
def test_a_leak_of_this_session_is_caught_and_another_suites_namespace_is_not() -> None:
    require(have_root_netns(), "root and iproute2 (ip netns)")
    ours = f"{PREFIX}{own_run_id(secrets.token_hex(2))}-node"
    theirs = f"{PREFIX}x{secrets.token_hex(2)}zz-node"  # another suite's prefix
    before = own_lab_namespaces()
    try:
        netns.create_netns(theirs)
        assert own_lab_namespaces() - before == set()
        netns.create_netns(ours)
        assert own_lab_namespaces() - before == {ours}
    finally:
        netns.delete_netns(ours)
        netns.delete_netns(theirs)


def test_lab_fixtures_give_every_generated_run_id_the_session_prefix() -> None:
    import os

    assert os.environ[RUN_PREFIX_ENV] == LAB_RUN_PREFIX
    assert run_id_prefix(os.environ) == LAB_RUN_PREFIX


@pytest.mark.parametrize("bad", ["Upper", "has-dash", "toolong7", "a b"])
def test_a_bad_run_prefix_is_a_usage_error_naming_the_variable(bad: str) -> None:
    with pytest.raises(UsageError, match=RUN_PREFIX_ENV) as info:
        run_id_prefix({RUN_PREFIX_ENV: bad})
    assert "up to 6 lowercase letters or digits" in (info.value.hint or "")
