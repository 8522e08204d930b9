"""Unicode spaces in pasted text, made plain for every parser.

Bytes become text in the one loader of user files, `dualnet.inputs` (BOM, UTF-16/32, size);
what remains for the parsers is text copied from a web page: NBSP and friends."""

from __future__ import annotations

import unicodedata

__all__ = ["normalize_spaces"]


def normalize_spaces(text: str) -> str:
    """A leading BOM dropped, every Unicode space (NBSP, thin, ideographic...) made ' ', and
    zero-width characters removed: pasted from a web page, they split or hide tokens."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if text.isascii():
        return text
    return "".join(
        " " if unicodedata.category(ch) == "Zs" else ch
        for ch in text
        if ch not in _ZERO_WIDTH
    )


_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
