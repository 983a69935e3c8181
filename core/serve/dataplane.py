"""Which data plane serves a service's endpoint: HAProxy when it is installed, aiohttp otherwise.

`VESSL_TUI_DATAPLANE` forces one: `auto` (the default), `haproxy` or `aiohttp`. Both planes have
one interface, the one the keeper uses:

    await plane.start() -> url        # OSError: the port is taken
    await plane.stop()
    plane.url, plane.port, plane.name
    plane.publish(upstreams, weights)  # thread-safe; the ready set and the split between revisions
    plane.outstanding((revision, index)) -> requests in flight at one replica
    plane.stats(window) -> {revision: {"rps", "inflight", "total"}}
    plane.take_notes() -> sentences worth an event (HAProxy restarted, ...)

HAProxy spends a fifth of the CPU per request that the aiohttp proxy does, which on a machine whose
cores the replicas also use is the difference between 0.9x and 0.3-0.5x of one replica's throughput
(`bench/serve_endpoint.py`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

from core.serve.models import ServeError

DATAPLANE_ENV = "VESSL_TUI_DATAPLANE"
CHOICES = ("auto", "haproxy", "aiohttp")


def requested_plane() -> str:
    """The plane `VESSL_TUI_DATAPLANE` asks for; ServeError for a value that is none of CHOICES."""
    value = os.environ.get(DATAPLANE_ENV, "").strip().lower() or "auto"
    if value not in CHOICES:
        raise ServeError(f"{DATAPLANE_ENV}={value} is not a data plane; set it to auto, haproxy or aiohttp.")
    return value


async def start_dataplane(state_dir: Path, port: int, choice: str | None = None):
    """Start the chosen plane on 127.0.0.1:`port` (0 = free). Returns (plane, notes): notes say why
    `auto` fell back to aiohttp. OSError: the port is taken; ServeError: a forced HAProxy failed."""
    choice = choice or requested_plane()
    notes: list[str] = []
    if choice in ("auto", "haproxy"):
        from core.serve.haproxy import HaproxyEndpoint, HaproxyError

        plane = HaproxyEndpoint(state_dir, port=port)
        try:
            await plane.start()
            return plane, notes
        except HaproxyError as exc:
            if choice == "haproxy":
                raise ServeError(f"{exc}; install it, or set {DATAPLANE_ENV}=aiohttp.") from None
            if plane.binary:  # installed but broken: worth saying; simply absent is the normal case
                notes.append(f"{exc}; the aiohttp data plane serves instead.")
    from core.serve.endpoint import Endpoint

    plane = Endpoint(port=port)
    await plane.start()
    return plane, notes


def call_on_loop(loop: asyncio.AbstractEventLoop, fn: Callable[[], None]) -> None:
    """Run `fn` on `loop`'s thread and wait for it (at once when already there)."""
    try:
        here = asyncio.get_running_loop()
    except RuntimeError:
        here = None
    if here is loop:
        fn()
        return

    async def call() -> None:
        fn()

    asyncio.run_coroutine_threadsafe(call(), loop).result()
