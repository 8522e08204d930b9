"""The suite on a fresh machine: the scripts the README runs, and nothing the tests read or run
from outside the repository (a `dualnet` on PATH, a corpus at one machine's absolute path)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import IN_CI

REPO = Path(__file__).resolve().parents[1]


def _exe(path: Path, body: str) -> Path:
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(0o755)
    return path


def test_clean_path_drops_every_dualnet_outside_the_venv(tmp_path: Path) -> None:
    venv, other, plain = (tmp_path / n for n in ("venv-bin", "usr-local-bin", "plain"))
    for d in (venv, other, plain):
        d.mkdir()
    _exe(venv / "dualnet", "exit 0\n")
    _exe(other / "kubectl-dualnet", "exit 0\n")
    _exe(plain / "kubectl", "exit 0\n")
    env = {"PATH": f"{other}:{plain}:{venv}:/usr/bin:/bin"}
    r = subprocess.run(["/bin/bash", str(REPO / "scripts/clean-path.sh"), str(venv)],
                       capture_output=True, text=True, env=env, check=True)
    assert r.stdout.strip().split(":") == [str(plain), str(venv), "/usr/bin", "/bin"]
    assert str(other) in r.stderr


def test_suite_sees_no_dualnet_outside_the_venv() -> None:
    """scripts/test.sh runs pytest with such a PATH; under CI anything else is a broken setup."""
    found = shutil.which("dualnet")
    if found is None:
        return
    inside = Path(found).resolve().is_relative_to(Path(sys.prefix).resolve())
    if not inside and not IN_CI:
        pytest.skip(f"a dualnet outside the venv is on PATH ({found}); scripts/test.sh drops it")
    assert inside, f"{found} is on PATH outside the venv: run the suite through scripts/test.sh"


def test_tests_read_no_absolute_path_outside_the_repo() -> None:
    """Fixtures come from tests/corpus, which travels with the clone."""
    pattern = re.compile(r"""["']/work/|parents\[[3-9]\]\s*/\s*["']shared""")
    offenders = [f"{p.relative_to(REPO)}:{n}"
                 for p in sorted((REPO / "tests").rglob("*.py")) if p != Path(__file__)
                 for n, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []


def _fake_apt(tmp_path: Path, locked_calls: int, other_error: bool = False) -> dict[str, str]:
    """A PATH where dpkg-query reports every package missing, `id -u` says root, and apt-get
    fails `locked_calls` times with apt's lock message before it succeeds."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    count = tmp_path / "calls"
    count.write_text("0")
    _exe(bin_dir / "dpkg-query", "exit 1\n")
    _exe(bin_dir / "id", "echo 0\n")
    err = ("E: Unable to locate package nosuch" if other_error else
           "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt)")
    _exe(bin_dir / "apt-get", f"""n=$(( $(cat {count}) + 1 )); echo $n > {count}
echo "$*" >> {tmp_path / "argv"}
if [ "$n" -le {locked_calls} ] || [ {int(other_error)} -eq 1 ]; then echo "{err}" >&2; exit 100; fi
exit 0
""")
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "DUALNET_APT_LOCK_POLL": "0",
            "DUALNET_APT_LOCK_WAIT": "30", "HOME": str(tmp_path)}


def _install(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["/bin/bash", str(REPO / "scripts/install-system-deps.sh")],
                          capture_output=True, text=True, env=env, timeout=60, check=False)


def test_install_waits_for_the_apt_lock(tmp_path: Path) -> None:
    r = _install(_fake_apt(tmp_path, locked_calls=2))
    assert r.returncode == 0, r.stderr
    assert "holds its lock; waiting" in r.stderr
    calls = (tmp_path / "argv").read_text().splitlines()
    assert len(calls) == 4 and calls[-1].split()[2] == "install"  # 2 locked, update, install
    assert all("DPkg::Lock::Timeout" in c for c in calls)


def test_install_gives_up_on_the_lock_with_a_message(tmp_path: Path) -> None:
    env = {**_fake_apt(tmp_path, locked_calls=10**6), "DUALNET_APT_LOCK_WAIT": "1",
           "DUALNET_APT_LOCK_POLL": "1"}
    r = _install(env)
    assert r.returncode != 0
    assert "still holds its lock after 1s" in r.stderr


def test_install_fails_at_once_on_another_apt_error(tmp_path: Path) -> None:
    r = _install(_fake_apt(tmp_path, locked_calls=0, other_error=True))
    assert r.returncode != 0
    assert "Unable to locate package" in r.stderr
    assert len((tmp_path / "argv").read_text().splitlines()) == 1


def test_prepare_tests_do_not_need_dualnet_on_path() -> None:
    env = {**os.environ, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    code = "from tests.helpers import dualnet; r = dualnet('--help');" \
           "raise SystemExit(r.returncode)"
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                       text=True, check=False, timeout=60)
    assert r.returncode == 0, r.stderr
