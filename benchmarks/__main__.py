"""Run every `benchmarks/bench_*.py` module's `main()` in name order.

A benchmark that fails is reported and the others still run; the exit status is 1 if any failed.
Arguments after `--only NAME[,NAME]` restrict the run (names without the `bench_` prefix)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
from pathlib import Path


def _modules() -> list[str]:
    here = Path(__file__).resolve().parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    only: set[str] | None = None
    if args[:1] == ["--only"] and len(args) > 1:
        only = {f"bench_{n.strip()}" for n in args[1].split(",") if n.strip()}
    failed: list[str] = []
    for name in _modules():
        if only is not None and name not in only:
            continue
        print(f"\n=== {name} ===", flush=True)
        saved = sys.argv
        sys.argv = [f"benchmarks.{name}"]  # each main() parses its own defaults
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            module.main()
        except SystemExit as exc:
            if exc.code not in (0, None):
                failed.append(name)
        except Exception:
            traceback.print_exc()
            failed.append(name)
        finally:
            sys.argv = saved
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
