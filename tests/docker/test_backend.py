"""The Docker backend against a real engine (tests/fixtures/dockerd.py), driven step by step."""

from __future__ import annotations

import subprocess

import docker
import pytest

from core.backends.base import BackendError
from tests.docker.helpers import backend_at, context, execute, pump, spec_of

pytestmark = pytest.mark.docker


@pytest.fixture
def engine(dockerd: str):
    client = docker.DockerClient(base_url=dockerd)
    yield client
    client.close()


def test_steps_run_in_order_in_their_workdirs_and_the_failing_one_sets_the_exit_code(dockerd, tmp_path):
    backend = backend_at(dockerd)
    spec = spec_of("""
name: steps
image: test/busybox
env:
  GREETING: hello
run:
  - command: |
      echo one
      pwd
    workdir: /tmp
    wait: 0.2s
  - command: echo "$GREETING from $(pwd)"
    workdir: /etc
  - command: echo two; exit 3
  - command: echo never
""")
    ctx = context(spec, tmp_path, backend)
    try:
        info, log, _ = execute(backend, ctx)
    finally:
        backend.cleanup(ctx, None)
    assert log == "one\n/tmp\nhello from /etc\ntwo\n"
    assert (info.exit_code, info.reason) == (3, None)


def test_dstack_working_dir_user_and_stderr(dockerd, tmp_path):
    backend = backend_at(dockerd)
    spec = spec_of("""
type: task
image: test/busybox
working_dir: /home
user: nobody
commands:
  - pwd
  - id -un
  - echo to-stderr >&2
""")
    ctx = context(spec, tmp_path, backend)
    try:
        info, log, _ = execute(backend, ctx)
    finally:
        backend.cleanup(ctx, None)
    # Docker copies stdout and stderr separately: their relative order is not kept.
    assert info.exit_code == 0
    assert log.replace("to-stderr\n", "") == "/home\nnobody\n" and "to-stderr\n" in log


def test_secret_env_reaches_the_container_and_not_the_provisioning_log(dockerd, tmp_path):
    backend = backend_at(dockerd)
    spec = spec_of("""
name: secret
image: test/busybox
env:
  TOKEN: {value: s3cr3t-value, secret: true}
run:
  - command: test "$TOKEN" = s3cr3t-value && echo token-ok
""")
    ctx = context(spec, tmp_path, backend)
    try:
        info, log, _ = execute(backend, ctx)
    finally:
        backend.cleanup(ctx, None)
    assert (info.exit_code, log) == (0, "token-ok\n")
    assert "s3cr3t" not in ctx.provision.text


def test_bind_mount_and_named_volume_and_what_rm_keeps(dockerd, tmp_path, engine):
    host = tmp_path / "host"
    host.mkdir()
    (host / "in.txt").write_text("from the host\n")
    backend = backend_at(dockerd)
    spec = spec_of(f"""
type: task
image: test/busybox
volumes:
  - vt-test-cache:/cache
  - {host}:/host
commands:
  - cat /host/in.txt
  - echo written > /host/out.txt
  - echo kept > /cache/data
""")
    ctx = context(spec, tmp_path, backend)
    try:
        info, log, _ = execute(backend, ctx)
        assert engine.volumes.get("vt-test-cache").attrs["Labels"]["vessl-tui.run"] == ctx.run_id
    finally:
        backend.cleanup(ctx, None)
    assert (info.exit_code, log) == (0, "from the host\n")
    assert (host / "out.txt").read_text() == "written\n"
    assert engine.containers.list(all=True, filters={"label": f"vessl-tui.run={ctx.run_id}"}) == []
    # The named volume belongs to the user: it outlives the run, data included.
    again = spec_of("type: task\nimage: test/busybox\nvolumes: [vt-test-cache:/cache]\ncommands: [cat /cache/data]\n")
    ctx2 = context(again, tmp_path, backend)
    try:
        assert execute(backend, ctx2)[1] == "kept\n"
    finally:
        backend.cleanup(ctx2, None)
        engine.volumes.get("vt-test-cache").remove()


def test_limits_are_seen_inside_the_container(dockerd, tmp_path):
    backend = backend_at(dockerd)
    spec = spec_of("""
type: task
image: test/busybox
resources:
  cpu: 1
  memory: 0.25GB
  shm_size: 64MB
commands:
  - echo memory $(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes)
  - echo cpu $(cat /sys/fs/cgroup/cpu.max 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us)
  - echo shm $(df -k /dev/shm | tail -1)
""")
    ctx = context(spec, tmp_path, backend)
    try:
        info, log, _ = execute(backend, ctx)
    finally:
        backend.cleanup(ctx, None)
    assert info.exit_code == 0, log
    seen = {line.split()[0]: line.split()[1:] for line in log.splitlines()}
    assert seen["memory"] == [str(256 * 1024 * 1024)]  # cgroup v2 memory.max or v1 limit_in_bytes
    assert seen["cpu"] == ["100000", "100000"]  # one core: quota == period
    assert seen["shm"][1] == str(64 * 1024)  # 1K-blocks of /dev/shm


