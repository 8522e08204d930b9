"""The one error every parser raises on input it cannot make sense of."""

from __future__ import annotations

from dualnet.errors import UsageError


class ParseError(UsageError):
    """A saved tool output that does not parse. It is the user's input, so exit status 2.

    `source` names the tool (``"ibv_devinfo"``), `line_no` is 1-based (0 when the problem is the
    text as a whole, e.g. empty input), `line` the offending line as given.
    """

    def __init__(
        self,
        source: str,
        reason: str,
        *,
        line_no: int = 0,
        line: str = "",
        hint: str | None = None,
    ) -> None:
        self.source = source
        self.reason = reason
        self.line_no = line_no
        self.line = line
        where = f" at line {line_no}: {line.strip()[:120]!r}" if line_no else ""
        super().__init__(f"cannot parse {source} output{where}: {reason}", hint=hint)
