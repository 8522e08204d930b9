"""Reading the files a user hands dualnet: the one loader behind every file-taking option.

Every failure is a `UsageError` (exit 2) that names the file, says what was wrong and what was
expected: a missing path, a directory, no permission, a file too large, binary data (quoted as a
short excerpt, never dumped), text that is not UTF-8, invalid YAML or JSON with its line, and a
mapping that repeats a key (both lines named: YAML would otherwise keep the last one silently).

Text is UTF-8; a UTF-8 byte-order mark is accepted (editors on Windows write one), and UTF-16 or
UTF-32 with a byte-order mark is decoded (PowerShell's `>` writes UTF-16).
"""

from __future__ import annotations

import codecs
import json
import sys
from pathlib import Path
from typing import Any

from dualnet.errors import UsageError

# Far above anything dualnet reads (a host report of a 8-HCA node is ~1 MiB): a larger file is a
# wrong path, and parsing it would take long for nothing.
MAX_BYTES = 8 * 1024 * 1024

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _fail(what: str, path: object, problem: str, expect: str) -> UsageError:
    return UsageError(f"{f'{what} {path}'.strip()}: {problem}", hint=f"expected {expect}")


def _excerpt(data: bytes, at: int) -> str:
    start = max(0, at - 4)
    return repr(data[start:start + 12])


def _read_bytes(path: Path, what: str, expect: str, max_bytes: int) -> bytes:
    try:
        if path.is_dir():
            raise _fail(what, path, "is a directory, not a file", expect)
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise _fail(what, path, "no such file", expect) from None
    except PermissionError:
        raise _fail(what, path, "permission denied (cannot read it)", expect) from None
    except OSError as exc:
        raise _fail(what, path, f"cannot read it ({exc.strerror or exc})", expect) from None
    if len(data) > max_bytes:
        raise _fail(what, path, f"larger than {max_bytes // (1024 * 1024)} MiB; not a file "
                    "dualnet reads (a wrong path?)", expect)
    return data


def decode_text(data: bytes, source: str, *, what: str = "", expect: str = "a text file",
                lenient: bool = False) -> str:
    """UTF-8 text (BOM accepted; UTF-16/32 with a BOM decoded); binary data refused, or with
    `lenient` replaced by U+FFFD for a parser that reads what it can (saved tool outputs)."""
    label = f"{what} {source}".strip()
    encoding = "utf-8"
    for bom, enc in _BOMS:
        if data.startswith(bom):
            encoding = enc
            break
    if lenient:
        return data.decode(encoding, errors="replace")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        kind = "not UTF-8 text" if encoding == "utf-8" else f"not valid {encoding} text"
        raise UsageError(f"{label}: {kind} (byte {exc.start}: {_excerpt(data, exc.start)}); "
                         "binary data?", hint=f"expected {expect}") from None
    nul = text.find("\0")
    if nul >= 0:
        raise UsageError(f"{label}: holds binary data (a NUL at character {nul})",
                         hint=f"expected {expect}")
    return text


def read_text(path: Path | str, *, what: str, expect: str, allow_empty: bool = False,
              allow_stdin: bool = False, lenient: bool = False,
              max_bytes: int = MAX_BYTES) -> str:
    """The text of a file the user named with `what` (an option such as `--kubeconfig`, or
    words such as "spec file"); `expect` says what belongs there, for the hint."""
    if allow_stdin and str(path) == "-":
        data = sys.stdin.buffer.read(max_bytes + 1) if hasattr(sys.stdin, "buffer") else \
            sys.stdin.read(max_bytes + 1).encode("utf-8", "surrogateescape")
        source = "<stdin>"
    else:
        data = _read_bytes(Path(path), what, expect, max_bytes)
        source = str(path)
    text = decode_text(data, source, what=what, expect=expect, lenient=lenient)
    if not allow_empty and not text.strip():
        raise _fail(what, source, "is empty", expect)
    return text


# --- YAML and JSON -----------------------------------------------------------------------------


class _DuplicateKeyError(Exception):
    def __init__(self, key: object, first: int, second: int) -> None:
        super().__init__(key)
        self.key, self.first, self.second = key, first, second


def _strict_loader() -> type:
    import yaml

    # The pure-Python loader: its messages and marks are the clearer ones (libyaml's point a
    # line further and say less); the files read through here are small.
    class StrictLoader(yaml.SafeLoader):
        """SafeLoader that refuses a mapping with the same key twice."""

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue  # unhashable: SafeLoader says so itself
                line = key_node.start_mark.line + 1
                if first is not None:
                    raise _DuplicateKeyError(key, first, line)
                seen[key] = line
            return super().construct_mapping(node, deep)

    return StrictLoader


