#!/usr/bin/env bash
# Print $PATH without the directories that hold a `dualnet` (or `kubectl-dualnet`) outside the
# given venv bin directory, so the tests run as a new user has them: a test that calls whatever
# PATH finds then fails here rather than pass on a machine that happens to have one installed.
# Usage: clean-path.sh VENV_BIN  (each directory left off is named on stderr)
set -euo pipefail
venv_bin=$(cd "$1" 2>/dev/null && pwd -P || echo "$1")
clean=""
IFS=: read -r -a dirs <<< "${PATH:-}"
for d in "${dirs[@]}"; do
  [ -n "$d" ] || continue
  real=$(cd "$d" 2>/dev/null && pwd -P) || continue
  if [ "$real" != "$venv_bin" ] && { [ -e "$d/dualnet" ] || [ -e "$d/kubectl-dualnet" ]; }; then
    echo "clean-path: leaving $d off PATH for the tests (it holds a dualnet outside .venv)" >&2
    continue
  fi
  clean=${clean:+$clean:}$d
done
printf '%s\n' "$clean"
