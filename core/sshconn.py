"""One SSH connection per host, shared by runs, logs, metrics and tunnels (paramiko, lazily).

    target = resolve_target(cluster)        # cluster fields over ~/.ssh/config (HostName, User,
                                            # Port, IdentityFile, ProxyJump, UserKnownHostsFile)
    conn = connection_for(cluster)          # the shared SshConnection of that host (thread-safe)
    conn.run(cmd, stdin=b"", timeout=None) -> (exit_code, stdout, stderr)   # one exec channel
    conn.open_channel((host, port))         # a direct-tcpip channel (tunnels)
    conn.sftp()                             # a new SFTP client on the shared transport
                                            # (SftpUnavailable: the host has no SFTP subsystem)
    conn.ensure(deadline=None)              # connect now; with a deadline, retry with backoff
    host_key_status(target) -> (state, key type, "SHA256:…");  trust_host_key(target) -> fingerprint

Host keys are verified against the cluster's `known_hosts` (else UserKnownHostsFile from
~/.ssh/config, else ~/.ssh/known_hosts): an unknown key is refused with its fingerprint and the
command that accepts it, a changed key is refused. Neither is ever accepted by itself.
Keys come from `identity_file`, ~/.ssh/config, the ssh-agent and ~/.ssh/id_*; keepalives every 15 s.
Every failure is an `SshError` (a BackendError) carrying one sentence; only "cannot reach" is
retried with backoff, refused keys and logins are not.
"""

from __future__ import annotations

import getpass
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.backends.base import BackendError

# paramiko logs transport failures (with tracebacks) from its own threads; with no handler they
# would reach stderr through logging's last resort. Failures reach users as BackendError sentences.
logging.getLogger("paramiko").addHandler(logging.NullHandler())

if TYPE_CHECKING:
    import paramiko

    from core.config import ClusterConfig

KEEPALIVE_S = 15
CONNECT_TIMEOUT_S = 10.0
#: Channel window and packet size for tunnels and log reads: large windows keep bulk transfers
#: from stalling on window adjustments.
WINDOW_SIZE = 64 * 1024 * 1024
MAX_PACKET = 256 * 1024


