"""The operator tests' API emulator with kmock's three per-request costs that grow with the run
taken out, so a fleet-scale benchmark measures the operator rather than the emulator.

kmock 0.8 (read in its source, `kmock/_internal`):
  1. every request is appended to the handler's history and, to pick its reaction, tested with
     `request in payload._source`, which walks that whole history through each reaction's
     filters (`dsl.View.__contains__`): O(requests served so far);
  2. every fetch, update and create answers by scanning all stored objects for the key
     (`KubernetesEmulator.__get_objs`): O(objects stored);
  3. every patch keeps the previous version: a deep copy per write, kept for the object's life.
Here the history holds only the requests in flight (writes are counted as they pass, which is
what the benchmark reads the history for), a request naming one object looks it up by key,
and each object keeps its last two versions (`last` of a deleted object needs the one before).
Everything else (merge semantics, watch events, apply, JSON patch, dry run) is the parent's.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import aiohttp.web

from testsupport.apiserver import WRITE_METHODS, OperatorApiServer


def kind_of(path: str) -> str:
    """The kind of write a request path is, as the benchmark's tables name them."""
    if "/nodereports" in path:
        return "nodereport"
    if "/nodes/" in path and path.endswith("/status"):
        return "node-condition"
    if path.endswith("/status"):
        return "tn-status"
    if "/trainingnetworks" in path:
        return "tn (kopf)"
    if "/nodes/" in path:
        return "node-label"
    if "/events" in path:
        return "event"
    return "applied object"


class HistoryFreeApiServer(OperatorApiServer):
    """OperatorApiServer that forgets each request once answered (cost 1 above), and counts the
    write requests by kind (`kind_of`) in `writes`, which is what a benchmark read the history
    for."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.writes: Counter[str] = Counter()

    async def _handle(self, request: Any) -> aiohttp.web.StreamResponse:
        if request.method is not None and request.method.value in WRITE_METHODS:
            self.writes[kind_of(request.url.path)] += 1
        try:
            return await super()._handle(request)
        finally:
            # answered: out of the history (by identity; kmock appended it just before _handle)
            for i in range(len(self._requests) - 1, -1, -1):
                if self._requests[i] is request:
                    del self._requests[i]
                    break


class IndexedApiServer(HistoryFreeApiServer):
    """HistoryFreeApiServer whose requests naming one object find it by key (cost 2) and whose
    objects keep two versions (cost 3): its cost per request does not grow with the run."""

    KEEP_VERSIONS = 2

    def _KubernetesEmulator__get_objs(self, request: Any, strict: bool) -> list[Any]:  # noqa: N802
        # the parent's name-mangled linear scan; a request naming one object is a key lookup
        if request.name is not None and (strict or request.namespace is not None):
            key = (request.resource, request.namespace, request.name)
            return [self.objects[key]] if key in self.objects else []
        return [obj for (res, ns, name), obj in self.objects.items()
                if res == request.resource and (request.namespace is None
                                                or ns == request.namespace)
                and (request.name is None or name == request.name)]

    async def _handle(self, request: Any) -> aiohttp.web.StreamResponse:
        try:
            return await super()._handle(request)
        finally:
            if request.resource is not None and request.name is not None:
                key = (request.resource, request.namespace, request.name)
                if key in self.objects:
                    history = self.objects[key].history
                    if len(history) > self.KEEP_VERSIONS:
                        del history[:-self.KEEP_VERSIONS]
