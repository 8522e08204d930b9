"""The one loader (dualnet.inputs): what it accepts, and how it words what it refuses."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from dualnet.errors import UsageError
from dualnet.inputs import load_mapping, parse_yaml, plain_message, read_text
from tests.helpers import run_cli

SPEC = Path(__file__).resolve().parents[2] / "src" / "dualnet" / "data" / "examples" / "gh200.yaml"


def test_duplicate_key_names_the_key_and_both_lines() -> None:
    text = "spec:\n  mode: shared-roce\n  master: eth1\n  mode: sriov\n"
    with pytest.raises(UsageError, match=r"f: key 'mode' appears twice \(lines 2 and 4\)"):
        parse_yaml(text, "f")
    # the same key in two different mappings is fine
    assert parse_yaml("a: {x: 1}\nb: {x: 2}\n", "f") == [{"a": {"x": 1}, "b": {"x": 2}}]


def test_duplicate_key_in_json_is_found_with_its_lines(tmp_path: Path) -> None:
    f = tmp_path / "node.json"
    f.write_text('{\n  "hostname": "a",\n  "hostname": "b"\n}\n')
    with pytest.raises(UsageError, match=r"'hostname' appears twice \(lines 2 and 3\)"):
        load_mapping(f, what="--report", expect="a report")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32"])
def test_bom_and_utf16_are_decoded(tmp_path: Path, encoding: str) -> None:
    f = tmp_path / "x.yaml"
    data = "a: 1\n".encode(encoding)
    if encoding == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    f.write_bytes(data)
    assert load_mapping(f, what="x", expect="y") == {"a": 1}


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from dualnet.host.samples import build_sample

    return build_sample("gh200", tmp_path_factory.mktemp("inputs") / "gh200")


def test_spec_with_a_bom_plans(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               sample_root: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(codecs.BOM_UTF8 + SPEC.read_bytes())
    code, _, err = run_cli(capsys, "plan", str(spec), "--root", str(sample_root), "-o", "json")
    assert code == 0, err
    spec.write_bytes(SPEC.read_text().encode("utf-16"))
    code, _, err = run_cli(capsys, "plan", str(spec), "--root", str(sample_root), "-o", "json")
    assert code == 0, err


def test_binary_is_quoted_briefly(tmp_path: Path) -> None:
    f = tmp_path / "b"
    f.write_bytes(b"ok\n" + bytes(range(128, 256)) * 1000)
    with pytest.raises(UsageError) as err:
        read_text(f, what="--x", expect="text")
    assert "not UTF-8 text (byte 3:" in err.value.message and len(err.value.message) < 200


def test_nul_is_binary_and_size_is_bounded(tmp_path: Path) -> None:
    f = tmp_path / "n"
    f.write_bytes(b"a: 1\n\0\0")
    with pytest.raises(UsageError, match="binary data"):
        read_text(f, what="--x", expect="text")
    big = tmp_path / "big"
    big.write_bytes(b"a" * (2 * 1024 * 1024))
    with pytest.raises(UsageError, match="larger than 1 MiB"):
        read_text(big, what="--x", expect="text", max_bytes=1024 * 1024)


@pytest.mark.parametrize(("raw", "plain"), [
    ("Input should be a valid dictionary or instance of NetworkSpec", "should be a mapping"),
    ("Input should be a valid dictionary or object to extract fields from", "should be a mapping"),
    ("Value error, bad thing", "bad thing"),
    ("Input should be 'a' or 'b'", "should be 'a' or 'b'"),
    ("Field required [type=missing, input_value={}, input_type=dict]",
     "required field is missing"),
])
def test_pydantic_words_become_dualnets(raw: str, plain: str) -> None:
    assert plain_message(raw) == plain
