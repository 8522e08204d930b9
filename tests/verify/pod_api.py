"""The pod subresources `exec` and `log`, served the way kube-apiserver serves them, on top of
the cluster tests' emulator (kmock serves neither).

exec is a WebSocket on `/api/v1/namespaces/NS/pods/NAME/exec?command=..&command=..` speaking the
`v5.channel.k8s.io`/`v4.channel.k8s.io` protocol: every frame is one channel byte (1 stdout,
2 stderr, 3 status) then data; the status frame is a `meta/v1 Status`: `Success`, or `Failure`
with reason `NonZeroExitCode` and the exit code as the `ExitCode` cause (how the kubelet reports
a command that ran and failed). log is a plain-text GET. lightkube's real client talks to both.
What a command prints is looked up in `exec_table` by pod and argument list: the tests fill it
with real tool outputs.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp.web
import kmock
from pydantic import BaseModel

from tests.cluster.conftest import ApiServerEmulator

PODS = kmock.resource("", "v1", "pods")
PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")


class Reply(BaseModel):
    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0


class PodApiEmulator(ApiServerEmulator):
    """ApiServerEmulator plus pods/exec (WebSocket) and pods/log."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (pod, argv as a tuple) or (pod, argv[0]) -> reply; unknown commands exit 127 as a shell
        self.exec_table: dict[tuple[str, Any], Reply] = {}
        self.logs: dict[str, str] = {}
        self.execs: list[tuple[str, list[str]]] = []

    def reply(self, pod: str, argv: list[str]) -> Reply:
        for key in ((pod, tuple(argv)), (pod, argv[0] if argv else "")):
            if key in self.exec_table:
                return self.exec_table[key]
        return Reply(stderr=f'OCI runtime exec failed: exec: "{argv[0]}": executable file not '
                     "found in $PATH", exit_code=127)

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        if request.resource == PODS and request.subresource == "exec":
            return await self._exec(request)
        if request.resource == PODS and request.subresource == "log":
            name = request.name or ""
            if name not in self.logs:
                return aiohttp.web.json_response(
                    {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404,
                     "reason": "NotFound", "message": f'pods "{name}" not found'}, status=404)
            return aiohttp.web.Response(text=self.logs[name], content_type="text/plain")
        return await super()._handle(request)

    async def _exec(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        raw = request._raw_request
        assert raw is not None
        argv = list(raw.query.getall("command", []))
        name = request.name or ""
        self.execs.append((name, argv))
        rep = self.reply(name, argv)
        ws = aiohttp.web.WebSocketResponse(protocols=PROTOCOLS)
        await ws.prepare(raw)
        if rep.stdout:
            await ws.send_bytes(b"\x01" + rep.stdout.encode())
        if rep.stderr:
            await ws.send_bytes(b"\x02" + rep.stderr.encode())
        status: dict[str, Any] = {"metadata": {}, "status": "Success"}
        if rep.exit_code:
            status = {"metadata": {}, "status": "Failure",
                      "message": f"command terminated with non-zero exit code: exit status "
                      f"{rep.exit_code}", "reason": "NonZeroExitCode",
                      "details": {"causes": [{"reason": "ExitCode",
                                              "message": str(rep.exit_code)}]}}
        await ws.send_bytes(b"\x03" + json.dumps(status).encode())
        await ws.close()
        return ws
