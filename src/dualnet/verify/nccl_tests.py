"""Parser for nccl-tests outputs (`all_reduce_perf` and the other *_perf binaries)."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from dualnet.parse.errors import ParseError

SOURCE = "all_reduce_perf"

_RANK = re.compile(r"^#\s*Rank\s+(?P<rank>\d+)\s+Group\s+\d+\s+Pid\s+\d+\s+on\s+(?P<host>\S+)\s+"
                   r"device\s+(?P<dev>\d+)\s+\[(?P<bus>[^\]]+)\]\s*(?P<gpu>.*)$")
_AVG = re.compile(r"^#\s*Avg bus bandwidth\s*:\s*(?P<v>[\d.]+)")
_OOB = re.compile(r"^#\s*Out of bounds values\s*:\s*(?P<n>\d+)\s*(?P<ok>\w+)?")
_HEADER = re.compile(r"^#\s+size\s+count\s+type\b(?P<rest>.*)$")
_NUM = re.compile(r"^\d+(?:\.\d+)?$")


class NcclSide(BaseModel):
    time_us: float
    algbw_gbs: float = Field(description="GB/s, as printed")
    busbw_gbs: float
    wrong: int | None = Field(default=None, description="None when validation was off (N/A)")


class NcclRow(BaseModel):
    size_bytes: int
    count: int
    dtype: str
    redop: str | None = None
    root: int | None = None
    out_of_place: NcclSide
    in_place: NcclSide


class NcclTestResult(BaseModel):
    ranks: int = Field(description="ranks listed under '# Using devices'")
    hosts: list[str] = Field(default_factory=list)
    gpus: list[str] = Field(default_factory=list)
    rows: list[NcclRow]
    avg_busbw_gbs: float | None = None
    out_of_bounds: int | None = None

    @property
    def peak_busbw_gbs(self) -> float:
        return max(max(r.out_of_place.busbw_gbs, r.in_place.busbw_gbs) for r in self.rows)

    @property
    def ranks_per_host(self) -> int:
        return max(1, self.ranks // max(1, len(self.hosts)))

    @property
    def errors(self) -> int:
        return sum((r.out_of_place.wrong or 0) + (r.in_place.wrong or 0) for r in self.rows)


def _side(tokens: list[str], no: int, line: str) -> NcclSide:
    try:
        wrong = None if tokens[3] == "N/A" else int(tokens[3])
        return NcclSide(time_us=float(tokens[0]), algbw_gbs=float(tokens[1]),
                        busbw_gbs=float(tokens[2]), wrong=wrong)
    except ValueError as exc:
        raise ParseError(SOURCE, "expected time algbw busbw #wrong numbers", line_no=no,
                         line=line) from exc


def parse_all_reduce_perf(text: str) -> NcclTestResult:
    ranks: dict[int, str] = {}
    gpus: list[str] = []
    rows: list[NcclRow] = []
    avg: float | None = None
    oob: int | None = None
    has_redop, has_root = True, True
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not line.strip() or line.startswith("# source:"):
            continue
        if line.lstrip().startswith("#"):
            s = line.strip()
            if (m := _RANK.match(s)) is not None:
                ranks[int(m["rank"])] = m["host"]
                gpus.append(m["gpu"].strip())
            elif (m := _AVG.match(s)) is not None:
                avg = float(m["v"])
            elif (m := _OOB.match(s)) is not None:
                oob = int(m["n"])
            elif (m := _HEADER.match(s)) is not None:
                has_redop, has_root = "redop" in m["rest"], "root" in m["rest"]
            continue
        tokens = line.split()
        if not _NUM.match(tokens[0]):
            continue  # NCCL INFO/WARN lines, mpirun chatter
        want = 3 + int(has_redop) + int(has_root) + 8
        if len(tokens) != want:
            raise ParseError(SOURCE, f"a result row has {want} columns, this one {len(tokens)}",
                             line_no=no, line=line)
        try:
            size, count = int(tokens[0]), int(tokens[1])
            root = int(tokens[3 + int(has_redop)]) if has_root else None
        except ValueError as exc:
            raise ParseError(SOURCE, "size, count and root must be integers", line_no=no,
                             line=line) from exc
        rows.append(NcclRow(
            size_bytes=size, count=count, dtype=tokens[2],
            redop=tokens[3] if has_redop else None, root=root,
            out_of_place=_side(tokens[-8:-4], no, line), in_place=_side(tokens[-4:], no, line),
        ))
    if not rows:
        raise ParseError(SOURCE, "no result rows (the run failed before measuring: look for "
                         "'NCCL WARN' or MPI errors in the full log)")
    hosts = list(dict.fromkeys(ranks[r] for r in sorted(ranks)))
    return NcclTestResult(ranks=len(ranks), hosts=hosts, gpus=gpus, rows=rows,
                          avg_busbw_gbs=avg, out_of_bounds=oob)
