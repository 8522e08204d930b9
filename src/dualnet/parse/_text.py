"""Shared line handling for the tool-output parsers.

People paste outputs with decorations: the corpus `# source:` line, a shell-comment (`#`),
C-comment (` * `) or e-mail (`> `) prefix on every line, elision lines (`.....`), and, on some
lines only, author comments (`# no bluerdma0 here`), elisions with prose (`... (mlx5_3~mlx5_15
are fabricN (Up))`), quote prefixes, labels (`Server:`) and shell prompts. `prepare` removes the
uniform decorations silently and the per-line ones with a warning naming the line, and keeps
1-based line numbers so a ParseError or a warning names the line as given.

Warnings are collected by `collecting()` around a parser call (`registry.read_tool_output`
does that); a parser called bare keeps its old signature and its warnings go nowhere. A context
variable instead of a return value keeps the fourteen parser signatures, their callers and the
property tests unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from typing import ParamSpec, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from dualnet.parse.decoding import normalize_spaces
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


class ParseWarning(BaseModel):
    """A line a parser skipped (or read only in part), named as the user gave it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    line_no: int  # 1-based; 0 when about the text as a whole
    line: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line_no}: " if self.line_no else ""
        shown = f": {self.line.strip()[:120]!r}" if self.line.strip() else ""
        return f"{where}{self.reason}{shown}"


_WARNINGS: ContextVar[list[ParseWarning] | None] = ContextVar("parse_warnings", default=None)


@contextmanager
def collecting() -> Iterator[list[ParseWarning]]:
    """Collect the warnings of the parser calls inside the block (nested blocks see their own)."""
    found: list[ParseWarning] = []
    token = _WARNINGS.set(found)
    try:
        yield found
    finally:
        _WARNINGS.reset(token)


def warn(reason: str, line: Line | None = None) -> None:
    sink = _WARNINGS.get()
    if sink is not None:
        sink.append(
            ParseWarning(line_no=line.no if line else 0, line=line.text if line else "",
                         reason=reason)
        )


# Prefixes that decorate EVERY line of a pasted block; tried in order, longest first.
_PREFIXES = (
    re.compile(r"^(?:\s*>)+ ?"),  # e-mail quoting, possibly nested "> > "
    re.compile(r"^\s*\* ?"),  # inside a C block comment
    re.compile(r"^\s*# ?"),  # shell comment
)
_ELISION = re.compile(r"^\s*(?:\.{3,}|…+|\[\.\.\.\]|<snip>|\(snip\))\s*$")
# An elision that says what it left out: "... (mlx5_3~mlx5_15 are fabricN (Up))", "[...] 6 more"
_ELISION_PROSE = re.compile(
    r"^\s*(?:\.{3,}|…+|\[\.\.\.\]|<snip>|\(snip\)|\[(?:snip|truncated|omitted)[^]]*\])\s*\S"
)
_SOURCE = re.compile(r"^\s*#\s*source:", re.IGNORECASE)
_COMMENT = re.compile(r"^\s*(?:#|//)")
_QUOTE = re.compile(r"^(?:\s*>)+ ?")
# "Server:", "On node B (after the fix):": a short title ending in a colon, nothing after it.
_LABEL = re.compile(r"^\s*[A-Za-z][\w .,()/'+-]{0,48}:\s*$")
# "$ ibv_devinfo", "root@node1:~# rdma link", "[root@gpu01 ~]# lspci -nn", "user@h:~$ ip a",
# and SUSE's root prompt without a user, "lehi-dirt:~ # ibv_devinfo" (host, ':', a path)
_PROMPT = re.compile(
    r"^\s*(?:\$|\[[^\]]*@[^\]]*\][#$]|[\w.-]+@[\w.-]+(?::[^\s#$]*)?\s?[#$]"
    r"|[\w.-]+:[~/][^\s#$]*\s?[#$]|>>>)\s+\S"
)


# First characters of the decorations below (a prompt without "@" starts with "$" or ">>>").
_DECORATION_START = frozenset(".…[<(#/$>")


def prepare(text: str, *, keep_blank: bool = False, labels: bool = True) -> list[Line]:
    """Split into lines, drop the `# source:` header, a uniform quote prefix and elision lines.

    Also dropped, each with a warning: elisions, comment lines, shell prompts and (unless
    `labels=False`, for formats whose own lines end in a colon) labels; a quote prefix on only
    some lines is removed from them with a warning.
    """
    text = normalize_spaces(text)
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
        line = Line(n, s)
        head = s.lstrip()[:1]
        if (head not in _DECORATION_START and "@" not in s and not s.endswith(":")
                and ":~" not in s and ":/" not in s):
            # most lines: nothing below can match, skip the six patterns
            if s.strip() or keep_blank:
                out.append(line)
            continue
        if _ELISION.match(s) or _ELISION_PROSE.match(s):
            warn("skipped an elision: lines may be missing here", line)
            continue
        if _COMMENT.match(s):
            warn("skipped a comment line", line)
            continue
        if _PROMPT.match(s):
            warn("skipped a shell prompt line", line)
            continue
        if _QUOTE.match(s):
            warn("removed a quote prefix", line)
            s = _QUOTE.sub("", s, count=1)
            line = Line(n, s)
        if labels and _LABEL.match(s):
            warn("skipped a label line", line)
            continue
        if not s.strip() and not keep_blank:
            continue
        out.append(Line(n, s.rstrip()))
    return out


class Skipped:
    """Best effort for line-oriented formats: an unrecognised line is skipped with a warning;
    only when nothing at all was recognised does the first such line become the ParseError
    (the input is then not this tool's output, and a hint may say whose it is)."""

    def __init__(self, source: str, expected: str) -> None:
        self.source = source
        self.expected = expected
        self.first: tuple[Line, str | None] | None = None

    def skip(self, line: Line, *, hint: str | None = None, reason: str | None = None) -> None:
        if self.first is None:
            self.first = (line, hint)
        warn(reason or f"skipped a line that is not {self.expected}", line)

    def check(self, recognised: int) -> None:
        if recognised == 0 and self.first is not None:
            line, hint = self.first
            raise fail(self.source, f"expected {self.expected}", line, hint=hint)


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
