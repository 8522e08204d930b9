"""The suite's own set-up: no event loop exists that nobody will close (tests/conftest.py).

Before the fix pytest-asyncio's "save the current loop" call made one on Python 3.11, and the
garbage collector reported it, unclosed, at a random later test; the ResourceWarning filter had
to let such reports through."""

from __future__ import annotations

import asyncio

import pytest


def test_no_implicit_event_loop_is_made_between_tests() -> None:
    with pytest.raises(RuntimeError, match="no current event loop"):
        asyncio.get_event_loop()


async def test_an_async_test_still_runs_on_its_own_loop() -> None:
    loop = asyncio.get_running_loop()
    assert not loop.is_closed()
    await asyncio.sleep(0)


def test_and_after_it_there_is_still_no_current_loop() -> None:
    with pytest.raises(RuntimeError, match="no current event loop"):
        asyncio.get_event_loop()
