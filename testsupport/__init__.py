"""Test support shared by tests/ and benchmarks/ (not part of the dualnet wheel)."""
