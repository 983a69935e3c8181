"""Port tunnels: a run's port reachable at 127.0.0.1:LOCAL on this machine.

CONTRACT (the TUI and the CLI code against these names):

    manager = TunnelManager()
    tunnel = manager.open_for_run(engine, ref, remote_port, local_port=None) -> Tunnel
    tunnel = manager.open(backend, ctx, handle, remote_port, local_port=None) -> Tunnel
    manager.list(run_id=None) -> list[Tunnel];  manager.close(tunnel);  manager.close_all()

    Tunnel: run_id, remote_port, target (host, port on the cluster's side), local_port, kind
    ("ssh" | "direct"), state ("open" | "reconnecting" | "closed" | "error"), message, url,
    address (host, port to connect to from this machine), reachable(timeout) (does something
    listen at the far end now?), bytes_in (to this machine), bytes_out (to the run),
    connections (open now), reconnects

An "ssh" tunnel listens on 127.0.0.1:LOCAL (the wished port, or a free one when it is busy, or
when none was wished) and carries each accepted connection over a direct-tcpip channel of the
host's shared SSH connection. When the link drops, the tunnel keeps listening, reconnects with
backoff by itself (state "reconnecting", then "open" again) and counts `reconnects`; connections
open at the time of the drop end, new ones go through the new link.

A tunnel to a run's Jupyter port (`handle["jupyter_port"]`) carries the run's token in its `url`
(`http://127.0.0.1:PORT/?token=…`, from `core.jupyter`): shown to the user on the CLI and in the
TUI, never in `repr` or `as_json(secrets=False)`, never stored.

A "direct" tunnel is what local and Docker runs get: the port is already reachable on this
machine, so nothing is forwarded and `local_port` is the reachable port (a wished local port is
not honoured there). The UI shows both the same way.
"""

from __future__ import annotations

import errno
import select
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from core.backends.base import BackendError, PortAccess

if TYPE_CHECKING:
    from core.backends.base import Backend, RunContext

_CHUNK = 1 << 18


class Link(Protocol):
    """What an "ssh" tunnel needs from a connection (core.sshconn.SshConnection fits)."""

    label: str
    connects: int  # how many times the link was (re)established

    def open_channel(self, target: tuple[str, int]) -> Any:
        """A connected socket-like channel (send, recv, fileno, close) to `target`; reconnects."""

    def is_alive(self) -> bool:
        """True when the link is up now."""

    def ensure(self, deadline: float | None = None) -> None:
        """Reconnect with backoff until up (or until `deadline` seconds from now); may raise."""


class Tunnel:
    """One forwarded (or directly reachable) port of one run. Thread-safe to read."""

    def __init__(self, *, run_id: str, remote_port: int, target: tuple[str, int], local_port: int, kind: str):
        self.run_id = run_id
        self.remote_port = remote_port
        self.target = target
        self.local_port = local_port
        self.kind = kind
        self.path = ""  # "/?token=…" for a Jupyter port: part of `url` only
        self.state = "open"
        self.message = ""
        self.bytes_in = 0
        self.bytes_out = 0
        self.connections = 0
        self.reconnects = 0
        self._lock = threading.Lock()

    @property
    def address(self) -> tuple[str, int]:
        """Where a client on this machine connects: the target itself when direct."""
        return self.target if self.kind == "direct" else ("127.0.0.1", self.local_port)

    @property
    def base_url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """The URL to open; for Jupyter it carries the run's token (a secret: show it, never log it)."""
        return self.base_url + self.path

    def reachable(self, timeout: float = 0.5) -> bool:
        """True when something listens at the far end now (a TCP connect to the target)."""
        try:
            socket.create_connection(self.target, timeout=timeout).close()
            return True
        except OSError:
            return False

    @property
    def is_open(self) -> bool:
        return self.state in ("open", "reconnecting")

    def close(self) -> None:
        self.state = "closed"

    def as_json(self, secrets: bool = True) -> dict[str, Any]:
        """The tunnel as JSON; `secrets=False` leaves the token out of `url` (for anything stored)."""
        keys = ("run_id", "remote_port", "local_port", "kind", "state", "message")
        data = {key: getattr(self, key) for key in keys}
        data["url"] = self.url if secrets else self.base_url
        data.update(target=list(self.target), bytes_in=self.bytes_in, bytes_out=self.bytes_out,
                    connections=self.connections, reconnects=self.reconnects)
        return data

    def _count(self, attr: str, amount: int) -> None:
        with self._lock:
            setattr(self, attr, getattr(self, attr) + amount)

    def __repr__(self) -> str:
        return f"<Tunnel {self.kind} run={self.run_id} {self.base_url} -> {self.target[0]}:{self.target[1]} {self.state}>"


