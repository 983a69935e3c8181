"""Connecting to a real sshd: host keys verified, one-sentence failures, ~/.ssh/config, ProxyJump."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.backends.base import BackendError
from core.backends.ssh import SshBackend
from core.config import ClusterConfig
from core.sshconn import SshError, connection_for, resolve_target
from tests.fixtures.sshd import free_port, keygen


def _one_sentence(message: str) -> None:
    assert "\n" not in message and "Traceback" not in message
    assert message.endswith(".")


def test_unknown_host_key_refused_then_trusted(sshd, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    cluster = ClusterConfig(name="box", **sshd.cluster(known_hosts=str(known)))
    with pytest.raises(SshError) as err:
        connection_for(cluster)
    message = str(err.value)
    _one_sentence(message)
    assert "host key" in message and "unknown" in message and "SHA256:" in message
    assert "vessl-tui clusters trust box" in message
    backend = SshBackend(cluster)
    state, key_type, fingerprint = backend.host_key_status()
    assert (state, key_type) == ("unknown", "ssh-ed25519") and fingerprint in message
    assert backend.trust_host_key() == fingerprint
    assert backend.host_key_status()[0] == "known"
    assert connection_for(cluster).run("echo in")[1] == "in\n"


def test_changed_host_key_refused_and_never_trusted(sshd, tmp_path: Path) -> None:
    other = keygen(tmp_path / "other_host_key")
    kind, blob = Path(f"{other}.pub").read_text().split()[:2]
    known = tmp_path / "known_hosts"
    known.write_text(f"[{sshd.host}]:{sshd.port} {kind} {blob}\n")
    cluster = ClusterConfig(name="box", **sshd.cluster(known_hosts=str(known)))
    with pytest.raises(SshError) as err:
        connection_for(cluster)
    _one_sentence(str(err.value))
    assert "host key" in str(err.value) and "changed" in str(err.value)
    backend = SshBackend(cluster)
    assert backend.host_key_status()[0] == "changed"
    with pytest.raises(SshError, match="host key"):
        backend.trust_host_key()
    assert known.read_text() == f"[{sshd.host}]:{sshd.port} {kind} {blob}\n"


def test_wrong_user_is_one_sentence(sshd) -> None:
    cluster = ClusterConfig(name="box", **sshd.cluster(user="no-such-user"))
    with pytest.raises(BackendError) as err:
        connection_for(cluster)
    _one_sentence(str(err.value))
    assert "could not log in" in str(err.value) and "no-such-user" in str(err.value)


def test_wrong_key_is_one_sentence(sshd, tmp_path: Path) -> None:
    stranger = keygen(tmp_path / "stranger")
    cluster = ClusterConfig(name="box", **sshd.cluster(identity_file=str(stranger)))
    with pytest.raises(BackendError) as err:
        connection_for(cluster)
    _one_sentence(str(err.value))
    assert "could not log in" in str(err.value)


def test_missing_key_file_is_one_sentence(sshd, tmp_path: Path) -> None:
    cluster = ClusterConfig(name="box", **sshd.cluster(identity_file=str(tmp_path / "nope")))
    with pytest.raises(BackendError) as err:
        connection_for(cluster)
    _one_sentence(str(err.value))
    assert "does not exist" in str(err.value)


def test_unreachable_host_is_one_sentence_and_check_says_so(sshd) -> None:
    cluster = ClusterConfig(name="box", **sshd.cluster(port=free_port()))
    with pytest.raises(BackendError) as err:
        connection_for(cluster)
    _one_sentence(str(err.value))
    assert "cannot reach" in str(err.value)
    check = SshBackend(cluster).check()
    assert not check.reachable and "cannot reach" in check.message


def test_check_reports_capacity_and_no_gpu(backend) -> None:
    check = backend.check()
    assert check.reachable
    assert check.capacity.cpus and check.capacity.cpus >= 1
    assert check.capacity.memory_gb and check.capacity.memory_gb > 0
    assert check.capacity.gpus == [] and check.details["gpu_state"] == "no-gpu"


def test_values_from_ssh_config_and_proxy_jump(sshd, tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(
        f"Host jumpbox\n  HostName {sshd.host}\n  Port {sshd.port}\n  User root\n  IdentityFile {sshd.key}\n\n"
        f"Host gpu-box\n  HostName {sshd.host}\n  Port {sshd.port}\n  User root\n  IdentityFile {sshd.key}\n"
        "  ProxyJump jumpbox\n"
    )
    cluster = ClusterConfig(name="gpu", kind="ssh", host="gpu-box", known_hosts=str(sshd.known_hosts),
                            options={"ssh_config": str(config)})
    target = resolve_target(cluster)
    assert (target.hostname, target.port, target.user, target.proxy_jump) == (sshd.host, sshd.port, "root", "jumpbox")
    assert target.key_files == (str(sshd.key),)
    conn = connection_for(cluster)
    assert conn.run("echo through the jump")[1] == "through the jump\n"
    import paramiko

    assert isinstance(conn._client.get_transport().sock, paramiko.Channel)  # carried by jumpbox


def test_runs_logs_and_metrics_share_one_connection(start_run, backend, sshd) -> None:
    from tests.ssh.conftest import spec_of

    run = start_run(spec_of("echo shared"))
    run.wait()
    backend.sample(run.ctx, run.handle)
    conn = backend.connection()
    assert conn.connects == 1 and conn is connection_for(backend.cluster)
