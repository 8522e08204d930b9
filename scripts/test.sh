#!/usr/bin/env bash
# The whole test suite from a fresh clone: system packages, a virtualenv with the test extras,
# then lint, type check and pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
# the `vm` tests' kernel (Debian trixie-backports 7.3.4, apt-get download into
# ~/.cache/dualnet/kernels; a no-op when cached; nothing is installed on this machine)
.venv/bin/dualnet lab --vm --fetch-kernel
.venv/bin/ruff check src tests benchmarks testsupport
.venv/bin/mypy
# Run the suite as a new user would have it: no `dualnet` on PATH except the venv's own.
clean_path=$(bash scripts/clean-path.sh .venv/bin)
set +e
PATH=$clean_path .venv/bin/python -m pytest "$@"
rc=$?
set -e
# pytest's 5 means "no tests collected": that is a failure for us, never a pass.
exit $rc
