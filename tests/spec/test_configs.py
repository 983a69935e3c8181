"""Whole configurations: dstack's configuration-level checks (DSTACK-RESOURCES.md B6, A3) and the
VESSL shapes of VESSL-FIELDS.md, through the public loader, asserting the normalized RunSpec."""

from __future__ import annotations

import pytest

from core.spec import load_text

T = "type: task\ncommands: [echo]\n"


def one(text: str):
    docs = load_text(text)
    assert len(docs) == 1
    return docs[0]


def spec(text: str):
    doc = one(text)
    assert doc.valid, [p.format() for p in doc.problems]
    return doc.spec


def error(text: str) -> str:
    doc = one(text)
    assert not doc.valid, f"accepted: {text!r}"
    return "\n".join(p.format() for p in doc.errors)


@pytest.mark.parametrize("extra, attr, expected", [
    ("max_duration: 2h", "max_duration", 7200),
    ("max_duration: 1d", "max_duration", 86400),
    ("max_duration: 90m", "max_duration", 5400),
    ("max_duration: off", "max_duration", None),
    ("max_duration: 3600", "max_duration", 3600),
    ("idle_duration: off", "idle_duration", None),
    ("idle_duration: false", "idle_duration", None),
    ("idle_duration: 5m", "idle_duration", 300),
    ("stop_duration: 30s", "stop_duration", 30),
    ("python: 3.10", "python", "3.10"),
    ("python: 3.1", "python", "3.10"),
    ("python: '3.12'", "python", "3.12"),
    ("nodes: 2\nresources: {gpu: H100:8}", "nodes", 2),
])
def test_dstack_task_fields(extra, attr, expected):
    assert getattr(spec(T + extra), attr) == expected


def test_retry_forms():
    assert spec(T + "retry: true").retry.on_events == ["no-capacity", "interruption", "error"]
    retry = spec(T + "retry: {duration: 1h, on_events: [no-capacity]}").retry
    assert (retry.on_events, retry.duration) == (["no-capacity"], 3600)
    assert spec(T + "retry: false").retry is None


def test_ports_short_and_long():
    ports = spec(T + "ports: [8000, '8080:80', '*:9000', {container_port: 22}]").ports
    assert [(p.local_port, p.container_port) for p in ports] == [(8000, 8000), (8080, 80), (None, 9000), (None, 22)]


def test_env_list_and_client_env(monkeypatch):
    monkeypatch.setenv("B", "from-shell")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    env = {e.name: e for e in spec(T + "env: [A=1, B, 'C=x=y', HF_TOKEN]").env}
    assert env["A"].value == "1" and not env["A"].from_client_env
    assert env["B"].value == "from-shell" and env["B"].from_client_env
    assert env["C"].value == "x=y"
    assert env["HF_TOKEN"].from_client_env and env["HF_TOKEN"].secret and env["HF_TOKEN"].value is None


def test_env_mapping_coerces_numbers():
    env = {e.name: e.value for e in spec(T + "env: {A: 1, B: two, C: 0.9, D: true}").env}
    assert env == {"A": "1", "B": "two", "C": "0.9", "D": "true"}


def test_volumes_short_and_long():
    vols = spec(T + "volumes: [my-vol:/data, /mnt/host:/data2, {name: [v1, v2], path: /d}, "
                    "{instance_path: /c, path: /c, optional: true}]").volumes
    assert [(v.kind, v.source, v.path, v.optional) for v in vols] == [
        ("named", "my-vol", "/data", False), ("bind", "/mnt/host", "/data2", False),
        ("named", "v1,v2", "/d", False), ("bind", "/c", "/c", True)]


def test_resources_normalized():
    res = spec(T + "resources: {gpu: 1, memory: 16GB.., disk: 200GB, shm_size: 16GB, cpu: 4..}").resources
    assert (res.cpu.min, res.cpu.max, res.memory_gb.min, res.disk_gb.min, res.shm_size_gb) == (4, None, 16, 200, 16)
    assert (res.gpu.count.min, res.gpu.count.max) == (1, 1)


def test_gpu_omitted_is_optional():
    assert spec(T + "resources: {}").resources.gpu.count.min == 0


def test_spot_policy_goes_to_resources():
    assert spec(T + "spot_policy: auto").resources.spot == "auto"


def test_service_normalized():
    s = spec("type: service\ncommands: [echo]\nport: 8000\nreplicas: 1..4\nscaling: {metric: rps, target: 10}\n")
    assert s.kind == "dstack-service"
    assert (s.service.port, s.service.autoscaling.min, s.service.autoscaling.max) == (8000, 1, 4)
    assert (s.service.autoscaling.metric, s.service.autoscaling.target) == ("rps", 10)
    assert [(p.local_port, p.container_port) for p in s.ports] == [(80, 8000)]
    assert spec("type: service\ncommands: [echo]\nport: '8000:80'\n").ports[0].local_port == 8000