class SshError(BackendError):
    """A failure talking to an SSH host, as one sentence. `retryable`: the host may come back."""

    def __init__(self, message: str, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable


class SftpUnavailable(SshError):
    """The host answers but has no SFTP subsystem (hardened servers disable it)."""


@dataclass(frozen=True)
class SshTarget:
    """Where and how to log in, after ~/.ssh/config was applied."""

    name: str  # the cluster's name (for messages)
    alias: str  # the host as written in the cluster
    hostname: str
    port: int = 22
    user: str = ""
    key_files: tuple[str, ...] = ()
    known_hosts: str = ""
    proxy_jump: str | None = None
    ssh_config: str | None = None  # the OpenSSH client config read (None: ~/.ssh/config)

    @property
    def label(self) -> str:
        return f"{self.user}@{self.hostname}:{self.port}"

    @property
    def host_key_name(self) -> str:
        """The name of this host in known_hosts (`[host]:port` off port 22)."""
        return self.hostname if self.port == 22 else f"[{self.hostname}]:{self.port}"


def _ssh_config(path: str | None = None) -> Any:
    import paramiko

    config_file = Path(path or "~/.ssh/config").expanduser()
    if config_file.is_file():
        return paramiko.SSHConfig.from_path(str(config_file))
    return paramiko.SSHConfig()


def resolve_target(cluster: "ClusterConfig", ssh_config: str | None = None) -> SshTarget:
    """The cluster's SSH fields, completed from ~/.ssh/config (or `ssh_config`, or the cluster's
    `options.ssh_config`); the cluster's own fields win."""
    ssh_config = ssh_config or cluster.options.get("ssh_config")
    if not cluster.host:
        raise SshError(f"cluster {cluster.name} has no `host`; set it to a host name or a ~/.ssh/config alias.")
    return _target(cluster.name, cluster.host, port=cluster.port, user=cluster.user,
                   identity=cluster.identity_file, jump=cluster.proxy_jump,
                   known_hosts=cluster.known_hosts, ssh_config=ssh_config)


def target_from_url(cluster: "ClusterConfig", url: str) -> SshTarget:
    """The SSH target of an `ssh://[user@]host[:port]` URL (a Docker engine's), with the cluster's
    own `identity_file`, `known_hosts`, `proxy_jump` and `options.ssh_config`; the URL's user and
    port win over the cluster's."""
    import urllib.parse

    parsed = urllib.parse.urlparse(url)
    if not parsed.hostname:
        raise SshError(f"{url} names no host; write the engine as ssh://user@host[:port] in cluster {cluster.name}.")
    return _target(cluster.name, parsed.hostname, port=parsed.port or cluster.port,
                   user=parsed.username or cluster.user, identity=cluster.identity_file,
                   jump=cluster.proxy_jump, known_hosts=cluster.known_hosts,
                   ssh_config=cluster.options.get("ssh_config"))


def _target(name: str, alias: str, *, port: int | None = None, user: str | None = None,
            identity: str | None = None, jump: str | None = None, known_hosts: str | None = None,
            ssh_config: str | None = None) -> SshTarget:
    found = _ssh_config(ssh_config).lookup(alias)
    keys = [identity] if identity else list(found.get("identityfile", []))
    known = known_hosts or (found.get("userknownhostsfile") or "").split(" ")[0] or "~/.ssh/known_hosts"
    return SshTarget(
        name=name,
        alias=alias,
        hostname=found.get("hostname", alias),
        port=int(port or found.get("port", 22)),
        user=user or found.get("user") or getpass.getuser(),
        key_files=tuple(str(Path(k).expanduser()) for k in keys),
        known_hosts=str(Path(known).expanduser()),
        proxy_jump=jump or found.get("proxyjump"),
        ssh_config=ssh_config,
    )


def ssh_argv(target: SshTarget, remote_command: str) -> list[str]:
    """The OpenSSH client's argv for `remote_command` on `target` with a terminal, verifying the
    host against the target's known_hosts and logging in with its keys and jump host."""
    argv = ["ssh", "-t", "-p", str(target.port), "-o", f"UserKnownHostsFile={target.known_hosts}",
            "-o", "StrictHostKeyChecking=yes"]
    for key in target.key_files:
        argv += ["-i", key]
    if target.proxy_jump:
        argv += ["-J", target.proxy_jump]
    return argv + [f"{target.user}@{target.hostname}", remote_command]


def _jump_target(outer: SshTarget, spec: str) -> SshTarget:
    """The first hop of a ProxyJump value `[user@]host[:port][,next…]`."""
    hop = spec.split(",")[0].strip()
    user, _, hostport = hop.rpartition("@")
    host, _, port = hostport.partition(":")
    return _target(outer.name, host, port=int(port) if port else None, user=user or None,
                   known_hosts=outer.known_hosts, ssh_config=outer.ssh_config)


def fingerprint(key: "paramiko.PKey") -> str:
    return key.fingerprint  # "SHA256:…" as OpenSSH prints it


# --- host keys -----------------------------------------------------------------------------------


def _known_keys(target: SshTarget) -> dict[str, Any] | None:
    """Key type -> key known for this host, or None when the host is not in known_hosts."""
    import paramiko

    if not os.path.isfile(target.known_hosts):
        return None
    keys = paramiko.HostKeys(target.known_hosts).lookup(target.host_key_name)
    return dict(keys) if keys else None


def _unknown_message(target: SshTarget, key: Any) -> str:
    return (f"the host key of {target.hostname}:{target.port} is unknown ({key.get_name()} "
            f"{fingerprint(key)}); if that fingerprint is right, run `vessl-tui clusters trust {target.name}`.")


def _changed_message(target: SshTarget, key: Any) -> str:
    return (f"the host key of {target.hostname}:{target.port} has changed (now {key.get_name()} "
            f"{fingerprint(key)}), refusing to connect: it may be an attack; if the host was reinstalled, "
            f"remove its line from {target.known_hosts} and run `vessl-tui clusters trust {target.name}`.")


def _open_socket(target: SshTarget) -> Any:
    """A socket (or a jump host's channel) to the target's SSH port."""
    if target.proxy_jump:
        jump = _pool_get(_jump_target(target, target.proxy_jump))
        return jump.open_channel((target.hostname, target.port))
    try:
        return socket.create_connection((target.hostname, target.port), timeout=CONNECT_TIMEOUT_S)
    except OSError as exc:
        raise _unreachable(target, exc) from None


def _unreachable(target: SshTarget, exc: BaseException) -> SshError:
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return SshError(f"cannot reach {target.hostname}:{target.port} ({reason}); check that the host is up "
                    f"and the `host` and `port` of cluster {target.name}.", retryable=True)


def fetch_host_key(target: SshTarget) -> Any:
    """The key the host presents now (preferring a type known_hosts already holds)."""
    import paramiko

    sock = _open_socket(target)
    transport = paramiko.Transport(sock)
    known = _known_keys(target)
    if known:
        opts = transport.get_security_options()
        first = [k for k in opts.key_types if k in known]
        opts.key_types = first + [k for k in opts.key_types if k not in known]
    try:
        transport.start_client(timeout=CONNECT_TIMEOUT_S)
        return transport.get_remote_server_key()
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise _unreachable(target, exc) from None
    finally:
        transport.close()


def host_key_status(target: SshTarget) -> tuple[str, str, str]:
    """("known" | "unknown" | "changed", key type, SHA256 fingerprint) of the host's key now."""
    key = fetch_host_key(target)
    known = _known_keys(target)
    if known is None:
        state = "unknown"
    elif key.get_name() in known and known[key.get_name()] == key:
        state = "known"
    else:
        state = "changed"
    return state, key.get_name(), fingerprint(key)


def trust_host_key(target: SshTarget) -> str:
    """Append the host's current key to known_hosts when it is unknown; refuse a changed key."""
    key = fetch_host_key(target)
    known = _known_keys(target)
    if known is not None:
        if known.get(key.get_name()) == key:
            return fingerprint(key)
        raise SshError(_changed_message(target, key))
    path = Path(target.known_hosts)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    needs_newline = path.is_file() and path.stat().st_size > 0 and not path.read_bytes().endswith(b"\n")
    with open(path, "a") as f:
        f.write(("\n" if needs_newline else "") + f"{target.host_key_name} {key.get_name()} {key.get_base64()}\n")
    os.chmod(path, 0o600)
    return fingerprint(key)


# --- the shared connection -----------------------------------------------------------------------


class SshConnection:
    """One logged-in SSH transport to one host; reconnects on demand. Thread-safe."""

    def __init__(self, target: SshTarget):
        self.target = target
        self.label = target.label
        self.connects = 0
        self._client: Any = None
        self._lock = threading.RLock()

    @property
    def reconnects(self) -> int:
        return max(0, self.connects - 1)

    def is_alive(self) -> bool:
        client = self._client
        transport = client.get_transport() if client is not None else None
        return transport is not None and transport.is_active()

    def ensure(self, deadline: float | None = None) -> None:
        """Be connected. Without `deadline`, one attempt; with it, retry "cannot reach" errors with
        backoff (0.2 s doubling to 5 s) for up to `deadline` seconds."""
        end = time.monotonic() + (deadline or 0.0)
        delay = 0.2
        while True:
            with self._lock:  # held for one attempt only: a caller with a shorter deadline is never kept waiting
                if self.is_alive():
                    return
                try:
                    self._connect()
                    return
                except SshError as exc:
                    if not exc.retryable or time.monotonic() + delay > end:
                        raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def drop(self) -> None:
        """Cut the link abruptly, as a network failure would (for tests and diagnostics)."""
        client = self._client
        transport = client.get_transport() if client is not None else None
        if transport is not None and transport.sock is not None:
            try:
                transport.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _connect(self) -> None:
        import paramiko

        target = self.target
        for key_file in target.key_files:
            if not os.path.isfile(key_file):
                raise SshError(f"the identity file {key_file} does not exist; fix `identity_file` of cluster {target.name}.")
        if self._client is not None:
            self._client.close()
            self._client = None
        client = paramiko.SSHClient()
        if os.path.isfile(target.known_hosts):
            client.load_host_keys(target.known_hosts)
        client.set_missing_host_key_policy(_RefuseUnknown(target))
        sock = _open_socket(target)
        try:
            client.connect(
                target.hostname, target.port, username=target.user, sock=sock,
                key_filename=list(target.key_files) or None, look_for_keys=not target.key_files,
                allow_agent=True, timeout=CONNECT_TIMEOUT_S, banner_timeout=CONNECT_TIMEOUT_S,
                auth_timeout=CONNECT_TIMEOUT_S,
            )
        except SshError:
            client.close()
            raise
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise SshError(_changed_message(target, exc.key)) from None
        except paramiko.AuthenticationException:
            client.close()
            raise SshError(f"could not log in to {target.hostname}:{target.port} as {target.user}: the server "
                           f"refused the key; check `user` and `identity_file` of cluster {target.name}.") from None
        except (paramiko.SSHException, EOFError, OSError) as exc:
            client.close()
            raise _unreachable(target, exc) from None
        transport = client.get_transport()
        transport.set_keepalive(KEEPALIVE_S)
        transport.default_window_size = WINDOW_SIZE
        transport.default_max_packet_size = MAX_PACKET
        self._client = client
        self.connects += 1

    def transport(self) -> Any:
        """The live paramiko transport (connecting first when needed); SshError otherwise."""
        return self._transport()

    def _transport(self) -> Any:
        self.ensure()
        transport = self._client.get_transport() if self._client is not None else None
        if transport is None:
            raise SshError(f"the connection to {self.label} was closed; try again.", retryable=True)
        return transport

    def _lost(self, exc: BaseException) -> SshError:
        return SshError(f"the connection to {self.label} was lost ({exc or type(exc).__name__}); it will be retried.",
                        retryable=True)

    def run(self, command: str, stdin: bytes = b"", timeout: float | None = None) -> tuple[int, str, str]:
        """Run `command` on the host (one exec channel); `stdin` is sent then closed."""
        code, out, err = self.run_bytes(command, stdin, timeout)
        return code, out.decode(errors="replace"), err.decode(errors="replace")

    def run_bytes(self, command: str, stdin: bytes = b"", timeout: float | None = None) -> tuple[int, bytes, bytes]:
        """`run`, with stdout and stderr as the bytes the command wrote."""
        import paramiko

        try:
            channel = self._transport().open_session()
            channel.settimeout(timeout)
            channel.exec_command(command)
            if stdin:
                channel.sendall(stdin)
            channel.shutdown_write()
            out = channel.makefile("rb").read()
            err = channel.makefile_stderr("rb").read()
            code = channel.recv_exit_status()
            channel.close()
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise self._lost(exc) from None
        return code, out, err

    def exec_channel(self, command: str) -> Any:
        """An exec channel running `command`, for the caller to feed and read (no timeout)."""
        import paramiko

        try:
            channel = self._transport().open_session(window_size=WINDOW_SIZE, max_packet_size=MAX_PACKET)
            channel.exec_command(command)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise self._lost(exc) from None
        return channel

    def open_channel(self, target: tuple[str, int]) -> Any:
        """A direct-tcpip channel to `target` as seen from the host."""
        import paramiko

        transport = self._transport()
        try:
            return transport.open_channel("direct-tcpip", target, ("127.0.0.1", 0),
                                          window_size=WINDOW_SIZE, max_packet_size=MAX_PACKET,
                                          timeout=CONNECT_TIMEOUT_S)
        except paramiko.ChannelException as exc:
            raise SshError(f"{self.target.hostname} could not connect to {target[0]}:{target[1]} ({exc.text}); "
                           "is the run listening on that port?") from None
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise self._lost(exc) from None

    def sftp(self) -> "paramiko.SFTPClient":
        """A new SFTP session on the shared transport (close it when done)."""
        import paramiko

        try:
            return paramiko.SFTPClient.from_transport(self._transport(), window_size=WINDOW_SIZE,
                                                      max_packet_size=32768)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            if self.is_alive():  # the link holds: the server refused the subsystem
                raise SftpUnavailable(f"{self.target.hostname}:{self.target.port} has no SFTP subsystem "
                                      "(its sshd_config has no `Subsystem sftp` line).") from None
            raise self._lost(exc) from None


class _RefuseUnknown:
    """paramiko missing-host-key policy: refuse, naming the fingerprint and the trust command."""

    def __init__(self, target: SshTarget):
        self.target = target

    def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
        raise SshError(_unknown_message(self.target, key))


_pool: dict[SshTarget, SshConnection] = {}
_pool_lock = threading.Lock()


def _pool_get(target: SshTarget) -> SshConnection:
    with _pool_lock:
        conn = _pool.get(target)
        if conn is None:
            conn = _pool[target] = SshConnection(target)
        return conn


def connection_for(cluster: "ClusterConfig") -> SshConnection:
    """The shared connection of the cluster's host, connected (one attempt); raises SshError."""
    conn = _pool_get(resolve_target(cluster))
    conn.ensure()
    return conn


def close_all() -> None:
    """Close every shared connection (at process exit, in tests), and the OpenSSH masters this
    process made (`core.sshmux`)."""
    from core import sshmux

    with _pool_lock:
        conns = list(_pool.values())
        _pool.clear()
    for conn in conns:
        conn.close()
    sshmux.close_all()