def test_an_import_is_staged_in_and_exports_are_copied_out(dockerd, tmp_path, engine):
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "sub" / "a.txt").write_text("alpha\n")
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "README").write_text("from git\n")
    subprocess.run(["git", "-C", str(repo), "add", "README"], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init"],
                   check=True)
    exported = tmp_path / "exported"
    backend = backend_at(dockerd)
    spec = spec_of(f"""
name: io
image: test/busybox
import:
  /data: file://{data}
  /code: git://{repo}
export:
  /out: hostpath://{exported}
  /artifacts: vessl-artifact://
run:
  - command: |
      cat /data/sub/a.txt /code/README
      mkdir -p /out/deep /artifacts
      echo result > /out/deep/r.txt
      echo model > /artifacts/model.bin
""")
    ctx = context(spec, tmp_path, backend)
    try:
        info, log, _ = execute(backend, ctx)
        volumes = engine.volumes.list(filters={"label": f"vessl-tui.run={ctx.run_id}"})
        assert len(volumes) == 2
    finally:
        backend.cleanup(ctx, None)
    assert (info.exit_code, log) == (0, "alpha\nfrom git\n")
    assert (exported / "deep" / "r.txt").read_text() == "result\n"
    assert (ctx.artifacts_dir / "artifacts" / "model.bin").read_text() == "model\n"
    assert engine.volumes.list(filters={"label": f"vessl-tui.run={ctx.run_id}"}) == []


def test_stop_sends_sigterm_first_and_the_command_sees_it(dockerd, tmp_path):
    backend = backend_at(dockerd)
    spec = spec_of("""
type: task
image: test/busybox
commands:
  - trap 'echo caught TERM; exit 0' TERM; echo ready; while true; do sleep 0.1; done
""")
    ctx = context(spec, tmp_path, backend)
    backend.prepare(ctx)
    handle = backend.start(ctx)
    try:
        first = next(backend.stream(ctx, handle, 0))
        assert first == b"ready\n"
        backend.stop(ctx, handle, grace=20)
        info = backend.wait(ctx, handle, 30)
        pump(backend, ctx, handle)
    finally:
        backend.cleanup(ctx, None)
    assert info is not None and info.exit_code == 0
    assert ctx.log_path.read_text() == "ready\ncaught TERM\n"


def test_a_new_supervisor_reattaches_by_label_and_continues_the_log_without_duplicates(dockerd, tmp_path):
    backend = backend_at(dockerd)
    spec = spec_of("""
type: task
image: test/busybox
commands:
  - for i in $(seq 1 40); do echo line $i; sleep 0.05; done
""")
    ctx = context(spec, tmp_path, backend)
    backend.prepare(ctx)
    handle = backend.start(ctx)
    try:
        stream = backend.stream(ctx, handle, 0)
        with open(ctx.log_path, "ab") as log:
            log.write(next(stream))
        stream.close()  # the supervisor dies mid-run
        reborn = backend_at(dockerd)
        found = {"log_base": 0}
        assert reborn.attach(ctx, found)
        assert found["container_id"] == handle["container_id"]
        pump(reborn, ctx, found)
        info = reborn.wait(ctx, found, 30)
    finally:
        backend.cleanup(ctx, None)
    assert info is not None and info.exit_code == 0
    assert ctx.log_path.read_text() == "".join(f"line {i}\n" for i in range(1, 41))
    assert not backend.attach(ctx, {})  # cleaned up: nothing left to reattach to


def test_out_of_memory_is_reported_as_oomkilled(dockerd, tmp_path):
    backend = backend_at(dockerd)
    spec = spec_of("""
type: task
image: test/busybox
resources: {memory: 0.03GB}
commands: [head -c 200m /dev/zero | tail]
""")
    ctx = context(spec, tmp_path, backend)
    try:
        info, _, _ = execute(backend, ctx)
    finally:
        backend.cleanup(ctx, None)
    assert info.reason == "OOMKilled"
    assert info.exit_code != 0


