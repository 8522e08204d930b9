"""Property tests: mutate REAL captures and require model-or-ParseError, never another exception.

Mutations (applied in sequence, 1 to 4 of them): delete, duplicate or swap lines, truncate at any
character, inject garbage text (control characters, non-ASCII, brackets, quotes), turn tabs into
spaces or spaces into tabs, collapse runs of whitespace like the blog rendering did, and what
people add when they paste: a UTF-8 BOM, non-breaking spaces from a web page, a comment line and
an author's elision line (`... (mlx5_3~mlx5_15 are fabricN (Up))`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dualnet.parse.errors import ParseError
from dualnet.parse.registry import find_tool
from tests.parse.corpus import CORPUS, PARSERS, mutated

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

def _files(tool_dir: str) -> list[str]:
    return sorted(p.read_text(encoding="utf-8") for p in (CORPUS / tool_dir).glob("*.txt"))


def _check(tool_dir: str, text: str) -> None:
    try:
        result = PARSERS[tool_dir](text)
    except ParseError as exc:
        assert exc.exit_code == 2
        assert str(exc).startswith("cannot parse ")
        if exc.line_no:
            assert exc.line_no <= text.count("\n") + 1 + text.count("\r")
        return
    assert result is not None


@pytest.mark.parametrize("tool_dir", sorted(PARSERS))
def test_mutated_real_outputs_parse_or_raise_parse_error(tool_dir: str) -> None:
    texts = _files(tool_dir)
    assert texts, tool_dir

    @FUZZ
    @given(mutated(texts))
    def run(text: str) -> None:
        _check(tool_dir, text)

    run()


@pytest.mark.parametrize("tool_dir", sorted(PARSERS))
def test_arbitrary_text_parses_or_raises_parse_error(tool_dir: str) -> None:
    @settings(max_examples=60, deadline=None)
    @given(st.text(max_size=300))
    def run(text: str) -> None:
        _check(tool_dir, text)

    run()


def test_every_corpus_directory_has_a_registered_parser() -> None:
    for tool_dir in PARSERS:
        assert find_tool(tool_dir) is not None, tool_dir
    assert {p.name for p in Path(CORPUS).iterdir() if p.is_dir()} == set(PARSERS)


_NUMBER = re.compile(r"(?<![\w.:/-])\d+(?![\w.:/-])")


@pytest.mark.parametrize("tool_dir", sorted(PARSERS))
def test_numbers_beyond_python_int_limit_are_parse_errors(tool_dir: str) -> None:
    # int() refuses strings over 4300 digits with ValueError; parsers must turn that into
    # ParseError. Prefix the first standalone number of each real capture with 5000 nines.
    huge = "9" * 5000
    refused = 0
    for text in _files(tool_dir):
        body = text.split("\n", 1)[1] if text.startswith("# source:") else text
        first = _NUMBER.search(body)
        if first is None:
            continue
        mutated = body[: first.start()] + huge + body[first.start() :]
        try:
            value = PARSERS[tool_dir](mutated)
        except ParseError as exc:
            assert exc.exit_code == 2 and str(exc).startswith("cannot parse ")
            refused += 1
            continue
        # Parsed: the number landed where nothing is converted (a size column, a skipped line)
        # and no 5000-digit integer may be in the result.
        assert not any(isinstance(v, int) and v > 10**4000 for v in _ints(value)), tool_dir
    assert (refused > 0) == (tool_dir not in _HUGE_NEVER_CONVERTED), (tool_dir, refused)


# Tools where the first standalone number of every capture is text dualnet keeps or skips, not
# an integer it converts: lsmod's size column, lspci's and rdma dev's index-like fields kept as
# text, ip route metrics, quantities kept as printed, NCCL's host:pid prefix, a skipped line.
# There the huge number must parse without becoming an integer; everywhere else it must be
# refused.
_HUGE_NEVER_CONVERTED = {
    "devlink_eswitch",  # mode words only: no number is converted
    "ibv_devices", "ip_route", "kubectl_node", "lsmod", "lspci", "nccl_debug", "network-status",
    "rdma_dev", "rdma_system",
}  # fmt: skip


def _ints(value: object) -> list[object]:
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    if isinstance(value, dict):
        return [x for v in value.values() for x in _ints(v)]
    if isinstance(value, list | tuple):
        return [x for v in value for x in _ints(v)]
    return [value]
