"""Shared line handling for the tool-output parsers.

People paste outputs with decorations: the corpus `# source:` line, a shell-comment (`#`),
C-comment (` * `) or e-mail (`> `) prefix on every line, elision lines (`.....`). `prepare`
removes those uniformly and keeps 1-based line numbers so a ParseError names the line as given.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import ParamSpec, TypeVar

from pydantic import ValidationError

from dualnet.parse.errors import ParseError

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Line:
    no: int
    text: str  # prefix removed, trailing whitespace stripped, inner whitespace as given

    @property
    def stripped(self) -> str:
        return self.text.strip()


# Prefixes that decorate EVERY line of a pasted block; tried in order, longest first.
_PREFIXES = (
    re.compile(r"^(?:\s*>)+ ?"),  # e-mail quoting, possibly nested "> > "
    re.compile(r"^\s*\* ?"),  # inside a C block comment
    re.compile(r"^\s*# ?"),  # shell comment
)
_ELISION = re.compile(r"^\s*(?:\.{3,}|…+|\[\.\.\.\]|<snip>|\(snip\))\s*$")
_SOURCE = re.compile(r"^\s*#\s*source:", re.IGNORECASE)


def prepare(text: str, *, keep_blank: bool = False) -> list[Line]:
    """Split into lines, drop the `# source:` header, a uniform quote prefix and elision lines."""
    raw = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    numbered = [(i + 1, s.rstrip()) for i, s in enumerate(raw)]
    numbered = [(n, s) for n, s in numbered if not (n == 1 and _SOURCE.match(s))]
    content = [s for _, s in numbered if s.strip()]
    if content:
        for pattern in _PREFIXES:
            if all(pattern.match(s) for s in content):
                numbered = [(n, pattern.sub("", s, count=1)) for n, s in numbered]
                break
    out: list[Line] = []
    for n, s in numbered:
        if _ELISION.match(s):
            continue
        if not s.strip() and not keep_blank:
            continue
        out.append(Line(n, s.rstrip()))
    return out


def fail(
    source: str, reason: str, line: Line | None = None, *, hint: str | None = None
) -> ParseError:
    """Build (not raise) a ParseError for `line`, so call sites read `raise fail(...)`."""
    if line is None:
        return ParseError(source, reason, hint=hint)
    return ParseError(source, reason, line_no=line.no, line=line.text, hint=hint)


def to_int(source: str, value: str, line: Line, what: str, *, base: int = 10) -> int:
    try:
        return int(value, base)
    except ValueError:
        raise fail(source, f"{what} {value!r} is not a number", line) from None


def guarded(source: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Turn model validation failures into ParseError: a parser's contract is model or ParseError.

    Converted: pydantic's ValidationError (a value the parser accepted but a model field rejects)
    and ValueError (e.g. int() of a number longer than Python's 4300-digit limit). Any other
    exception is a parser bug and must surface in tests.
    """

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @wraps(fn)
        def inner(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except ValidationError as exc:
                first = exc.errors()[0]
                loc = ".".join(str(p) for p in first["loc"])
                raise ParseError(
                    source, f"invalid value for {loc or 'field'}: {first['msg']}"
                ) from None
            except ValueError as exc:
                # int() of a 5000-digit "number" and the like: still the input's fault.
                raise ParseError(source, f"invalid value: {str(exc)[:200]}") from None
            except RecursionError:
                raise ParseError(source, "input nested too deeply") from None

        return inner

    return wrap


_MAC = re.compile(r"^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$")
_IPOIB_HW = re.compile(r"^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){19}$")
PCI_FULL = re.compile(r"^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$")
PCI_SHORT = re.compile(r"^[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$")


def is_mac(value: str) -> bool:
    return bool(_MAC.match(value) or _IPOIB_HW.match(value))


def full_pci(value: str) -> str | None:
    """`0c:00.0` -> `0000:0c:00.0` (lowercase); None if it is no PCI address."""
    if PCI_FULL.match(value):
        return value.lower()
    if PCI_SHORT.match(value):
        return "0000:" + value.lower()
    return None
