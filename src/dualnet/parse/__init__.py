"""Parsers for the output of the tools people already run (see README.md here)."""
