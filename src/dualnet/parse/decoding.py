"""Bytes of a saved tool output -> the text every parser reads: one function for every loader
(the CLI's file reading, `doctor --from` folders, `dualnet parse`)."""

from __future__ import annotations

import unicodedata

from dualnet.parse.errors import ParseError

__all__ = ["decode_output", "normalize_spaces"]


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


def decode_output(data: bytes, source: str) -> str:
    """Bytes of a saved output -> text, for every loader (the CLI's files, `--from` folders).

    UTF-8 with or without a BOM (Windows editors add one), UTF-16/32 with a BOM (PowerShell's
    `>` redirection writes UTF-16LE); anything else that is not UTF-8 is refused with a
    ParseError naming the byte offset, never guessed. Unicode spaces are left to the parsers
    (`normalize_spaces`, in `_text.prepare`): inside a JSON string an NBSP is data.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(codec)
            except UnicodeDecodeError as exc:
                raise ParseError(
                    source,
                    f"starts with a {codec.upper()} byte-order mark but byte {exc.start} is "
                    f"not {codec.upper()}",
                    hint="save the output again as UTF-8 (e.g. `iconv -f UTF-16 -t UTF-8`)",
                ) from None
    if b"\x00" in data[:4096]:
        raise ParseError(
            source,
            "contains NUL bytes: binary data or UTF-16 without a byte-order mark",
            hint="save the tool's output as UTF-8 text (`iconv -f UTF-16LE -t UTF-8 FILE`)",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(
            source,
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            hint="save the output as UTF-8, e.g. `iconv -f LATIN1 -t UTF-8 FILE`",
        ) from None


# Longest first: the UTF-32LE BOM starts with the UTF-16LE one.
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
