"""Key-to-frame latency for the TUI benches (imported by them; prints nothing itself).

`Pilot.press` waits until the process looks idle (it compares CPU time with wall time in 20 ms
steps), so under load it measures that wait, not the app. Here the key event is posted to the app
directly, the clock stops once the key's effect is visible (`changed()`) and the screen has been
refreshed after it (`call_after_refresh`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from textual import events


async def key_to_frame(app, key: str, changed: Callable[[], bool], timeout: float = 10.0) -> float:
    """Seconds from posting `key` to the first refresh after `changed()` holds."""
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    app.post_message(events.Key(key, key if len(key) == 1 else None))
    while not changed():
        if time.perf_counter() - start > timeout:
            raise TimeoutError(f"{key} had no effect in {timeout} s")
        await asyncio.sleep(0.0005)
    frame = loop.create_future()
    app.call_after_refresh(lambda: frame.done() or frame.set_result(None))
    await frame
    return time.perf_counter() - start


def percentile(xs: list[float], q: float) -> float:
    """The q-quantile of `xs`, in milliseconds."""
    return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))] * 1000


async def presses(app, key: str, state: Callable[[], object], count: int, gap: float = 0.05) -> list[float]:
    """Key-to-frame seconds of `key`, pressed `count` times `gap` s apart; each press must change
    `state()`."""
    times = []
    for _ in range(count):
        before = state()
        times.append(await key_to_frame(app, key, lambda: state() != before))
        await asyncio.sleep(gap)
    return times
