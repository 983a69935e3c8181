"""The HAProxy data plane: a compiled proxy in front of the replicas, steered at runtime.

Same interface as the aiohttp `Endpoint` (`start`, `stop`, `url`, `port`, `publish`,
`outstanding`, `stats`, `take_notes`), so the keeper does not care which plane runs.

- The keeper binds the endpoint's listening socket itself (a taken port is the same `OSError` as
  with aiohttp) and hands it to `haproxy` (`bind fd@N`). The socket outlives any one HAProxy
  process: while a dead one is replaced, connections wait in the kernel's queue instead of being
  refused, and a larger configuration takes over without a gap (the new process accepts on the same
  socket, the old one finishes what it has in flight).
- HAProxy runs as the keeper's child, in the service's state folder (its configuration, route map,
  admin socket mode 600, pid file and log), and receives SIGTERM when the keeper dies
  (PR_SET_PDEATHSIG). A keeper that starts kills whatever HAProxy a previous one left there.
- Replicas, draining and the split between revisions change through the runtime API (admin socket):
  no reload. Only outgrowing the configured slots writes a larger configuration and swaps processes.
- Per revision, `stats` reads `req_tot` and `scur`/`qcur` of the revision's backend (`show stat`).
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from pathlib import Path

from core.serve.dataplane import call_on_loop
from core.serve.haproxy_conf import (
    Layout, RequestCounts, Server, Slots, Table, busy, commands, effective_weights, integer_weights,
    parse_stat, render, route_for, route_map,
)

MIN_VERSION = (2, 2)  # `http-error`, runtime `set server ... addr ... port`
START_WAIT = 5.0  # seconds for a new HAProxy to answer on its admin socket
WATCH_EVERY = 0.25
STOP_WAIT = 5.0
PR_SET_PDEATHSIG = 1


class HaproxyError(Exception):
    """HAProxy is missing, too old, or could not start; the message is one sentence for the user."""


def haproxy_version(binary: str) -> tuple[int, int]:
    """(major, minor) of `binary`; HaproxyError when it does not run or is older than MIN_VERSION."""
    try:
        out = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HaproxyError(f"haproxy at {binary} does not run ({exc})") from None
    found = re.search(r"version (\d+)\.(\d+)", out)
    if not found:
        raise HaproxyError(f"haproxy at {binary} did not say its version")
    version = (int(found[1]), int(found[2]))
    if version < MIN_VERSION:
        raise HaproxyError(f"haproxy {version[0]}.{version[1]} is too old; the endpoint needs "
                           f"{MIN_VERSION[0]}.{MIN_VERSION[1]} or newer")
    return version


def _die_with_parent_thread(parent: int):
    """A preexec function: SIGTERM when the spawning thread's process dies, even by SIGKILL."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return arm


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class HaproxyEndpoint:
    """The endpoint served by an `haproxy` child on `host:port` (0 = a free port)."""

    name = "haproxy"

    def __init__(self, state_dir: Path, host: str = "127.0.0.1", port: int = 0, binary: str | None = None,
                 layout: Layout = Layout()):
        self.state_dir = Path(state_dir)
        self.host, self.port = host, port
        self.binary = binary or shutil.which("haproxy")
        self._lock = threading.RLock()
        self._layout = layout  # grows (a new process on a larger configuration) when outgrown
        self._slots = Slots()
        self._table = Table()
        self._counts = RequestCounts()
        self._proc: subprocess.Popen | None = None
        self._retiring: list[subprocess.Popen] = []
        self._generation = 0
        self._stale = False  # the runtime API failed: rewrite the whole configuration
        self._notes: deque[str] = deque()
        self._sock: socket.socket | None = None
        self._dirfd: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watch: asyncio.Task | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # lifecycle --------------------------------------------------------------------------------
    async def start(self) -> str:
        """Bind, start HAProxy, return the URL. OSError: the port is taken; HaproxyError: no HAProxy."""
        if not self.binary:
            raise HaproxyError("haproxy is not installed (apt-get install haproxy)")
        haproxy_version(self.binary)
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._kill_stale()
        self._sock = _listen(self.host, self.port)
        self.port = self._sock.getsockname()[1]
        self._dirfd = os.open(self.state_dir, os.O_PATH)
        try:
            self._launch()
        except HaproxyError:
            self._close()
            raise
        self._loop = asyncio.get_running_loop()
        self._watch = asyncio.create_task(self._watchdog())
        return self.url

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        procs = [p for p in (self._proc, *self._retiring) if p is not None]
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                await asyncio.to_thread(proc.wait, STOP_WAIT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._proc, self._retiring = None, []
        (self.state_dir / "haproxy.pid").unlink(missing_ok=True)
        self._close()

    def _close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._dirfd is not None:
            os.close(self._dirfd)
            self._dirfd = None

    def take_notes(self) -> list[str]:
        """Sentences worth an event since the last call (HAProxy died and was restarted, …)."""
        notes = []
        while self._notes:
            notes.append(self._notes.popleft())
        return notes

    # processes (on the event loop's thread: PR_SET_PDEATHSIG follows the thread that forks) -----
    def _launch(self) -> None:
        """Write the configuration for the current table and start a process on it; a previous
        process, if alive, finishes its requests in flight and exits. HaproxyError when it fails."""
        with self._lock:
            self._generation += 1
            fd = self._sock.fileno()
            config = render(self._layout, self._table, listen_fd=fd,
                            internal=f"vessl-tui-{os.getpid()}-{self._generation}")
            (self.state_dir / "haproxy.cfg").write_text(config)
            (self.state_dir / "route.map").write_text(route_map(self._table))
            with open(self.state_dir / "haproxy.log", "ab") as log:
                proc = subprocess.Popen(
                    [self.binary, "-db", "-f", "haproxy.cfg"], cwd=self.state_dir, pass_fds=(fd,),
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                    preexec_fn=_die_with_parent_thread(os.getpid()),
                )
            self._await_answer(proc)
            previous, self._proc = self._proc, proc
            if previous is not None and previous.poll() is None:
                previous.send_signal(signal.SIGUSR1)  # soft stop: no new connections, in-flight ones finish
                self._retiring.append(previous)
            self._counts.restarted()
            self._stale = False
            live = [p.pid for p in (proc, *self._retiring) if p.poll() is None]
            (self.state_dir / "haproxy.pid").write_text("".join(f"{pid}\n" for pid in live))

    def _await_answer(self, proc: subprocess.Popen) -> None:
        deadline = time.monotonic() + START_WAIT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise HaproxyError(f"haproxy could not start: {self._last_alert()}")
            try:
                if f"Pid: {proc.pid}\n" in self._api(["show info"]):
                    return
            except OSError:
                pass
            time.sleep(0.02)
        proc.kill()
        proc.wait()
        raise HaproxyError(f"haproxy did not answer on its admin socket within {START_WAIT:g}s")

    def _last_alert(self) -> str:
        try:
            lines = (self.state_dir / "haproxy.log").read_text(errors="replace").splitlines()
        except OSError:
            lines = []
        alerts = [line.split(" : ", 1)[-1].strip() for line in lines if line.startswith("[ALERT]")]
        useful = [a for a in alerts if "Fatal errors" not in a and "Exiting" not in a]
        return (useful or alerts or ["it exited at once"])[0].rstrip(".")

    async def _watchdog(self) -> None:
        """Replace a dead HAProxy (the socket queues connections meanwhile); reap retired ones."""
        while True:
            await asyncio.sleep(WATCH_EVERY)
            self._retiring = [p for p in self._retiring if p.poll() is None]
            dead = self._proc.poll() is not None
            if not dead and not self._stale:
                continue
            if dead:
                code = self._proc.returncode
                how = f"killed by signal {-code}" if code < 0 else f"exit {code}"
                self._notes.append(f"haproxy ended ({how}); started again with the same replicas")
            try:
                self._launch()
            except HaproxyError as exc:
                self._notes.append(str(exc))
                await asyncio.sleep(1.0)

    def _kill_stale(self) -> None:
        """Kill an HAProxy that a previous keeper of this service left running (it was killed)."""
        try:
            pids = [int(p) for p in (self.state_dir / "haproxy.pid").read_text().split()]
        except (OSError, ValueError):
            return
        here = str(self.state_dir.resolve())
        for pid in pids:
            try:
                if os.readlink(f"/proc/{pid}/cwd") != here or b"haproxy" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                    continue
                os.kill(pid, signal.SIGKILL)
            except OSError:
                continue
            deadline = time.monotonic() + STOP_WAIT
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.02)

    # the runtime API ----------------------------------------------------------------------------
    def _api(self, lines: list[str]) -> str:
        """Send commands to the admin socket in one connection; their answers, concatenated."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2.0)
            sock.connect(f"/proc/self/fd/{self._dirfd}/api.sock")  # short, whatever the folder's length
            sock.sendall(("; ".join(lines) + "\n").encode())
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode(errors="replace")

    def _stat(self, kinds: int) -> dict[tuple[str, str], dict[str, str]]:
        """`show stat` for object kinds `kinds` (2 backends, 4 servers)."""
        return parse_stat(self._api([f"show stat -1 {kinds} -1"]))

    # what the keeper calls ----------------------------------------------------------------------
    def publish(self, upstreams, weights: dict[int, float]) -> None:
        """Make HAProxy route to `upstreams` (core.serve.endpoint.Upstream) split by revision
        `weights`. Thread-safe; returns once applied."""
        with self._lock:
            needed = self._slots.place([up.key for up in upstreams])
            table = Table()
            for up in upstreams:
                table.servers[self._slots.slot_of[up.key]] = Server(up.host, up.port, up.draining)
            serving = {up.revision for up in upstreams if not up.draining}
            shares = effective_weights(weights, serving)
            table.split = integer_weights({self._slots.backend_of[rev]: w for rev, w in shares.items()}) if shares else {}
            table.route = route_for(table.split)
            grow = needed[0] > self._layout.backends or needed[1] > self._layout.slots
            lines = commands(self._table, table)
            self._table = table
            if grow:
                self._layout = self._layout.grown(*needed)
            elif lines:
                try:
                    self._api(lines)
                except OSError:
                    self._stale = True  # the watchdog writes the whole table into a new process
        if grow:
            call_on_loop(self._loop, self._launch)

    def outstanding(self, key: tuple[int, int]) -> int:
        """Requests in flight (or queued) at one replica; 1 while a live HAProxy cannot say."""
        with self._lock:
            placed = self._slots.slot_of.get(key)
        if placed is None or self._proc is None or self._proc.poll() is not None:
            return 0  # a dead HAProxy has nothing in flight
        try:
            rows = self._stat(4)
        except OSError:
            return 1
        return busy(rows.get((f"b{placed[0]}", f"s{placed[1]}")))

    def stats(self, window: float = 10.0) -> dict[int, dict[str, float]]:
        """Per revision: requests per second over `window`, in flight now, total served."""
        try:
            rows = self._stat(2)
        except OSError:
            rows = {}
        now = time.monotonic()
        out: dict[int, dict[str, float]] = {}
        with self._lock:
            for b in range(self._layout.backends):
                row = rows.get((f"b{b}", "BACKEND"))
                revision = self._slots.revision_of(b)
                if row is not None:
                    self._counts.observe(b, revision, int(row.get("req_tot") or 0), now)
                if revision is not None:
                    out[revision] = {"inflight": busy(row)}
            for revision in set(out) | set(self._counts.total):
                entry = out.setdefault(revision, {"inflight": 0})
                entry["rps"] = self._counts.rps(revision, window, now)
                entry["total"] = self._counts.total.get(revision, 0)
        return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