def test_service_model_forms():
    spec("type: service\ncommands: [echo]\nport: 8000\nmodel: meta-llama/Llama-3.1-8B\n")
    spec("type: service\ncommands: [echo]\nport: 8000\nmodel: {type: chat, name: m, format: tgi}\n")


def test_dev_environment_and_fleet():
    d = spec("type: dev-environment\nide: vscode\npython: '3.12'\ninit: [echo hi]\ninactivity_duration: 2h\n")
    assert (d.kind, d.interactive.ide, d.idle_duration, d.commands[0].command) == (
        "dstack-dev-environment", "vscode", 7200, "echo hi")
    assert spec("type: fleet\nnodes: 2\nplacement: cluster\nresources: {gpu: A100:8}\n").nodes == 2
    assert spec("type: fleet\nnodes: 0..2\n").kind == "dstack-fleet"
    spec("type: fleet\nssh_config: {user: ubuntu, identity_file: ~/.ssh/id_rsa, "
         "hosts: [1.2.3.4, {hostname: 5.6.7.8, port: 2222}]}\n")


@pytest.mark.parametrize("text, fragment", [
    (T + "python: '3.8'", "python must be one of"),
    (T + "image: ubuntu\npython: '3.11'", "`image` and `python` are mutually exclusive"),
    (T + "env: [MAX-TOKENS=1]", "invalid variable name `MAX-TOKENS`"),
    ("type: task\ncommands: echo hi\n", "expected a list"),
    (T + "spot_policy: sometimes", "must be 'spot', 'on-demand' or 'auto'"),
    (T + "build: [pip install x]", "unknown field `build` — `build` was replaced by `commands`"),
    (T + "port: 8000", "a task takes `ports`"),
    ("type: service\ncommands: [echo]\nport: 8000\nreplicas: 1..4\n", "needs `scaling`"),
    ("type: service\nimage: nginx\n", "missing required field `port`"),
    ("type: dev-environment\nide: jupyter\n", "must be 'vscode', 'cursor', 'windsurf' or 'zed'"),
    ("type: dev-environment\nide: vscode\ncommands: [echo]\n", "takes `init`, not `commands`"),
    ("type: fleet\nnodes: 1\ntermination_idle_time: 1h\n", "it is called `idle_duration` now"),
    (T + "unknown_field: 1", "unknown field `unknown_field`"),
    (T + "resources: {gpu: 24GB, count: 2}", "the GPU count goes under `gpu`"),
    (T + "nodes: 0", "greater than or equal to 1"),
    ("type: job\ncommands: [echo]\n", "unknown configuration type `job`"),
    (T + "init:\n  - echo a: b\n", "unknown field `init`"),
    ("type: dev-environment\ninit:\n  - echo a: b\n", "quote the whole line"),
    (T + "max_duration: forever", "invalid duration `forever`"),
    (T + "resources: {gpu: A100:2:3}", "count conflict"),
    (T + "resources: {memory: 1Gi}", "use MB, GB or TB"),
    (T + "volumes: [data]", "a volume is `name:/path`"),
    (T + "retry: {on_events: [oops]}", "must be 'no-capacity', 'interruption' or 'error'"),
    (T + "utilization_policy: {min_gpu_utilization: 10, time_window: 1m}", "at least 5m"),
    (T + "repos: [., ..]", "at most 1"),
])
def test_dstack_errors(text, fragment):
    assert fragment in error(text)


def test_python_float_three_point_one_is_three_ten():
    assert spec(T + "python: 3.10").python == "3.10"


# ------------------------------------------------------------------ VESSL

V = "name: r\nimage: python:3.11\nresources: {cluster: local}\n"


def test_vessl_run_forms():
    s = spec(V + "run:\n  - pip install x\n  - command: python a.py\n    workdir: /code\n    wait: 10s\n"
                 "  - command: echo done\n")
    assert [(c.command, c.workdir, c.wait) for c in s.commands] == [  # the wait: a pause after its command
        ("pip install x", None, None), ("python a.py", "/code", None), (None, None, 10), ("echo done", None, None)]
    assert [c.command for c in spec(V + "run: |\n  echo a\n  echo b\n").commands] == ["echo a\necho b\n"]


def test_vessl_env_forms():
    env = {e.name: e for e in spec(V + "run: echo\nenv:\n  A: 4\n  B: 0.9\n  C: {value: s3cr3t, secret: true}\n"
                                       "  D: {secret: hf-token}\n  E: {secret: other, source: secret}\n"
                                       "  F: plain\n").env}
    assert (env["A"].value, env["B"].value, env["F"].value) == ("4", "0.9", "plain")
    assert env["C"].secret and env["C"].value == "s3cr3t"
    assert env["D"].secret and env["D"].secret_ref == "hf-token" and env["D"].value is None
    assert env["E"].secret_ref == "other"


