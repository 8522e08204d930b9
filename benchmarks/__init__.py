"""dualnet benchmarks: one `bench_<area>.py` module per area, each with a `main()` printing a table.

`python -m benchmarks` runs them all; `python -m benchmarks.bench_<area>` runs one."""
