"""The docker SDK over `ssh://`, through the cluster's own SSH connection (`core.sshconn`).

    client = ssh_docker_client(cluster, "ssh://me@lab:22")

Each HTTP connection to the engine is one exec channel running `docker system dial-stdio` on the
host (what the docker CLI does over ssh://), opened on the host's one shared, verified paramiko
transport: the cluster's `identity_file`, `known_hosts`, `proxy_jump` and ~/.ssh/config are
honoured, an unknown or changed host key is refused with a sentence, and logs stream as from a
local socket (the channel is wrapped so that http.client gets a buffered file with `read1`).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import urllib3
import urllib3.connection
import urllib3.connectionpool
from docker.transport.basehttpadapter import BaseHTTPAdapter

from core.sshconn import SshConnection, _pool_get, target_from_url

if TYPE_CHECKING:
    from core.config import ClusterConfig

DIAL = "docker system dial-stdio"


class _ChannelReader(io.RawIOBase):
    def __init__(self, channel: Any):
        self.channel = channel

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.channel.recv(len(buffer))
        buffer[:len(data)] = data
        return len(data)


class ChannelSocket:
    """A paramiko channel with the socket methods http.client and urllib3 use."""

    def __init__(self, channel: Any):
        self.channel = channel

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        reader = io.BufferedReader(_ChannelReader(self.channel), 65536)
        reader.channel = self.channel  # type: ignore[attr-defined]  # where the SDK's attach looks
        return reader

    def sendall(self, data: bytes) -> None:
        self.channel.sendall(data)

    def send(self, data: bytes) -> int:
        return self.channel.send(data)

    def recv(self, size: int) -> bytes:
        return self.channel.recv(size)

    def settimeout(self, timeout: float | None) -> None:
        self.channel.settimeout(timeout)

    def gettimeout(self) -> float | None:
        return self.channel.gettimeout()

    def setsockopt(self, *args: Any) -> None:
        """Socket options mean nothing on a channel."""

    def fileno(self) -> int:
        return self.channel.fileno()

    def shutdown(self, how: int) -> None:
        self.channel.shutdown(how)

    def close(self) -> None:
        self.channel.close()


class _DialConnection(urllib3.connection.HTTPConnection):
    def __init__(self, ssh: SshConnection, timeout: float | None):
        super().__init__("localhost", timeout=timeout)
        self.ssh = ssh

    def connect(self) -> None:
        import paramiko

        transport = self.ssh.transport()
        try:
            channel = transport.open_session(timeout=10)
            channel.settimeout(self.timeout if isinstance(self.timeout, (int, float)) else None)
            channel.exec_command(DIAL)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise ConnectionError(f"the connection to {self.ssh.label} was lost ({exc})") from None
        self.sock = ChannelSocket(channel)


class _DialPool(urllib3.connectionpool.HTTPConnectionPool):
    def __init__(self, ssh: SshConnection, timeout: float | None, maxsize: int):
        super().__init__("localhost", timeout=timeout, maxsize=maxsize)
        self.ssh = ssh

    def _new_conn(self) -> _DialConnection:
        return _DialConnection(self.ssh, self.timeout.connect_timeout if hasattr(self.timeout, "connect_timeout")
                               else self.timeout)


class SshDialAdapter(BaseHTTPAdapter):
    """requests adapter: every request to `http+docker://ssh` goes over `ssh`'s dial-stdio channels."""

    def __init__(self, ssh: SshConnection, timeout: float | None = 60, max_pool_size: int = 10):
        self.ssh = ssh
        self.timeout = timeout
        self.max_pool_size = max_pool_size
        self.pool: _DialPool | None = None
        super().__init__()

    def get_connection(self, url: Any, proxies: Any = None) -> _DialPool:
        if self.pool is None:
            self.pool = _DialPool(self.ssh, self.timeout, self.max_pool_size)
        return self.pool

    def close(self) -> None:
        super().close()
        if self.pool is not None:
            self.pool.close()
            self.pool = None


def ssh_docker_client(cluster: "ClusterConfig", url: str):
    """A docker SDK client for the engine at `url` (ssh://[user@]host[:port]), logged in with the
    cluster's SSH settings; SshError (a BackendError sentence) when the host refuses us."""
    import docker
    from docker.constants import DEFAULT_TIMEOUT_SECONDS, MINIMUM_DOCKER_API_VERSION

    ssh = _pool_get(target_from_url(cluster, url))
    ssh.ensure()
    # use_ssh_client: the SDK opens nothing itself; its adapter is replaced by ours before any call
    client = docker.DockerClient(base_url=url, use_ssh_client=True, version=MINIMUM_DOCKER_API_VERSION)
    api = client.api
    adapter = SshDialAdapter(ssh, timeout=DEFAULT_TIMEOUT_SECONDS)
    api._custom_adapter = adapter
    api.mount("http+docker://ssh", adapter)
    api._version = api._retrieve_server_version()
    return client
