"""Runs on a real OpenSSH server: exit code, env, output, dropped connections, stop, reattach."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from core import sshconn
from core.backends.ssh import SshBackend
from tests.ssh.conftest import spec_of
from tests.support import git_repo


def test_exit_code_env_and_output(start_run) -> None:
    run = start_run(spec_of('echo "hello $GREETING"', "echo to-stderr >&2; exit 3", env={"GREETING": "world it's me"}))
    info = run.wait()
    assert info.exit_code == 3
    assert run.log == "hello world it's me\nto-stderr\n"


def test_commands_run_in_order_and_stop_at_the_first_failure(start_run) -> None:
    run = start_run(spec_of("echo one", "false", "echo never"))
    assert run.wait().exit_code == 1
    assert run.log == "one\n"


def test_connection_killed_mid_run_loses_no_log_line(start_run, sshd) -> None:
    run = start_run(spec_of("for i in $(seq 1 80); do echo line $i; sleep 0.03; done"))
    run.wait_log("line 10\n")
    assert sshd.kill_connections() >= 1
    info = run.wait()
    assert info.exit_code == 0
    assert run.log == "".join(f"line {i}\n" for i in range(1, 81))


def test_client_socket_cut_mid_run_then_log_complete(start_run, backend) -> None:
    run = start_run(spec_of("for i in $(seq 1 40); do echo tick $i; sleep 0.03; done"))
    run.wait_log("tick 5\n")
    backend.connection().drop()
    assert run.wait().exit_code == 0
    assert run.log == "".join(f"tick {i}\n" for i in range(1, 41))


def test_stop_sends_term_to_the_process_group(start_run, backend) -> None:
    run = start_run(spec_of("trap 'echo got TERM; exit 7' TERM; echo ready; while true; do sleep 0.1; done"))
    run.wait_log("ready\n")
    backend.stop(run.ctx, run.handle, grace=10)
    info = run.wait()
    assert info.exit_code == 7
    assert "got TERM" in run.log


def test_stop_kills_what_ignores_term(start_run, backend) -> None:
    run = start_run(spec_of("trap '' TERM; echo stubborn; sleep 300"))
    run.wait_log("stubborn\n")
    backend.stop(run.ctx, run.handle, grace=0.3)
    info = run.wait()
    assert info.exit_code is None and "killed" in (info.reason or "")
    pgid = run.handle["pid"]
    ps = subprocess.run(["ps", "-eo", "pgid=,stat="], capture_output=True, text=True).stdout.splitlines()
    alive = [line.split()[0] for line in ps if not line.split()[1].startswith("Z")]  # zombies are dead
    assert str(pgid) not in alive


def test_another_client_reattaches_and_reads_the_whole_log(start_run, cluster) -> None:
    run = start_run(spec_of("echo first; sleep 1; echo second"))
    run.wait_log("first\n")
    sshconn.close_all()  # the first client is gone; a new one starts from the stored handle
    other = SshBackend(cluster)
    assert other.attach(run.ctx, run.handle)
    text = b"".join(other.stream(run.ctx, run.handle, 0)).decode()
    assert text == "first\nsecond\n"
    assert other.wait(run.ctx, run.handle, 30).exit_code == 0


def test_secrets_never_in_ps_nor_in_run_files(start_run, sshd, tmp_path: Path) -> None:
    secret = "s3cr3t-Value-4711"
    run = start_run(spec_of('echo "len ${#API_TOKEN}"; sleep 1.5', secrets={"API_TOKEN": secret}))
    run.wait_log("len 17\n")
    ps = subprocess.run(["ps", "auxww"], capture_output=True, text=True).stdout
    assert "len ${#API_TOKEN}" not in ps or secret not in ps
    assert secret not in ps
    assert run.wait().exit_code == 0
    remote_dir = Path(run.handle["dir"])
    for folder in (remote_dir, run.ctx.run_dir):
        for path in folder.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), f"the secret is in {path}"


def test_import_uploaded_and_export_downloaded(start_run, tmp_path: Path) -> None:
    from core.spec.runspec import Volume

    data = tmp_path / "dataset"
    (data / "sub").mkdir(parents=True)
    (data / "sub" / "a.txt").write_text("alpha\n")
    spec = spec_of("cat data/sub/a.txt > out/result.txt; echo done",
                   volumes=[Volume(kind="import", path="data", source=str(data)),
                            Volume(kind="export", path="out", source="file:///ignored")])
    run = start_run(spec)
    assert run.wait().exit_code == 0
    run.backend.finish(run.ctx, run.handle)
    assert (run.ctx.artifacts_dir / "out" / "result.txt").read_text() == "alpha\n"


def test_git_import_at_a_sha_reaches_the_host(start_run, tmp_path: Path) -> None:
    from core.spec.runspec import Volume

    repo = tmp_path / "repo"
    shas = git_repo(repo, [{"README": "first\n"}, {"README": "from git\n"}])
    for ref, expected in ((shas[0], "first\n"), ("main", "from git\n")):
        run = start_run(spec_of("cat code/README", volumes=[Volume(kind="import", path="code", source=f"git://{repo}",
                                                                    ref=ref)]))
        assert run.wait().exit_code == 0
        assert run.log == expected
        assert any(line.startswith(f"cloning {repo} at {ref}") for line in run.provisioning)


def test_jupyter_absent_is_noted_in_the_provisioning_log(start_run) -> None:
    from core.spec.runspec import Interactive

    run = start_run(spec_of("echo up", interactive=Interactive(jupyter=True, idle_timeout=60)))
    assert run.wait().exit_code == 0
    assert any("Jupyter is not installed" in line for line in run.provisioning)


def test_run_metrics_sample_the_process_group(start_run, backend) -> None:
    run = start_run(spec_of("echo go; sleep 2"))
    run.wait_log("go\n")
    sample = backend.sample(run.ctx, run.handle)
    assert sample["memory_bytes"] > 0
    run.wait()


def test_cleanup_removes_the_remote_folder(start_run, backend) -> None:
    run = start_run(spec_of("echo x"))
    run.wait()
    backend.cleanup(run.ctx, run.handle)
    assert not Path(run.handle["dir"]).exists()
    time.sleep(0)