def test_vessl_secret_never_in_redacted_spec():
    s = spec(V + "run: echo\nenv:\n  TOKEN: {value: s3cr3t-value, secret: true}\n")
    red = s.redacted()
    assert "s3cr3t-value" not in red.model_dump_json()


def test_vessl_volumes_shorthand_and_verbose():
    s = spec(V + "run: echo\nimport:\n  /code/: git://github.com/org/repo\n"
                 "  /model/:\n    git:\n      url: github.com/org/other.git\n      ref: main\n"
                 "  /data/: hf://huggingface.co/datasets/x\n"
                 "  /ds/:\n    dataset: {organization_name: o, dataset_name: d}\n"
                 "mount:\n  /ws/: volume://storage/vol\n  /host/:\n    hostpath: {path: /tmp}\n    readonly: true\n"
                 "  /nfs/:\n    nfs: {server: 10.0.0.1, path: /exports}\n"
                 "export:\n  /out/: vessl-artifact://\n  /s3/:\n    s3: {bucket: b, prefix: p/q}\n")
    got = [(v.kind, v.path, v.source, v.ref, v.readonly) for v in s.volumes]
    assert got == [
        ("import", "/code/", "git://github.com/org/repo", None, False),
        ("import", "/model/", "git://github.com/org/other.git", "main", False),
        ("import", "/data/", "hf://huggingface.co/datasets/x", None, False),
        ("import", "/ds/", "vessl-dataset://o/d", None, False),
        ("mount", "/ws/", "volume://storage/vol", None, False),
        ("mount", "/host/", "hostpath:///tmp", None, True),
        ("mount", "/nfs/", "nfs://10.0.0.1/exports", None, False),
        ("export", "/out/", "vessl-artifact://", None, False),
        ("export", "/s3/", "s3://b/p/q", None, False),
    ]


def test_vessl_resources_requests():
    res = spec(V.replace("resources: {cluster: local}\n", "") + "run: echo\nresources:\n  cluster: lab\n  requests:\n"
               "    cpu: 4\n    memory: 16Gi\n    nvidia.com/gpu: {device_type: A100, quantity: 2}\n").resources
    assert (res.cluster, res.cpu.min, res.memory_gb.min) == ("lab", 4, 16)
    assert (res.gpu.names, res.gpu.count.min, res.gpu.vendor) == (["A100"], 2, "nvidia")
    direct = spec("image: x\nrun: echo\nresources: {cluster: c, cpu: 16, memory: 48Gi}\n").resources
    assert (direct.cpu.min, direct.memory_gb.max) == (16, 48)


def test_vessl_interactive_and_ports():
    s = spec(V + "interactive:\n  max_runtime: 24h\n  jupyter: {idle_timeout: 120m}\n"
                 "ports:\n  - 8000\n  - {name: tb, type: http, port: 6006}\n")
    assert (s.max_duration, s.interactive.jupyter, s.interactive.idle_timeout) == (86400, True, 7200)
    assert [(p.container_port, p.name, p.protocol) for p in s.ports] == [(8000, None, "tcp"), (6006, "tb", "http")]


def test_vessl_image_form_and_empty_description():
    s = spec("name: r\ndescription:\nimage: {url: nvcr.io/x:1, credential_name: ngc}\nrun: echo\n")
    assert (s.image, s.image_credential, s.description) == ("nvcr.io/x:1", "ngc", None)


def test_vessl_revision():
    s = spec("name: svc\nmessage: first\nimage: x\nrun: python -m http.server 8000\nports: [{port: 8000, type: http}]\n"
             "service:\n  expose: 8000\n  autoscaling: {min: 1, max: 3, metric: nvidia.com/gpu, target: 50}\n"
             "  monitoring: [{port: 8000, path: /metrics}]\n  healthcheck: {type: http, path: /health, port: 8000}\n")
    assert (s.kind, s.message, s.service.port) == ("vessl-revision", "first", 8000)
    a = s.service.autoscaling
    assert (a.min, a.max, a.metric, a.target) == (1, 3, "gpu", 50)
    assert (s.service.health_type, s.service.health_path) == ("http", "/health")


