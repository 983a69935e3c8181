"""Docker faults: the engine killed and started again mid-run (the run goes on, every line kept),
and the secrets grep of `docker inspect` (a secret in any YAML style never shows in the
container's configuration, and the run still gets it as written)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import docker
import pytest

from core.engine import Engine
from tests.fixtures.dockerd import dockerd  # noqa: F401  (the session's test engine)
from tests.support import until

pytestmark = pytest.mark.docker

# style -> (the YAML of `value:`, the value it means); every value holds a marker QX…Z to grep for
SECRET_STYLES = {
    "plain": ("plainQXdk1Z-1f2e", "plainQXdk1Z-1f2e"),
    "single": ("'it''s-QXdk2Z'", "it's-QXdk2Z"),
    "double": ('"dq\\"QXdk3Z\\\\x\\t"', 'dq"QXdk3Z\\x\t'),
    "block": ("|\n      QXdk4Z-aaaa\n      QXdk5Z-bbbb\n", "QXdk4Z-aaaa\nQXdk5Z-bbbb\n"),
}
MARKERS = ["QXdk1Z", "QXdk2Z", "QXdk3Z", "QXdk4Z", "QXdk5Z"]


def docker_cluster(config_file: Path, url: str, name: str = "dk") -> str:
    config_file.write_text(f"clusters:\n  {name}: {{kind: docker, host: '{url}'}}\n")
    return name


def secret_spec(command: str) -> str:
    env = "".join(f"  S_{s.upper()}:\n    value: {yaml}\n    secret: true\n" if not yaml.startswith("|") else
                  f"  S_{s.upper()}:\n    value: {yaml}    secret: true\n" for s, (yaml, _) in SECRET_STYLES.items())
    return f"name: secretive\nimage: test/busybox\nenv:\n{env}run:\n  - command: |\n      {command}\n"


def test_secrets_never_show_in_docker_inspect(dockerd, config_file, tmp_path, fault):  # noqa: F811
    report = fault("secrets grep (docker inspect)")
    cluster = docker_cluster(config_file, dockerd)
    together = "".join(f"${{S_{s.upper()}}}" for s in SECRET_STYLES)
    want = hashlib.sha256("".join(v for _, v in SECRET_STYLES.values()).encode()).hexdigest()
    check = f'[ "$(printf %s "{together}" | sha256sum | cut -c1-64)" = {want} ] && echo values-ok; sleep 1'
    spec = tmp_path / "secretive.yaml"
    spec.write_text(secret_spec(check))
    engine = Engine()
    client = docker.DockerClient(base_url=dockerd)
    try:
        record = engine.submit(spec, cluster=cluster)
        label = {"label": f"vessl-tui.run={record.id}"}
        (container,) = until(lambda: client.containers.list(all=True, filters=label), timeout=60,
                             what="the run's container")
        seen = {"running": json.dumps(client.api.inspect_container(container.id))}
        final = engine.wait(record.id, timeout=60)
        seen["ended"] = json.dumps(client.api.inspect_container(container.id))
        seen["changes"] = json.dumps(client.api.diff(container.id))
        report.tried += 1
        for when, text in seen.items():
            found = [m for m in MARKERS if m in text]
            if found:
                report.failed += 1
                report.notes.append(f"{', '.join(found)} in docker inspect/diff ({when})")
        if (final.status, engine.read_log(record.id, 0)[0]) != ("succeeded", b"values-ok\n"):
            report.failed += 1
            report.notes.append(f"the run did not get its secrets: {final.status} {final.reason}")
        report.check_text(engine.read_log(record.id, 0, provisioning=True)[0], "the provisioning log")
    finally:
        client.close()
    report.assert_clean()
