"""The HAProxy data plane as pure data: its configuration text, its routing and its statistics.

Shape of the configuration (one HAProxy process per service; `nbthread` sized to the machine,
keep-alive to clients, idle connections to replicas reused by any request: `http-reuse always`):

    frontend endpoint      bind fd@N (the keeper's listening socket); the backend named by the
                           route map's `route` entry: `b<k>` (one revision), `split` or `none`
    backend b<k>           one per revision slot: `balance leastconn`, `http-reuse always`,
                           `slots` server slots s0..s<n-1>, unused ones in maintenance
    frontend in<k>         an internal abstract socket in front of b<k>
    backend split          one server per in<k>, `balance roundrobin` (smooth weighted): the
                           weighted split between revisions
    backend none           no server: HAProxy's 503, with our sentence

Nothing here talks to a process; `core.serve.haproxy` applies it.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field

CPUS_PER_THREAD = 4
MAX_THREADS = 16
MAX_WEIGHT = 256  # HAProxy's server weights are integers 1..256 (0 = no traffic)
NO_REPLICA = "no ready replica for this service; try again shortly"


@dataclass(frozen=True)
class Layout:
    """How many revision backends and replica slots per backend the running config has."""

    backends: int = 4
    slots: int = 16

    def grown(self, backends: int, slots: int) -> Layout:
        """The smallest doubling of this layout that holds `backends` x `slots`."""
        b, s = self.backends, self.slots
        while b < backends:
            b *= 2
        while s < slots:
            s *= 2
        return Layout(b, s)


@dataclass
class Server:
    """One replica in a slot: where it listens and whether it takes new requests."""

    host: str
    port: int
    draining: bool = False

    @property
    def weight(self) -> int:
        """A draining server has weight 0: no new requests, the ones in flight finish."""
        return 0 if self.draining else 1


@dataclass
class Table:
    """The routing state HAProxy should hold: servers per (backend, slot), route, split weights."""

    servers: dict[tuple[int, int], Server] = field(default_factory=dict)
    route: str = "none"
    split: dict[int, int] = field(default_factory=dict)  # backend -> weight in `split`


@dataclass
class Slots:
    """Which backend serves each revision and which slot each replica holds; stable across updates
    (a replica keeps its slot, so its in-flight count stays readable while it drains)."""

    backend_of: dict[int, int] = field(default_factory=dict)
    slot_of: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)

    def place(self, keys: list[tuple[int, int]]) -> tuple[int, int]:
        """Keep the slots of `keys` (revision, index) that stay, free the others, give new ones the
        lowest free backend and slot. Returns the (backends, slots) a layout needs to hold them."""
        wanted = set(keys)
        self.slot_of = {k: v for k, v in self.slot_of.items() if k in wanted}
        revisions = {rev for rev, _ in keys}
        self.backend_of = {rev: b for rev, b in self.backend_of.items() if rev in revisions}
        for rev in sorted(revisions - set(self.backend_of)):
            self.backend_of[rev] = _lowest_free(set(self.backend_of.values()))
        for key in sorted(wanted - set(self.slot_of)):
            b = self.backend_of[key[0]]
            taken = {s for (bb, s) in self.slot_of.values() if bb == b}
            self.slot_of[key] = (b, _lowest_free(taken))
        backends = max(self.backend_of.values(), default=-1) + 1
        slots = max((s for _, s in self.slot_of.values()), default=-1) + 1
        return backends, slots

    def revision_of(self, backend: int) -> int | None:
        return next((rev for rev, b in self.backend_of.items() if b == backend), None)


def _lowest_free(taken: set[int]) -> int:
    n = 0
    while n in taken:
        n += 1
    return n


def effective_weights(weights: dict[int, float], serving: set[int]) -> dict[int, float]:
    """The weights that apply now: revisions that have weight and a replica taking requests; when
    none of those has one, every serving revision shares equally (as the aiohttp router does)."""
    live = {rev: w for rev, w in weights.items() if w > 0 and rev in serving}
    return live or {rev: 1.0 for rev in serving}


def integer_weights(weights: dict[int, float]) -> dict[int, int]:
    """Float weights as HAProxy weights (1..256), same proportions; integers <= 256 stay as they are."""
    if all(float(w).is_integer() and 0 < w <= MAX_WEIGHT for w in weights.values()):
        return {k: int(w) for k, w in weights.items()}
    top = max(weights.values())
    return {k: max(1, round(MAX_WEIGHT * w / top)) for k, w in weights.items()}


def route_for(backend_weights: dict[int, int]) -> str:
    """`b<k>` straight to one revision's backend, `split` between several, `none` for no replica."""
    if not backend_weights:
        return "none"
    if len(backend_weights) == 1:
        return f"b{next(iter(backend_weights))}"
    return "split"