_LOADER: type | None = None


def parse_yaml(text: str, source: str, *, expect: str = "YAML") -> list[Any]:
    """Every document of a YAML stream (empty documents dropped), duplicate keys refused."""
    import yaml

    global _LOADER
    if _LOADER is None:
        _LOADER = _strict_loader()
    try:
        docs = list(yaml.load_all(text, Loader=_LOADER))  # a SafeLoader subclass
    except _DuplicateKeyError as dup:
        raise UsageError(f"{source}: key {dup.key!r} appears twice (lines {dup.first} and "
                         f"{dup.second}); YAML would silently keep only the second",
                         hint="remove one of them") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UsageError(f"{source}: not valid YAML{where}: {problem}",
                         hint=f"expected {expect}") from None
    return [d for d in docs if d is not None]


def parse_json_or_yaml(text: str, source: str, *, expect: str) -> Any:
    """One JSON document (fast path), or else one YAML document; duplicate keys refused."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out:
                raise _DuplicateKeyError(k, 0, 0)
            out[k] = v
        return out

    if text.lstrip().startswith(("{", "[")):
        try:
            return json.loads(text, object_pairs_hook=no_duplicates)
        except (_DuplicateKeyError, ValueError, RecursionError):
            pass  # YAML below names the lines of a duplicate, or the place of the error
    docs = parse_yaml(text, source, expect=expect)
    if len(docs) != 1:
        raise UsageError(f"{source}: holds {len(docs)} documents, not one",
                         hint=f"expected {expect}")
    return docs[0]


def describe(value: Any) -> str:
    """How a parsed document that has the wrong shape is named to the user."""
    if isinstance(value, list):
        return "a YAML list"
    if value is None:
        return "empty"
    if isinstance(value, str | int | float | bool):
        return f"a single value ({str(value)[:40]!r})"
    return f"a {type(value).__name__}"


def load_mapping(path: Path | str, *, what: str, expect: str, allow_stdin: bool = False,
                 max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    """A file holding one mapping (YAML or JSON): a spec, a kubeconfig, a plan, a host report."""
    text = read_text(path, what=what, expect=expect, allow_stdin=allow_stdin,
                     max_bytes=max_bytes)
    source = f"{what} {'<stdin>' if allow_stdin and str(path) == '-' else path}".strip()
    doc = parse_json_or_yaml(text, source, expect=expect)
    if not isinstance(doc, dict):
        raise UsageError(f"{source}: is {describe(doc)}, not a mapping", hint=f"expected {expect}")
    return doc


# --- validation errors in dualnet's words ------------------------------------------------------

# pydantic's phrasing -> dualnet's; a prefix rule replaces the start of the message, and a
# "whole" rule (True) replaces all of it (pydantic's tail names its own classes)
_PYDANTIC_WORDS: tuple[tuple[str, str, bool], ...] = (
    ("Input should be a valid dictionary", "should be a mapping", True),
    ("Input should be an object", "should be a mapping", True),
    ("Input should be a valid list", "should be a list", True),
    ("Input should be a valid string", "should be a string", True),
    ("Input should be a valid integer", "should be a whole number", True),
    ("Input should be a valid boolean", "should be true or false", True),
    ("Input should be a valid number", "should be a number", True),
    ("Input should be ", "should be ", False),
    ("Value error, ", "", False),
    ("Field required", "required field is missing", True),
    ("Extra inputs are not permitted", "unknown field", True),
    # the same two of a dataclass (the host models, the findings)
    ("Missing required argument", "required field is missing", True),
    ("Unexpected keyword argument", "unknown field", True),
)


def plain_message(msg: str) -> str:
    """A pydantic error message as dualnet says it: no "Input should be a valid dictionary or
    instance of NetworkSpec", no URL to pydantic's docs."""
    msg = msg.split(" [type=")[0].split("\n    For further information")[0]
    for old, new, whole in _PYDANTIC_WORDS:
        if msg.startswith(old):
            return new if whole else new + msg[len(old):]
    return msg


def validation_problems(errors: list[Any], *, limit: int = 5) -> str:
    """pydantic's `exc.errors(include_url=False)` as `where: what` lines."""
    lines = []
    for err in errors[:limit]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in
                         ("function-after", "function-before"))
        lines.append(f"{where or '(top)'}: {plain_message(str(err.get('msg', 'invalid')))}")
    more = f"\n  (+{len(errors) - limit} more)" if len(errors) > limit else ""
    return "\n  ".join(lines) + more
