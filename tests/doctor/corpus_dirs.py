"""Folders of real captured outputs (tests/corpus), laid out as a user's `--from` folder; the
GH200 set and the copying live in tests/gh200_report.py, shared with the parse tests."""

from __future__ import annotations

from tests.gh200_report import CORPUS, GH200_OUTPUTS, outputs_dir

__all__ = ["CORPUS", "GH200_FILES", "make_from_dir"]

GH200_FILES = GH200_OUTPUTS
make_from_dir = outputs_dir
