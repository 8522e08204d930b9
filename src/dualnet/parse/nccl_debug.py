"""Parser for NCCL's own log (`NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,NET[,ENV]`).

It reads back what NCCL decided, in the words NCCL prints them (src/init.cc, src/transport/net.cc,
src/transport/net_ib/init.cc):

- `Using network IB|Socket|<plugin>`: the network plugin of a communicator (older NCCL: of the
  process);
- `NET/IB : Using [0]mlx5_0:1/IB [1]mlx5_1:1/RoCE [RO]; OOB eth0:10.0.0.1<0>`: the HCAs NCCL
  took, their link layer, and the out-of-band (bootstrap) interface;
- `NET/IB : No device found.`, `Unable to open device`, `Failed to open libibverbs.so`: why IB
  was not used;
- `NET/Socket : Using [0]ens3:172.31.12.210<0>`: the socket transport's interfaces;
- `Channel 00/0 : 0[0] -> 8[0] [send] via NET/IB/0/GDRDMA` (older: `Ring 00 : 15 -> 0 [receive]
  via NET/Socket/0`): each network connection, its transport, HCA index and GPUDirect flag;
- `GPU Direct RDMA Disabled for HCA 0 'mlx5_0'`;
- `<VAR> set by environment to <value>` / `<VAR> set to <value>`: the settings NCCL saw (the
  GID index among them: NCCL prints no INFO line with the GID it picked, only these echoes and
  the `localGid` of a failed completion);
- `comm 0x... rank R nranks N ... commId 0x... - Init START|COMPLETE`: the communicators.

Lines may carry any prefix (`host:pid:tid [dev]`, mpirun's `[1,0]<stdout>:`) or none.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from dualnet.parse.decoding import normalize_spaces
from dualnet.parse.errors import ParseError

SOURCE = "NCCL debug log"

_LINE = re.compile(r"NCCL (?P<level>INFO|WARN) (?P<msg>.*)$")
_VERSION = re.compile(r"NCCL version (?P<v>\d+\.\d+\.\d+)")
_NETWORK = re.compile(r"^Using network (?P<net>.+?)\s*$")
_IB_USING = re.compile(r"^NET/IB\s*:\s*Using(?P<devs>(?:\s*\[\d+\]\S+)*)\s*(?:\[RO\])?\s*;"
                       r"\s*OOB\s+(?P<oob>[^:\s]+)")
_IB_DEV = re.compile(r"\[\d+\](?P<name>[^:\s\[]+):(?P<port>\d+)/(?P<ll>\w+)")
_SOCKET_USING = re.compile(r"^NET/Socket\s*:\s*Using\s+(?P<ifs>.*)$")
_SOCKET_IF = re.compile(r"\[\d+\](?P<name>[^:\s]+):")
_CONN = re.compile(r"^(?:Channel|Ring)\s+(?P<ch>\d+)(?:/\d+)?\s*:\s*(?P<src>\d+)(?:\[[^\]]*\])?\s*"
                   r"->\s*(?P<dst>\d+)(?:\[[^\]]*\])?\s*\[(?P<dir>send|receive)\]\s+via\s+"
                   r"NET/(?P<net>[^/\s]+(?: [^/\s]+)*)/(?P<dev>\d+)(?:\(\d+\))?(?P<flags>\S*)")
_GDR_OFF = re.compile(r"GPU Direct RDMA Disabled for HCA \d+ '(?P<hca>[^']+)'")
_ENV = re.compile(r"^(?P<var>NCCL_[A-Z0-9_]+) set (?:by environment )?to (?P<val>.*?)\.?\s*$")
_COMM = re.compile(r"\bcomm (?P<comm>0x[0-9a-f]+) rank (?P<rank>\d+) nranks (?P<nranks>\d+)"
                   r"(?:.*?commId (?P<id>0x[0-9a-f]+))?.*?-\s*Init (?P<phase>START|COMPLETE)")
_LOCAL_GID = re.compile(r"localGid (?P<gid>\S+)")
_OPEN_FAIL = re.compile(r"Unable to open device (?P<dev>\S+)")

SOCKET = "Socket"
IB_NETWORKS = ("IB", "IBext")  # NCCL's internal IB transport and HPC-X's IBext plugin


class IbHca(BaseModel):
    name: str
    port: int
    link_layer: str = Field(description="'IB' or 'RoCE' as NCCL prints it")

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.port}"


class NetConnection(BaseModel):
    channel: int
    src: int
    dst: int
    direction: str
    transport: str = Field(description="NET/<name>: 'IB', 'Socket', 'IBext_v8', ...")
    device: int = Field(description="index in NCCL's device list (the [n] of `NET/IB : Using`)")
    gdr: bool = Field(description="GPUDirect RDMA: the connection's `/GDRDMA` flag")


class Communicator(BaseModel):
    comm: str
    rank: int
    nranks: int
    comm_id: str | None = None
    complete: bool = False


class NcclLog(BaseModel):
    version: str | None = None
    networks: list[str] = Field(default_factory=list, description="`Using network X`, distinct")
    hcas: list[IbHca] = Field(default_factory=list, description="`NET/IB : Using` list")
    oob: list[str] = Field(default_factory=list, description="out-of-band interfaces of NET/IB")
    socket_interfaces: list[str] = Field(default_factory=list)
    connections: list[NetConnection] = Field(default_factory=list)
    gdr_disabled_hcas: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict, description="settings NCCL echoed")
    local_gids: list[str] = Field(default_factory=list, description="from completion errors")
    communicators: list[Communicator] = Field(default_factory=list)
    ib_no_device: bool = Field(default=False, description="`NET/IB : No device found` or 0 devices")
    libibverbs_missing: bool = False
    unopenable_devices: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list, description="NCCL WARN lines, as printed")

    @property
    def transports(self) -> list[str]:
        """Network transports used by connections, else the `Using network` choice, else
        Socket when only the socket transport came up (older NCCL prints no `Using network`)."""
        seen = list(dict.fromkeys(c.transport for c in self.connections))
        if seen or self.networks:
            return seen or list(self.networks)
        return [SOCKET] if self.socket_interfaces and not self.hcas else []

    @property
    def uses_socket(self) -> bool:
        return any(t == SOCKET for t in self.transports)

    @property
    def uses_ib(self) -> bool:
        return any(t.startswith(IB_NETWORKS) for t in self.transports)

    @property
    def gdr(self) -> bool | None:
        """GPUDirect RDMA on the IB connections; None when no IB connection line was logged."""
        ib = [c for c in self.connections if c.transport.startswith(IB_NETWORKS)]
        if not ib:
            return False if self.gdr_disabled_hcas else None
        return all(c.gdr for c in ib)


def _int(text: str, no: int, line: str) -> int:
    try:
        return int(text)
    except ValueError as exc:
        raise ParseError(SOURCE, f"not a number: {text[:20]!r}", line_no=no, line=line) from exc


def _add(items: list[str], value: str) -> None:
    if value not in items:
        items.append(value)


def parse_nccl_debug(text: str) -> NcclLog:
    text = normalize_spaces(text)  # pasted from a web page or a Windows editor, like any capture
    log = NcclLog()
    nccl_lines = 0
    comms: dict[str, Communicator] = {}
    for no, raw in enumerate(text.splitlines(), start=1):
        if raw.startswith("# source:"):
            continue
        if (v := _VERSION.search(raw)) is not None and log.version is None:
            log.version = v["v"]
            nccl_lines += 1
            continue
        m = _LINE.search(raw)
        if m is None:
            continue
        nccl_lines += 1
        msg = m["msg"].strip()
        if m["level"] == "WARN":
            log.warnings.append(msg)
            if "libibverbs" in msg and "open" in msg.lower():
                log.libibverbs_missing = True
            if (g := _LOCAL_GID.search(msg)) is not None:
                _add(log.local_gids, g["gid"])
            if (o := _OPEN_FAIL.search(msg)) is not None:
                _add(log.unopenable_devices, o["dev"])
            continue
        _info(log, comms, msg, no, raw)
    if nccl_lines == 0:
        raise ParseError(SOURCE, "no `NCCL INFO` or `NCCL WARN` line",
                         hint="run the job with NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,NET,ENV")
    log.communicators = list(comms.values())
    return log


def _info(log: NcclLog, comms: dict[str, Communicator], msg: str, no: int, raw: str) -> None:
    if (n := _NETWORK.match(msg)) is not None:
        _add(log.networks, n["net"])
    elif (u := _IB_USING.match(msg)) is not None:
        for d in _IB_DEV.finditer(u["devs"]):
            hca = IbHca(name=d["name"], port=_int(d["port"], no, raw), link_layer=d["ll"])
            if hca not in log.hcas:
                log.hcas.append(hca)
        _add(log.oob, u["oob"])
    elif "NET/IB : No device found" in msg or re.search(r"returned 0 devices", msg):
        log.ib_no_device = True
    elif (s := _SOCKET_USING.match(msg)) is not None:
        for i in _SOCKET_IF.finditer(s["ifs"]):
            _add(log.socket_interfaces, i["name"])
    elif (c := _CONN.match(msg)) is not None:
        log.connections.append(NetConnection(
            channel=_int(c["ch"], no, raw), src=_int(c["src"], no, raw),
            dst=_int(c["dst"], no, raw), direction=c["dir"], transport=c["net"],
            device=_int(c["dev"], no, raw), gdr="/GDRDMA" in c["flags"]))
    elif (g := _GDR_OFF.search(msg)) is not None:
        _add(log.gdr_disabled_hcas, g["hca"])
    elif (e := _ENV.match(msg)) is not None:
        log.env[e["var"]] = e["val"]
    elif (k := _COMM.search(msg)) is not None:
        key = k["comm"]
        comm = comms.setdefault(key, Communicator(
            comm=key, rank=_int(k["rank"], no, raw), nranks=_int(k["nranks"], no, raw),
            comm_id=k["id"]))
        comm.complete = comm.complete or k["phase"] == "COMPLETE"