@pytest.mark.parametrize("text, fragment", [
    (V + "run: echo\nports: [70000]", "port must be 1..65535, got 70000"),
    (V + "run: echo\nresouces: {}", "did you mean `resources`?"),
    (V + "run: echo\nimport:\n  /x/: ftp://host/x\n", "unknown source `ftp://host/x`"),
    (V + "run: echo\nmount:\n  /x/: git://github.com/a/b\n", "unknown source"),
    (V + "run: echo\nimport:\n  /x/:\n    git: {ref: main}\n", "`git` needs `url`"),
    (V + "run:\n  - wait: 1s\n", "run[0]: missing required field `command`"),
    (V + "run:\n  - command: a\n    wait: soon\n", "invalid duration"),
    (V + "run: echo\nenv:\n  A: {value: x, secret: name}\n", "either `value` or a stored `secret`"),
    (V + "run: echo\nvolumes: {}\n", "use `import`"),
    (V + "run: echo\nmessage: hi\n", "belongs to a revision"),
    ("name: x\n", "nothing to run"),
    ("name: s\nimage: x\nservice: {autoscaling: {min: 1, max: 2, metric: cpu, target: 50}}\n",
     "missing required field `expose`"),
    ("name: s\nimage: x\nservice: {expose: 80, autoscaling: {min: 3, max: 2, metric: cpu, target: 50}}\n",
     "min (3) is larger than max (2)"),
    ("name: s\nimage: x\nservice: {expose: 80, autoscaling: {metric: disk, target: 50}}\n", "must be 'cpu'"),
    (V.replace("resources: {cluster: local}\n", "")
     + "run: echo\nresources: {cluster: c, requests: {nvidia.com/gpu: {device_type: A100}}}\n",
     "missing required field `quantity`"),
    (V + "run: [1, {command: [a]}]\n", "expected a string"),
])
def test_vessl_errors(text, fragment):
    assert fragment in error(text)


def test_vessl_local_cluster_warns_about_image():
    doc = one("image: python:3.11\nresources: {cluster: local}\nrun: echo\n")
    assert doc.valid
    assert [p.path for p in doc.warnings] == ["image"]


def test_warnings_do_not_fail():
    doc = one(T + "resources: {gpu: tpu-v5litepod-8}\nsetup: [pip install x]\n")
    assert doc.valid and doc.spec is not None
    assert {p.path for p in doc.warnings} == {"resources.gpu", "setup"}


def test_multi_document_file():
    docs = load_text("type: task\ncommands: [echo a]\n---\ntype: task\ncommands: [echo b]\nports: [0]\n")
    assert [d.valid for d in docs] == [True, False]
    assert docs[1].errors[0].line == 6 and docs[1].index == 1
    assert docs[0].spec.source_text == "type: task\ncommands: [echo a]\n"


@pytest.mark.parametrize("text, expected", [
    ("name: x\nresources:\n  cluster: local\n  node_names: [a]\n  spot: SpotOnly\nimage: {url: python:3.11}\nrun: echo\n",
     ["4:3: warning: resources.node_names: `node_names` means nothing on the `local` cluster (processes on this "
      "machine); it is ignored",
      "5:3: warning: resources.spot: `spot` means nothing on the `local` cluster (processes on this machine); it is "
      "ignored",
      "6:1: warning: image: `image` means nothing on the `local` cluster (processes on this machine); it is ignored"]),
    ("name: x\nresources:\n  cluster: local\nimage: {url: ''}\nrun: echo\n", []),
    ("name: x\nmessage: m\nresources: {cluster: local}\nrun: serve\nports: [9000, {name: api, type: http, port: 9100}]\n"
     "service:\n  expose: 8000\n", ["7:11: warning: service.expose: port 8000 is not among `ports`"]),
    ("name: x\nmessage: m\nresources: {cluster: local}\nrun: serve\nports: [{name: api, type: http, port: 8000}]\n"
     "service:\n  expose: 8000\n", []),
    ("type: task\ncommands: [echo]\nresources:\n  gpu: MI300X:8\n",
     ["4:8: warning: resources.gpu: dstack needs an `image` for non-NVIDIA GPUs; set `image:`"]),
    ("type: service\nport: 80\ncommands: [echo]\nresources:\n  gpu: gaudi2:8\n",
     ["5:8: warning: resources.gpu: dstack needs an `image` for non-NVIDIA GPUs; set `image:`"]),
    ("type: task\ndocker: true\ncommands: [echo]\nresources:\n  gpu: MI300X:8\n", []),
    ("type: task\nimage: rocm/pytorch\ncommands: [echo]\nresources:\n  gpu: amd:8\n", []),
    ("type: fleet\nnodes: 1\nresources:\n  gpu: MI300X:8\n", []),
    ("name: x\nresources:\n  accelerators: A100:2\nrun: echo\n",
     ["3:3: warning: resources.accelerators: `accelerators` is a legacy form; use "
      "`requests: {nvidia.com/gpu: {device_type, quantity}}`"]),
])
def test_warnings_point_at_the_field_and_leave_the_document_valid(text, expected):
    [doc] = load_text(text, "s.yaml")
    assert doc.valid
    assert [p.format().removeprefix("s.yaml:") for p in doc.problems] == expected