def test_a_missing_image_is_one_sentence(dockerd, tmp_path):
    backend = backend_at(dockerd)
    ctx = context(spec_of("type: task\nimage: test/absent:1.0\ncommands: [true]\n"), tmp_path, backend)
    with pytest.raises(BackendError) as err:
        backend.prepare(ctx)
    message = str(err.value)
    assert message.startswith("image test/absent:1.0 not found locally and could not be pulled: ")
    assert "\n" not in message and "Traceback" not in message


def test_a_dead_engine_is_one_sentence(tmp_path):
    url = f"unix://{tmp_path}/no-engine.sock"
    backend = backend_at(url)
    check = backend.check()
    expected = f"cannot reach the Docker engine at {url}: is dockerd running?"
    assert (check.reachable, check.message) == (False, expected)
    ctx = context(spec_of("type: task\nimage: test/busybox\ncommands: [true]\n"), tmp_path, backend)
    with pytest.raises(BackendError, match="^cannot reach the Docker engine at .*: is dockerd running\\?$"):
        backend.prepare(ctx)


def test_gpus_on_an_engine_without_the_nvidia_runtime_are_refused(dockerd, tmp_path):
    backend = backend_at(dockerd)
    spec = spec_of("type: task\nimage: test/busybox\nresources: {gpu: A100:2}\ncommands: [nvidia-smi]\n")
    expected = (f"the Docker engine at {dockerd} has no NVIDIA runtime, so it cannot give this run 2 GPU(s): "
                "install the NVIDIA Container Toolkit there or remove the GPU request from the spec.")
    assert backend.validate(spec) == [expected]
    with pytest.raises(BackendError) as err:
        backend.prepare(context(spec, tmp_path, backend))
    assert str(err.value) == expected


def test_the_engines_gpu_placement_reaches_the_engine_as_device_ids(dockerd, tmp_path, engine):
    backend = backend_at(dockerd, gpu_devices=["7"])
    spec = spec_of("type: task\nimage: test/busybox\nresources: {gpu: A100:2}\ncommands: [nvidia-smi]\n")
    ctx = context(spec, tmp_path, backend)
    ctx.gpu_indices = [2, 3]
    try:
        with pytest.raises(BackendError, match="could not start the container"):
            backend.start(ctx)  # created, but this engine has no NVIDIA runtime to start it with
        (container,) = engine.containers.list(all=True, filters={"label": f"vessl-tui.run={ctx.run_id}"})
        (request,) = container.attrs["HostConfig"]["DeviceRequests"]
    finally:
        backend.cleanup(ctx, None)
    assert (request["Driver"], request["DeviceIDs"], request["Capabilities"]) == ("nvidia", ["2", "3"], [["gpu"]])
    assert not request.get("Count")


def test_labels_check_metrics_and_ports_of_a_running_container(dockerd, tmp_path, engine):
    backend = backend_at(dockerd)
    spec = spec_of("type: task\nimage: test/busybox\nports: [8080]\ncommands: [sleep 60]\n")
    ctx = context(spec, tmp_path, backend)
    backend.prepare(ctx)
    handle = backend.start(ctx)
    try:
        container = engine.containers.get(handle["container_id"])
        assert container.labels["vessl-tui.run"] == ctx.run_id
        assert container.labels["vessl-tui.attempt"] == "1"
        assert "no bridge network" in ctx.provision.text
        assert backend.port_target(ctx, handle, 8080) == ("127.0.0.1", 8080)
        sample = backend.sample(ctx, handle)
        assert sample["memory_bytes"] > 0 and sample["cpu_percent"] >= 0
        check = backend.check()
        assert check.reachable and check.capacity.cpus >= 1 and check.capacity.memory_gb > 0
    finally:
        backend.stop(ctx, handle, 0)
        backend.cleanup(ctx, handle)


def test_secrets_on_an_image_without_a_shell_are_one_sentence(dockerd, tmp_path):
    import io
    import os
    import shutil
    import tarfile

    import docker

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(os.path.realpath(shutil.which("busybox")), arcname="bin/busybox")
    client = docker.DockerClient(base_url=dockerd)
    client.api.import_image_from_data(buffer.getvalue(), repository="test/noshell", tag="latest",
                                      changes=['CMD ["/bin/busybox", "echo", "hi"]'])
    client.close()
    backend = backend_at(dockerd)
    spec = spec_of("name: noshell\nimage: test/noshell\nenv:\n  TOKEN: {value: s3cr3t-value, secret: true}\n")
    ctx = context(spec, tmp_path, backend)
    try:
        backend.prepare(ctx)
        with pytest.raises(BackendError) as err:
            backend.start(ctx)
    finally:
        backend.cleanup(ctx, None)
    assert str(err.value).startswith("image test/noshell has no /bin/sh, which this run's secret env vars need")
