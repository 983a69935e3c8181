"""Runs on the local backend, against real processes."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from core.spec.runspec import Command, EnvVar, Retry, Volume
from tests.engine.helpers import alive, spec, until
from tests.support import git_repo


def log_of(engine, run_id: str, provisioning: bool = False) -> str:
    return engine.read_log(run_id, provisioning=provisioning)[0].decode()


def test_exit_code_env_and_workdir(engine, vessl_home):
    run_spec = spec(name="basic", env={"GREETING": "hi there"})
    run_spec.commands = [
        Command(command="echo \"$GREETING\"; pwd", workdir="/code"),
        Command(wait=0.1),
        Command(command="pwd; exit 7", workdir="data/out"),
    ]
    record = engine.submit_spec(run_spec)
    final = engine.wait(record.id, timeout=60)
    assert (final.status, final.exit_code) == ("failed", 7)
    work = vessl_home / "runs" / record.id / "work"
    assert log_of(engine, record.id) == f"hi there\n{work}/code\n{work}/data/out\n"


def test_success_and_extra_env_and_labels(engine):
    record = engine.submit_spec(spec("echo $EXTRA"), labels={"service": "echo"}, extra_env={"EXTRA": "added"})
    final = engine.wait(record.id, timeout=60)
    assert (final.status, final.exit_code, final.labels) == ("succeeded", 0, {"service": "echo"})
    assert log_of(engine, record.id) == "added\n"
    assert [r.id for r in engine.list_runs(labels={"service": "echo"})] == [record.id]
    assert engine.list_runs(labels={"service": "other"}) == []


def test_stdout_and_stderr_interleave_in_order(engine):
    record = engine.submit_spec(spec("for i in 1 2 3; do echo out$i; echo err$i >&2; done"))
    engine.wait(record.id, timeout=60)
    assert log_of(engine, record.id) == "out1\nerr1\nout2\nerr2\nout3\nerr3\n"


def test_status_history_is_recorded(engine):
    record = engine.submit_spec(spec("true"))
    engine.wait(record.id, timeout=60)
    statuses = [e.status for e in engine.events(record.id) if e.kind == "status"]
    assert statuses == ["pending", "provisioning", "running", "succeeded"]


def test_stop_with_grace_lets_the_work_clean_up(engine):
    command = "trap 'echo cleaning up; exit 0' TERM; echo ready; while true; do sleep 0.05; done"
    record = engine.submit_spec(spec(command, stop_duration=20))
    until(lambda: "ready" in log_of(engine, record.id), what="the run to start")
    engine.stop(record.id)
    final = engine.wait(record.id, timeout=60)
    assert final.status == "stopped"
    log = log_of(engine, record.id)  # bash itself may report the killed `sleep` in between
    assert log.startswith("ready\n") and log.endswith("cleaning up\n")
    assert "sending SIGKILL" not in log_of(engine, record.id, provisioning=True)


def test_stop_kills_a_process_that_ignores_sigterm(engine):
    record = engine.submit_spec(spec("trap '' TERM; echo ready; sleep 300 & echo $! > pid; wait", stop_duration=0.5))
    until(lambda: "ready" in log_of(engine, record.id), what="the run to start")
    handle = until(lambda: engine.get(record.id).handle, what="the run's handle")
    pid_file = Path(handle["work_dir"]) / "pid"
    until(pid_file.exists, what="the pid file")
    sleeper = int(pid_file.read_text())
    engine.stop(record.id)
    final = engine.wait(record.id, timeout=60)
    assert final.status == "stopped"
    assert "sending SIGKILL" in log_of(engine, record.id, provisioning=True)
    until(lambda: not alive(sleeper), timeout=10, what="the sleeper to die")


def test_max_duration_terminates(engine):
    record = engine.submit_spec(spec("echo started; sleep 300", max_duration=0.5, stop_duration=1))
    final = engine.wait(record.id, timeout=60)
    assert final.status == "terminated"
    assert "max_duration" in final.reason
    assert log_of(engine, record.id) == "started\n"


def test_retry_on_error_records_each_attempt(engine):
    command = "n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; echo attempt $n; [ $n -ge 3 ]"
    record = engine.submit_spec(spec(command, retry=Retry(on_events=["error"], limit=5)))
    final = engine.wait(record.id, timeout=60)
    assert (final.status, final.attempt) == ("succeeded", 3)
    assert log_of(engine, record.id) == "attempt 1\nattempt 2\nattempt 3\n"
    attempts = [e for e in engine.events(record.id) if e.kind == "attempt"]
    assert [e.message.split(":")[0] for e in attempts] == ["attempt 1", "attempt 2"]


def test_retry_gives_up_at_its_limit(engine):
    record = engine.submit_spec(spec("echo try; exit 4", retry=Retry(on_events=["error"], limit=2)))
    final = engine.wait(record.id, timeout=60)
    assert (final.status, final.exit_code, final.attempt) == ("failed", 4, 2)
    assert log_of(engine, record.id) == "try\ntry\n"


def test_background_processes_do_not_outlive_the_run(engine):
    record = engine.submit_spec(spec("sleep 300 & echo $! > pid; echo done", stop_duration=1))
    final = engine.wait(record.id, timeout=60)
    assert final.status == "succeeded"
    sleeper = int((Path(final.handle["work_dir"]) / "pid").read_text())
    until(lambda: not alive(sleeper), timeout=10, what="the background sleeper to be stopped")


def test_secrets_never_reach_the_store_or_logs(engine, vessl_home, monkeypatch):
    inline, named = "inline-s3cr3t-7f1d", "named-s3cr3t-9a2c"
    monkeypatch.setenv("VESSL_TUI_SECRET_API_KEY", named)
    digest = hashlib.sha256((inline + named).encode()).hexdigest()
    run_spec = spec(f'[ "$(printf %s "$TOKEN$API" | sha256sum | cut -c1-64)" = {digest} ] && echo both-secrets-ok; sleep 0.5')
    run_spec.env = [EnvVar(name="TOKEN", value=inline, secret=True), EnvVar(name="API", secret=True, secret_ref="API_KEY")]
    run_spec.source_text = f"env:\n  TOKEN: {{value: {inline}, secret: true}}\n"
    record = engine.submit_spec(run_spec)
    until(lambda: engine.get(record.id).supervisor_pid, what="the supervisor")
    supervisor = engine.get(record.id).supervisor_pid
    seen = Path(f"/proc/{supervisor}/environ").read_bytes() + Path(f"/proc/{supervisor}/cmdline").read_bytes()
    final = engine.wait(record.id, timeout=60)
    assert final.status == "succeeded"
    assert log_of(engine, record.id) == "both-secrets-ok\n"
    assert inline.encode() not in seen and named.encode() not in seen
    for path in vessl_home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert inline.encode() not in data and named.encode() not in data, path


def test_imports_mounts_and_exports(engine, vessl_home, tmp_path):
    data = tmp_path / "dataset"
    data.mkdir()
    (data / "a.txt").write_text("from a file import\n")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "b.txt").write_text("from a host mount\n")
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "train.py").write_text("print('from git')\n")
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "x"], check=True)
    run_spec = spec(name="volumes")
    run_spec.commands = [
        Command(command="cat ../data/a.txt ../shared/b.txt && python3 train.py", workdir="/code"),
        Command(command="echo result > model.txt", workdir="/out"),
    ]
    run_spec.volumes = [
        Volume(kind="import", path="/data", source=f"file://{data}"),
        Volume(kind="mount", path="/shared", source=f"hostpath://{shared}"),
        Volume(kind="import", path="/code", source=str(repo)),
        Volume(kind="export", path="/out", source="volume://storage/out"),
    ]
    record = engine.submit_spec(run_spec)
    final = engine.wait(record.id, timeout=60)
    assert final.status == "succeeded", engine.read_log(record.id, provisioning=True)
    assert log_of(engine, record.id) == "from a file import\nfrom a host mount\nfrom git\n"
    assert (vessl_home / "runs" / record.id / "work" / "shared").is_symlink()
    assert (vessl_home / "artifacts" / record.id / "out" / "model.txt").read_text() == "result\n"


def test_git_import_checks_out_a_branch_or_a_commit_sha(engine, tmp_path, monkeypatch):
    repo = tmp_path / "repo.git"
    shas = git_repo(repo, [{"version.txt": "v1\n"}, {"version.txt": "v2\n"}])
    # the run asks for a GitHub URL; git's own url rewriting points it at the local repository
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", f"url.file://{repo}.insteadOf")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "https://github.com/example/")
    for ref, expected in (("main", "v2\n"), (shas[0], "v1\n"), (shas[1][:10], "v2\n")):
        run_spec = spec("cat version.txt")
        run_spec.commands[0].workdir = "/code"
        run_spec.volumes = [Volume(kind="import", path="/code", source="git://github.com/example/", ref=ref)]
        record = engine.submit_spec(run_spec)
        final = engine.wait(record.id, timeout=60)
        assert final.status == "succeeded", engine.read_log(record.id, provisioning=True)
        assert log_of(engine, record.id) == expected, ref


def test_git_import_of_an_unknown_ref_fails_at_provisioning_with_one_sentence(engine, tmp_path):
    repo = tmp_path / "repo"
    git_repo(repo, [{"a": "a\n"}])
    run_spec = spec("true")
    run_spec.volumes = [Volume(kind="import", path="/code", source=f"git://{repo}", ref="0123456789abcdef")]
    final = engine.wait(engine.submit_spec(run_spec).id, timeout=60)
    assert final.status == "failed"
    assert final.reason.startswith(f"git could not fetch ref `0123456789abcdef` of {repo}:"), final.reason
    assert "\n" not in final.reason and "Traceback" not in engine.read_log(final.id, provisioning=True)[0].decode()


def test_unsupported_import_fails_at_submit(engine):
    import pytest

    from core.engine import EngineError

    run_spec = spec("true")
    run_spec.volumes = [Volume(kind="import", path="/model", source="volume://storage/model")]
    with pytest.raises(EngineError, match=r"import `volume://storage/model` at /model is not supported on cluster local"):
        engine.submit_spec(run_spec)
    assert engine.list_runs() == []
