"""Live checks (the guide's step 7), benchmarks (ib_write_bw, nccl-tests) and their reports, plus
the NCCL settings derived from discovery. Check and parse logic is pure; the cluster edge is in
`run.py` / `bench.py` and goes through `dualnet.cluster`."""

from __future__ import annotations
