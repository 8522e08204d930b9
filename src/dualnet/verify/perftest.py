"""Parser for perftest bandwidth outputs (`ib_write_bw` and friends), including `--use_cuda`
(GPUDirect) runs, and the units they print: Gb/sec with --report_gbits, else MiB/sec (MB/sec in
old versions). Rows are converted to Gb/s so they compare with a port's line rate."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from dualnet.parse.errors import ParseError

SOURCE = "ib_write_bw"

_TEST = re.compile(r"^\s*(?P<name>[A-Za-z_ ]+?(?:BW|Bandwidth)[A-Za-z ]*Test)\s*$")
_HEADER = re.compile(
    r"#bytes\s+#iterations\s+BW peak\[(?P<u1>[^\]]+)\]\s+BW average\[(?P<u2>[^\]]+)\]"
)
_ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$")
_DASHES = re.compile(r"^\s*-{20,}\s*$")
_FIELDS = {
    "device": re.compile(r"\bDevice\s*:\s*(\S+)"),
    "qps": re.compile(r"Number of qps\s*:\s*(\d+)"),
    "connection": re.compile(r"Connection type\s*:\s*(\S+)"),
    "link_type": re.compile(r"Link type\s*:\s*(\S+)"),
    "mtu": re.compile(r"\bMtu\s*:\s*(\d+)"),
    "gid_index": re.compile(r"GID index\s*:\s*(\d+)"),
    "exchange": re.compile(r"Data ex\. method\s*:\s*(\S+)"),
}
_GPU = re.compile(r"device name = \[(?P<gpu>[^\]]+)\]")
_UNIT_TO_GBPS = {"Gb/sec": 1.0, "MiB/sec": 1048576 * 8 / 1e9, "MB/sec": 8e6 / 1e9}


class PerftestRow(BaseModel):
    bytes: int
    iterations: int
    bw_peak_gbps: float
    bw_avg_gbps: float
    msg_rate_mpps: float


class PerftestResult(BaseModel):
    test: str = Field(description="'RDMA_Write BW Test', 'RDMA_Write Bidirectional BW Test', ...")
    device: str | None = None
    qps: int | None = None
    connection: str | None = None
    link_type: str | None = None
    mtu: int | None = None
    gid_index: int | None = None
    exchange: str | None = Field(default=None, description="'Ethernet' or 'rdma_cm'")
    units: str = Field(description="units as printed; values below are Gb/s")
    cuda: bool = Field(default=False, description="buffers in GPU memory (--use_cuda)")
    gpu: str | None = None
    rows: list[PerftestRow]

    @property
    def bidirectional(self) -> bool:
        return "Bidirectional" in self.test

    @property
    def best_avg_gbps(self) -> float:
        return max(r.bw_avg_gbps for r in self.rows)


def parse_ib_write_bw(text: str) -> PerftestResult:
    lines = text.splitlines()
    test: str | None = None
    fields: dict[str, str] = {}
    units: str = ""  # set by the table header, which always precedes the rows
    rows: list[PerftestRow] = []
    in_table = False
    cuda = False
    gpu: str | None = None
    for no, line in enumerate(lines, start=1):
        if line.startswith("# source:"):
            continue
        if "initializing CUDA" in line or "CUDA device" in line:
            cuda = True
        if (g := _GPU.search(line)) is not None:
            gpu = g["gpu"]
        if test is None and (t := _TEST.match(line)) is not None:
            test = t["name"].strip()
            continue
        if (h := _HEADER.search(line)) is not None:
            if h["u1"] != h["u2"] or h["u1"] not in _UNIT_TO_GBPS:
                raise ParseError(SOURCE, f"unknown bandwidth unit {h['u1']!r}", line_no=no,
                                 line=line, hint="known: Gb/sec, MiB/sec, MB/sec")
            units, in_table = h["u1"], True
            continue
        if in_table:
            if _DASHES.match(line):
                in_table = False
                continue
            if (r := _ROW.match(line)) is not None:
                k = _UNIT_TO_GBPS[units]
                rows.append(PerftestRow(bytes=int(r[1]), iterations=int(r[2]),
                                        bw_peak_gbps=float(r[3]) * k,
                                        bw_avg_gbps=float(r[4]) * k, msg_rate_mpps=float(r[5])))
                continue
            if line.strip()[:1].isdigit():
                raise ParseError(SOURCE, "a result row needs 5 numbers: #bytes #iterations "
                                 "BW-peak BW-average MsgRate", line_no=no, line=line)
            continue  # warnings perftest prints inside the table ("Conflicting CPU frequency")
        for key, rx in _FIELDS.items():
            if key not in fields and (m := rx.search(line)) is not None:
                fields[key] = m.group(1)
    if not units:
        raise ParseError(SOURCE, "no result table ('#bytes #iterations BW peak[...]' header); "
                         "the run failed before measuring, or this is not a bandwidth test")
    if not rows:
        raise ParseError(SOURCE, "the result table has no rows (output cut short?)")
    return PerftestResult(
        test=test or "BW Test",
        device=fields.get("device"),
        qps=int(fields["qps"]) if "qps" in fields else None,
        connection=fields.get("connection"),
        link_type=fields.get("link_type"),
        mtu=int(fields["mtu"]) if "mtu" in fields else None,
        gid_index=int(fields["gid_index"]) if "gid_index" in fields else None,
        exchange=fields.get("exchange"),
        units=units,
        cuda=cuda,
        gpu=gpu,
        rows=rows,
    )