def listen_local(wished: int | None) -> socket.socket:
    """A listening socket on 127.0.0.1: the wished port, else (busy or None) a free one."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", wished or 0))
    except OSError as exc:
        if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
            raise
        sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


class SshTunnel(Tunnel):
    """A local listener whose connections ride direct-tcpip channels of a shared SSH link."""

    def __init__(self, link: Link, *, local_port: int | None, **kw: Any):
        self._server = listen_local(local_port)
        super().__init__(local_port=self._server.getsockname()[1], kind="ssh", **kw)
        self._link = link
        self._first_connect = link.connects
        self._closed = threading.Event()
        self._reconnecting = threading.Lock()
        threading.Thread(target=self._accept_loop, name=f"tunnel-{self.local_port}", daemon=True).start()
        threading.Thread(target=self._watch_link, name=f"tunnel-watch-{self.local_port}", daemon=True).start()

    def close(self) -> None:
        self.state = "closed"
        self._closed.set()
        try:
            self._server.close()
        except OSError:
            pass

    def reachable(self, timeout: float = 0.5) -> bool:
        """True when the host can connect to the target now (a channel opened and closed): the
        local listener alone says nothing about the run's port."""
        if not self._link.is_alive():
            return False
        try:
            self._link.open_channel(self.target).close()
            return True
        except BackendError:
            return False

    def _watch_link(self) -> None:
        """Notice a dropped link and bring it back with backoff, even with no traffic."""
        while not self._closed.wait(0.5):
            if not self._link.is_alive():
                self._revive()
            self._note_reconnects()

    def _note_reconnects(self) -> None:
        """Count the link's re-establishments since the tunnel opened (whoever brought it back)."""
        self.reconnects = max(0, self._link.connects - self._first_connect)

    def _revive(self) -> bool:
        """Reconnect the link (one caller at a time); False when it could not be done (yet)."""
        with self._reconnecting:
            if self._link.is_alive():
                return True
            if self._closed.is_set():
                return False
            self.state = "reconnecting"
            self.message = f"connection to {self._link.label} lost; reconnecting"
            try:
                self._link.ensure(deadline=30.0)
            except BackendError as exc:
                self.message = str(exc)
                return False
            self._note_reconnects()
            if not self._closed.is_set():
                self.state, self.message = "open", ""
            return True

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _open_channel(self) -> Any:
        for _ in range(2):
            try:
                return self._link.open_channel(self.target)
            except BackendError as exc:
                self.message = str(exc)
                if self._link.is_alive() or not self._revive():
                    return None
        return None

    def _serve(self, client: socket.socket) -> None:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        channel = self._open_channel()
        if channel is None:
            client.close()
            return
        self._count("connections", 1)
        try:
            _pump(client, channel, self._closed, self._count)
        finally:
            self._count("connections", -1)
            channel.close()
            client.close()


def _pump(client: socket.socket, channel: Any, closed: threading.Event,
          count: Callable[[str, int], None]) -> None:
    """Copy bytes both ways until either side ends (or the tunnel closes)."""
    ends = {client: (channel, "bytes_out"), channel: (client, "bytes_in")}
    while not closed.is_set():
        readable, _, _ = select.select(list(ends), [], [], 0.5)
        for src in readable:
            dst, counter = ends[src]
            try:
                data = src.recv(_CHUNK)
            except OSError:
                return
            if not data:
                return
            count(counter, len(data))
            try:
                dst.sendall(data)
            except OSError:
                return


class TunnelManager:
    """The tunnels of one client (a TUI or a `vessl-tui tunnel` process). Thread-safe."""

    def __init__(self) -> None:
        self._tunnels: list[Tunnel] = []
        self._lock = threading.Lock()

    def open(self, backend: "Backend", ctx: "RunContext", handle: dict[str, Any] | None,
             remote_port: int, local_port: int | None = None) -> Tunnel:
        """Reach `remote_port` of the run: forwarded over SSH, or direct. Raises BackendError."""
        if not isinstance(backend, PortAccess):
            raise BackendError(f"runs on cluster {ctx.cluster.name} do not expose ports to this machine.")
        if not handle:
            raise BackendError(f"run {ctx.run_id} has not started yet; open the tunnel once it is running.")
        with self._lock:
            for tunnel in self._tunnels:
                if tunnel.run_id == ctx.run_id and tunnel.remote_port == remote_port and tunnel.is_open:
                    return tunnel
        target = backend.port_target(ctx, handle, remote_port)
        common = dict(run_id=ctx.run_id, remote_port=remote_port, target=target)
        if backend.needs_tunnel():
            tunnel: Tunnel = SshTunnel(backend.connection(), local_port=local_port, **common)  # type: ignore[attr-defined]
        else:
            tunnel = Tunnel(local_port=target[1], kind="direct", **common)
        if handle.get("jupyter_port") == remote_port:
            from core.jupyter import jupyter_path

            tunnel.path = jupyter_path(ctx.run_id)
        with self._lock:
            self._tunnels.append(tunnel)
        return tunnel

    def open_for_run(self, engine: Any, ref: str, remote_port: int, local_port: int | None = None) -> Tunnel:
        """`open` for a run named by id, id prefix or name, through the engine."""
        record = engine.get(ref)
        backend = engine.backend(record.cluster)
        ctx = engine.run_context(record.id)
        return self.open(backend, ctx, record.handle, remote_port, local_port)

    def list(self, run_id: str | None = None) -> list[Tunnel]:
        with self._lock:
            return [t for t in self._tunnels if run_id is None or t.run_id == run_id]

    def close(self, tunnel: Tunnel) -> None:
        tunnel.close()
        with self._lock:
            if tunnel in self._tunnels:
                self._tunnels.remove(tunnel)

    def close_all(self) -> None:
        for tunnel in self.list():
            self.close(tunnel)
