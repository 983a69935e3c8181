"""The service endpoint: one local HTTP server that forwards requests to ready replicas.

Built on aiohttp: a mature, asyncio-native HTTP client *and* server in one library, with pooled
keep-alive connections and streaming bodies, so the proxy parses no HTTP by hand and a long
response (token streaming) flows through chunk by chunk.

Routing, per request:
1. pick a revision by weight (smooth weighted round-robin: a 90/10 split is exact over any 10
   consecutive requests, not just on average);
2. within it, the ready replica with the fewest outstanding requests (ties rotate, so idle
   replicas all get traffic);
3. a replica that refuses the connection is skipped and the request goes to another one; one
   that goes away before its answer is complete (killed, crashed) is skipped too when the request
   may be sent twice (GET, HEAD, OPTIONS, PUT, DELETE), else the client gets a 502; once part of a
   streamed answer went out, the client's connection is cut as the replica's was.

Draining replicas get no new requests; the keeper stops them once their outstanding count is 0, so
scaling down never fails a request.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from dataclasses import dataclass, field

from aiohttp import (
    ClientConnectionError, ClientConnectorError, ClientPayloadError, ClientSession, ClientTimeout, DummyCookieJar,
    TCPConnector, web,
)
from multidict import CIMultiDict
from yarl import URL

from core.serve.dataplane import call_on_loop

HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
    "transfer-encoding", "upgrade", "content-length", "host",
})
SAFE_TO_RETRY = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
BUFFERED_BODY = 64 * 1024  # answers up to this size are read whole and sent in one write


@dataclass(eq=False)
class Upstream:
    """A replica as the endpoint sees it. `outstanding` counts requests in flight to it."""

    revision: int
    index: int
    host: str
    port: int
    outstanding: int = 0
    served: int = 0
    draining: bool = False

    @property
    def key(self) -> tuple[int, int]:
        return (self.revision, self.index)

    def url(self, rel: URL) -> URL:
        """The replica's URL for the request's path and query (already encoded: nothing re-parsed)."""
        return URL.build(scheme="http", host=self.host, port=self.port, path=rel.raw_path,
                         query_string=rel.raw_query_string, encoded=True)


@dataclass
class RevisionTraffic:
    """Requests seen for one revision: completed count and a window of arrival times (for rps)."""

    total: int = 0
    inflight: int = 0
    arrivals: deque = field(default_factory=lambda: deque(maxlen=100_000))

    def rps(self, window: float, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        while self.arrivals and self.arrivals[0] < now - window:
            self.arrivals.popleft()
        return len(self.arrivals) / window if window > 0 else 0.0


class Router:
    """Pure routing state: which upstream gets the next request. Not thread-safe (one event loop)."""

    def __init__(self) -> None:
        self.upstreams: dict[tuple[int, int], Upstream] = {}
        self.weights: dict[int, float] = {}
        self._current: dict[int, float] = {}
        self._tick = itertools.count()

    def set_upstreams(self, upstreams: list[Upstream]) -> None:
        """Replace the ready set, keeping counters of replicas that stay."""
        fresh: dict[tuple[int, int], Upstream] = {}
        for up in upstreams:
            old = self.upstreams.get(up.key)
            if old is not None and (old.host, old.port) == (up.host, up.port):
                old.draining = up.draining
                fresh[up.key] = old
            else:
                fresh[up.key] = up
        self.upstreams = fresh

    def set_weights(self, weights: dict[int, float]) -> None:
        """Traffic weight per revision; revisions without ready replicas are skipped at pick time."""
        if weights != self.weights:
            self.weights = dict(weights)
            self._current = {}

    def available(self, exclude: set[tuple[int, int]] = frozenset()) -> dict[int, list[Upstream]]:
        by_rev: dict[int, list[Upstream]] = {}
        for up in self.upstreams.values():
            if not up.draining and up.key not in exclude:
                by_rev.setdefault(up.revision, []).append(up)
        return by_rev

    def pick(self, exclude: set[tuple[int, int]] = frozenset()) -> Upstream | None:
        by_rev = self.available(exclude)
        if not by_rev:
            return None
        weights = {r: self.weights.get(r, 0.0) for r in by_rev if self.weights.get(r, 0.0) > 0}
        if not weights:  # nothing weighted is ready: share among whatever is
            weights = {r: 1.0 for r in by_rev}
        total = sum(weights.values())
        for r, w in weights.items():
            self._current[r] = self._current.get(r, 0.0) + w
        revision = max(weights, key=lambda r: self._current[r])
        self._current[revision] -= total
        candidates = by_rev[revision]
        least = min(up.outstanding for up in candidates)
        tied = [up for up in candidates if up.outstanding == least]
        return tied[next(self._tick) % len(tied)]


class Endpoint:
    """An aiohttp server on `host:port` (0 = a free port) that proxies to the Router's pick."""

    name = "aiohttp"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, connect_timeout: float = 2.0):
        self.host, self.port = host, port
        self.router = Router()
        self.traffic: dict[int, RevisionTraffic] = {}
        self.failed = 0
        self._connect_timeout = connect_timeout
        self._runner = None
        self._session = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> str:
        """Bind and serve; returns the URL. Raises OSError when the port is taken."""
        self._loop = asyncio.get_running_loop()
        app = web.Application(client_max_size=1 << 30)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        # One keep-alive pool, unbounded (as many connections per replica as requests in flight, each
        # reused), no cookie jar (a proxy never keeps one client's cookies for the next), no decoding.
        self._session = ClientSession(
            connector=TCPConnector(limit=0, limit_per_host=0, keepalive_timeout=15),
            cookie_jar=DummyCookieJar(),
            timeout=ClientTimeout(total=None, sock_connect=self._connect_timeout),
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding"),
        )
        return self.url

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def publish(self, upstreams: list[Upstream], weights: dict[int, float]) -> None:
        """Route to `upstreams` split by revision `weights`. Thread-safe: applied on the endpoint's
        loop; returns once applied."""

        def apply() -> None:
            self.router.set_upstreams(upstreams)
            self.router.set_weights(weights)

        call_on_loop(self._loop, apply)

    def take_notes(self) -> list[str]:
        """Sentences worth an event since the last call: none for this plane."""
        return []

    def outstanding(self, key: tuple[int, int]) -> int:
        up = self.router.upstreams.get(key)
        return up.outstanding if up else 0

    def stats(self, window: float = 10.0) -> dict[int, dict[str, float]]:
        """Per revision: requests per second over `window`, in-flight now, total served."""
        now = time.monotonic()
        return {rev: {"rps": t.rps(window, now), "inflight": t.inflight, "total": t.total}
                for rev, t in self.traffic.items()}

    async def _handle(self, request):
        body = await request.read() if request.body_exists else None
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP)
        headers["Host"] = request.host
        rel = request.rel_url
        tried: set[tuple[int, int]] = set()
        while True:
            up = self.router.pick(tried)
            if up is None:
                self.failed += 1
                return web.Response(status=503, text="no ready replica for this service; try again shortly\n")
            tried.add(up.key)
            traffic = self.traffic.setdefault(up.revision, RevisionTraffic())
            traffic.arrivals.append(time.monotonic())
            up.outstanding += 1
            traffic.inflight += 1
            response = None
            try:
                async with self._session.request(
                    request.method, up.url(rel), headers=headers,
                    data=body or None, allow_redirects=False,
                ) as upstream:
                    out_headers = CIMultiDict(
                        (k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP
                    )
                    length = upstream.content_length
                    if length is not None and length <= BUFFERED_BODY:  # small answer: one write
                        answer = await upstream.read()
                        response = web.Response(status=upstream.status, reason=upstream.reason, body=answer,
                                                headers=out_headers)
                    else:  # large or streamed (tokens): chunk by chunk
                        response = web.StreamResponse(status=upstream.status, reason=upstream.reason,
                                                      headers=out_headers)
                        if length is not None:
                            response.content_length = length
                        await response.prepare(request)
                        async for chunk in upstream.content.iter_any():
                            await response.write(chunk)
                        await response.write_eof()
                    up.served += 1
                    traffic.total += 1
                    return response
            except (ClientConnectionError, ClientPayloadError, asyncio.TimeoutError) as exc:
                # the replica refused, went away, or died mid-answer (a killed replica)
                if response is not None and response.prepared:  # part of the answer went out already:
                    if request.transport is not None:            # the client sees it cut, as it was
                        request.transport.close()
                    return response
                if isinstance(exc, ClientConnectorError) or request.method in SAFE_TO_RETRY:
                    continue  # it never reached the replica, or may be asked again: another one answers
                self.failed += 1
                return web.Response(status=502, text="the replica did not answer\n")
            finally:
                up.outstanding -= 1
                traffic.inflight -= 1
