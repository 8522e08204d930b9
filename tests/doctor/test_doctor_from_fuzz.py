"""`doctor --from` on folders of real captures (tests/corpus) whose device and interface names were
mutated the ways a tool output or a careless paste can hold them: very long digit runs (past
Python's int() limit of 4300 digits) and Unicode digits ("²" is str.isdigit() but not int()-able;
"٣" is a decimal digit int() reads). The verdict is dualnet's own: findings (exit 0/1/4) or a
usage/parse error (exit 2), never a traceback."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dualnet.host.discover import natural_key
from dualnet.host.switchdev import parse_port_name
from dualnet.names import small_int
from dualnet.parse.from_dir import pci_from_ifname
from tests.gh200_report import CORPUS, GH200_OUTPUTS, OTHER_OUTPUTS
from tests.helpers import run_cli

FOLDERS = [GH200_OUTPUTS, OTHER_OUTPUTS]

# device, interface and port names as the captures hold them: mlx5_0, enp1s0f0np0, ibp59s0, pf0vf1
NAME = re.compile(r"\b(?:mlx[45]_|en[A-Za-z]|ib[ps]|eth|net|rxe|pf|p[0-9])[A-Za-z0-9_]*[0-9]\b")
DIGIT_RUN = re.compile(r"[0-9]+")
ODD_DIGITS = st.sampled_from([
    "9" * 5000, "0" * 4400 + "1", "1" * 4301, "²", "¹²", "٣", "٣" * 5000, "\U0001d7d8",
    "⁰" * 20, "7²",
])


@st.composite
def mutated_name(draw: st.DrawFn, name: str) -> str:
    runs = list(DIGIT_RUN.finditer(name))
    run = draw(st.sampled_from(runs))
    odd = draw(ODD_DIGITS)
    how = draw(st.sampled_from(["replace", "append", "prepend"]))
    new = {"replace": odd, "append": run.group() + odd, "prepend": odd + run.group()}[how]
    return name[: run.start()] + new + name[run.end() :]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_doctor_from_mutated_names_gives_findings_or_usage_error(
    data: st.DataObject, tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = data.draw(st.sampled_from(FOLDERS), label="folder")
    texts = {name: (CORPUS / rel).read_text(encoding="utf-8") for name, rel in files.items()}
    names = sorted({m.group() for t in texts.values() for m in NAME.finditer(t)})
    picked = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=4, unique=True),
                       label="names")
    # the same new name in every file (so the merge links them), or in one file only
    everywhere = data.draw(st.booleans(), label="everywhere")
    only = data.draw(st.sampled_from(sorted(texts)), label="only in")
    for name in picked:
        new = data.draw(mutated_name(name), label=name)
        pattern = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])")
        for f in texts:
            if everywhere or f == only:
                texts[f] = pattern.sub(new, texts[f])  # digits only: no group refs
    folder = tmp_path_factory.mktemp("from")
    for f, text in texts.items():
        (folder / f).write_text(text, encoding="utf-8")
    code, out, err = run_cli(capsys, "doctor", "--from", str(folder))
    assert code in (0, 1, 2, 4), f"exit {code}\n{out[-2000:]}\n{err[-2000:]}"
    assert "Traceback" not in out + err
    if code == 2:
        assert str(folder) in err or any(f in err for f in texts), err[-2000:]


def test_natural_key_takes_long_runs_and_unicode_digits() -> None:
    # the old key called int() on every str.isdigit() part: "²" and 5000 digits raised ValueError
    names = ["mlx5_10", "mlx5_2", "mlx5_" + "9" * 5000, "mlx5_²", "mlx5_٣", "mlx5_002"]
    ordered = sorted(names, key=natural_key)
    assert ordered[:3] == ["mlx5_2", "mlx5_002", "mlx5_10"] or ordered[:3] == [
        "mlx5_002", "mlx5_2", "mlx5_10"]
    assert ordered.index("mlx5_" + "9" * 5000) > ordered.index("mlx5_10")


@pytest.mark.parametrize("name", [
    "enp" + "9" * 5000 + "s0f0np0", "enp1s" + "1" * 4400 + "f0", "enp²s0f0np0", "enp٣s0f0np0",
    "enP" + "0" * 5000 + "1p1s0", "enp1s0f0np" + "9" * 5000,
])
def test_pci_from_ifname_refuses_odd_digits(name: str) -> None:
    assert pci_from_ifname(name) is None


@pytest.mark.parametrize(("text", "value"), [
    ("0", 0), ("7", 7), ("123456789", 123456789), ("1234567890", None), ("", None), ("²", None),
    ("٣", None), ("9" * 5000, None), ("-1", None), (" 1", None),
])
def test_small_int_takes_only_short_ascii_digit_runs(text: str, value: int | None) -> None:
    assert small_int(text) == value


@pytest.mark.parametrize("port_name", [
    "pf0vf" + "9" * 5000, "pf" + "1" * 4400, "p" + "0" * 5000, "c" + "9" * 5000 + "pf0", "pf٣vf0",
])
def test_representor_port_name_with_odd_digits_is_not_devlinks(port_name: str) -> None:
    # ip -d link's `portname` reaches this from a --from folder; the old \d+ groups fed int()
    assert parse_port_name("eth9", port_name) is None