def data_plane_threads(cpus: int | None = None) -> int:
    """HAProxy threads for a machine with `cpus` usable CPUs (default: this one's): one per
    CPUS_PER_THREAD, at least 1, at most MAX_THREADS. The replicas run on the same machine and need
    most of it: HAProxy spends ~30 us of CPU on a small request, a replica several times that, so a
    second thread only pays off when there are cores to spare (on 2 CPUs it costs ~15% more CPU per
    request and gains nothing, see bench/serve_endpoint.py)."""
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(MAX_THREADS, cpus // CPUS_PER_THREAD))


def render(layout: Layout, table: Table, *, listen_fd: int, internal: str, threads: int | None = None) -> str:
    """The whole configuration. `internal` prefixes the abstract socket names (unique per process);
    `threads`: HAProxy's threads (default: sized to this machine, `data_plane_threads`)."""
    lines = [
        "global",
        "  maxconn 4096",
        f"  nbthread {threads or data_plane_threads()}",
        "  stats socket unix@api.sock mode 600 level admin",
        "defaults",
        "  mode http",
        "  option http-keep-alive",
        "  timeout connect 2s",
        "  timeout client 1h",
        "  timeout server 1h",
        "  timeout http-request 30s",
        "  timeout http-keep-alive 60s",
        "  timeout queue 30s",
        "  retries 3",
        "  retry-on conn-failure empty-response",
        "  option redispatch 1",
        f'  http-error status 503 content-type text/plain string "{NO_REPLICA}\\n"',
        '  http-error status 502 content-type text/plain string "the replica did not answer\\n"',
        '  http-error status 504 content-type text/plain string "the replica did not answer in time\\n"',
        "frontend endpoint",
        f"  bind fd@{listen_fd}",
        "  use_backend %[str(route),map(route.map,none)]",
        "backend none",
        "backend split",
        "  balance roundrobin",
    ]
    for b in range(layout.backends):
        lines.append(f"  server in{b} abns@{internal}-in{b} weight {table.split.get(b, 0)}")
    for b in range(layout.backends):
        lines += [f"frontend in{b}", f"  bind abns@{internal}-in{b}", f"  default_backend b{b}",
                  f"backend b{b}", "  balance leastconn", "  http-reuse always",
                  # a replica that died before answering: only a request that may be sent twice goes to another
                  "  http-request disable-l7-retry unless METH_GET || METH_OPTIONS || METH_PUT || METH_DELETE"]
        for s in range(layout.slots):
            server = table.servers.get((b, s))
            if server is None:
                lines.append(f"  server s{s} 127.0.0.1:1 disabled")
            else:
                lines.append(f"  server s{s} {server.host}:{server.port} weight {server.weight}")
    return "\n".join(lines) + "\n"


def route_map(table: Table) -> str:
    return f"route {table.route}\n"


def commands(old: Table, new: Table) -> list[str]:
    """Runtime API commands that turn a running `old` table into `new` (no reload)."""
    out: list[str] = []
    for (b, s), server in old.servers.items():
        if (b, s) not in new.servers:
            out.append(f"set server b{b}/s{s} state maint")
    for (b, s), server in new.servers.items():
        was = old.servers.get((b, s))
        if was is None or (was.host, was.port) != (server.host, server.port):
            if was is not None:
                out.append(f"set server b{b}/s{s} state maint")
            out.append(f"set server b{b}/s{s} addr {server.host} port {server.port}")
            out.append(f"set weight b{b}/s{s} {server.weight}")
            out.append(f"set server b{b}/s{s} state ready")
        elif was.draining != server.draining:
            out.append(f"set weight b{b}/s{s} {server.weight}")
    for b in set(old.split) | set(new.split):
        if old.split.get(b, 0) != new.split.get(b, 0):
            out.append(f"set weight split/in{b} {new.split.get(b, 0)}")
    if old.route != new.route:
        out.append(f"set map route.map route {new.route}")
    return out


def parse_stat(text: str) -> dict[tuple[str, str], dict[str, str]]:
    """`show stat` CSV as {(proxy, server or BACKEND/FRONTEND): {field: value}}."""
    body = text.lstrip("# ")
    return {(row["pxname"], row["svname"]): row for row in csv.DictReader(io.StringIO(body))}


def busy(row: dict[str, str] | None) -> int:
    """Requests in flight at a server or backend: being served plus queued."""
    if not row:
        return 0
    return int(row.get("scur") or 0) + int(row.get("qcur") or 0)


class RequestCounts:
    """Requests per revision from the backends' cumulative `req_tot`, which starts again at 0 when
    HAProxy restarts, and a short history of totals for request rates."""

    HISTORY = 60.0  # seconds of samples kept

    def __init__(self) -> None:
        self.total: dict[int, int] = {}
        self._last_raw: dict[int, int] = {}
        self._history: dict[int, list[tuple[float, int]]] = {}

    def observe(self, backend: int, revision: int | None, raw: int, now: float) -> None:
        """Fold one reading of backend `backend`'s counter into the revision that holds it now."""
        last = self._last_raw.get(backend, 0)
        delta = raw - last if raw >= last else raw  # below the last reading: the process restarted
        self._last_raw[backend] = raw
        if revision is None:
            return
        total = self.total[revision] = self.total.get(revision, 0) + delta
        history = self._history.setdefault(revision, [])
        history.append((now, total))
        while history and history[0][0] < now - self.HISTORY:
            history.pop(0)

    def restarted(self) -> None:
        """The process was replaced: its counters start again from 0."""
        self._last_raw.clear()

    def rps(self, revision: int, window: float, now: float) -> float:
        """Requests per second over the last `window` seconds (over a longer span when no reading
        falls inside it; the first readings count against the whole window)."""
        history = self._history.get(revision)
        if not history or window <= 0:
            return 0.0
        before = [(t, n) for t, n in history if t <= now - window]
        start_t, start_n = before[-1] if before else history[0]
        span = max(window, now - start_t)
        return (history[-1][1] - start_n) / span
