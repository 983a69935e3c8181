"""dstack's rarely used sub-objects (node and replica groups, rate limits, probes, instances, fleets,
backend options, utilization policy, schedule): what dstack 0.22.5 accepts is accepted, and what it
rejects is one positioned error per broken rule (DSTACK-RESOURCES.md B1-B3)."""

from __future__ import annotations

import pytest

from core.spec import load_text

T = "type: task\ncommands: [echo]\n"
S = "type: service\nport: 8000\ncommands: [serve]\n"
SG = "type: service\nport: 8000\nimage: vllm/vllm-openai\n"


def errors(text: str) -> list[str]:
    """Every error as `LINE:COL: PATH: message`."""
    return [f"{p.line}:{p.column}: {p.path}: {p.message}" for d in load_text(text) for p in d.errors]


VALID = [
    # groups of a task
    "type: task\ngroups:\n  - name: head\n    commands: [a]\n  - name: workers\n    nodes: 3\n    commands: [b]\n"
    "    resources: {gpu: H100:8}\n    ports: [8000]\n",
    "type: task\nimage: ubuntu\ngroups:\n  - {}\n  - nodes: 2\n",
    # replica groups of a service, and the legacy list under `replicas`
    SG + "groups:\n  - name: prefill\n    replicas: 1..4\n    scaling: {metric: rps, target: 3}\n  - replicas: 2\n",
    SG + "replicas:\n  - count: 1\n    router: {type: sglang}\n    commands: [route]\n  - count: 1..8\n"
         "    scaling: {metric: rps, target: 2}\n",
    "type: service\nport: 8000\ngroups:\n  - replicas: 1\n    image: a\n    privileged: true\n"
    "  - replicas: 0..2\n    scaling: {metric: rps, target: 1, window: 5m}\n    python: 3.10\n    commands: [b]\n"
    "    spot_policy: spot\n    reservation: r1\n  - replicas: 1\n    docker: true\n    commands: [c]\n"
    "    router: {type: dynamo}\n",
    SG + "nvcc: true\n",  # dstack lets nvcc stand beside image
    # rate limits
    S + "rate_limits:\n  - rps: 10\n  - prefix: /v1/chat\n    key: {type: header, header: X-API-Key}\n    rps: 0.5\n"
        "    burst: 20\n  - prefix: /admin\n    key: {type: ip_address}\n    rps: 1\n",
    # probes
    S + "probes:\n  - type: http\n  - type: http\n    url: /health\n    method: post\n    body: '{}'\n"
        "    headers: [{name: Authorization, value: Bearer x}]\n    timeout: 30s\n    interval: 1m\n"
        "    ready_after: 3\n    until_ready: true\n",
    S + "probes: []\n",
    # placement and policies
    T + "instances: [gpu-box-1, {name: n2}, {hostname: 10.0.0.5}, {fleet: my-fleet, instance: 0}, "
        "{fleet: team/fleet, instance: 3}, {fleet: {project: team, name: f}, instance: 1}]\n",
    T + "fleets: [my-fleet, team/shared, {project: team, name: other}]\n",
    T + "backend_options:\n  - type: vastai\n    offer_order: price\n    min_reliability: 0.95\n    min_score: 200\n",
    T + "backend_options: [{offer_order: score}]\n",
    T + "utilization_policy: {min_gpu_utilization: 10, time_window: 30m}\n",
    T + "schedule: {cron: '0 8 * * mon-fri'}\n",
    T + "schedule:\n  cron: ['*/15 * * * *', '0 0 1,15 * *', '30 2 last * *', '0 12 * jan-mar,oct 0-4', '5/10 1-5/2 * * *']\n",
    "type: fleet\nnodes: 1\nbackend_options: [{type: vastai, min_score: 1}]\n",
    # a scaling window as dstack reads it: a duration that is 30s, 60s or 300s
    S + "replicas: 1..2\nscaling: {metric: rps, target: 1, window: 1m}\n",
]


@pytest.mark.parametrize("text", VALID)
def test_accepted_as_dstack_accepts(text):
    assert errors(text) == []


INVALID = [
    # node groups
    ("type: task\ngroups: []\n", "2:9: groups: `groups` cannot be an empty list"),
    ("type: task\ngroups:\n  - name: Head_1\n    commands: [a]\n", "3:11: groups[0].name: invalid group name `Head_1`"),
    ("type: task\ngroups:\n  - commands: [a]\n    nodes: 0\n", "4:12: groups[0].nodes: input should be greater than or equal to 1"),
    ("type: task\ngroups:\n  - commands: [a]\n    gpus: 2\n", "4:5: groups[0].gpus: unknown field `gpus`"),
    ("type: task\ngroups:\n  - commands: [a]\n  - commands: [b]\n    name: '0'\n",
     "5:5: groups[1].name: another group above is already named `0`"),
    ("type: task\ngroups:\n  - name: a\n", "3:5: groups[0].commands: nothing to run: give the group `commands`, or the task an `image`"),
    ("type: task\nnodes: 2\ngroups:\n  - commands: [a]\n", "2:1: nodes: `nodes` cannot be used with `groups`"),
    ("type: task\nentrypoint: x\ngroups:\n  - commands: [a]\n", "2:1: entrypoint: `entrypoint` cannot be used with `groups`"),
    ("type: task\n", "1:1: commands: nothing to run: give the task `commands` or an `image`"),
    # replica groups
    (SG + "groups:\n  - name: a\n", "5:5: groups[0].replicas: missing required field `replicas`"),
    (SG + "groups:\n  - replicas: 1..4\n", "5:5: groups[0].replicas: a range of replicas needs `scaling`"),
    (SG + "groups:\n  - replicas: 2\n    scaling: {metric: rps, target: 1}\n",
     "6:5: groups[0].scaling: `scaling` needs a range of replicas"),
    (SG + "groups:\n  - replicas: 1..\n    scaling: {metric: rps, target: 1}\n",
     "5:15: groups[0].replicas: give the most replicas too"),
    (SG + "groups:\n  - replicas: 1\n    image: other\n",
     "6:5: groups[0].image: `image` is also set at the service level"),
    (SG + "groups:\n  - replicas: 1\n    python: '3.12'\n",
     "6:5: groups[0].python: the service's `image` and a group's `python` are mutually exclusive"),
    ("type: service\nport: 8000\ngroups:\n  - replicas: 1\n    image: a\n    python: '3.12'\n",
     "6:5: groups[0].python: `image` and `python` are mutually exclusive within a replica group"),
    ("type: service\nport: 8000\ngroups:\n  - replicas: 1\n    docker: true\n    privileged: false\n"
     "    commands: [a]\n", "6:5: groups[0].privileged: `privileged: false` cannot go with `docker: true`"),
    ("type: service\nport: 8000\ngroups:\n  - replicas: 1\n", "4:5: groups[0].commands: nothing to run"),
    (SG + "replicas: 2\ngroups:\n  - replicas: 1\n", "4:1: replicas: `replicas` and `groups` are mutually exclusive"),
    (S + "groups:\n  - replicas: 1\n", "3:1: commands: top-level `commands` cannot be used with replica groups"),
    (SG + "scaling: {metric: rps, target: 1}\nreplicas:\n  - count: 1..2\n    scaling: {metric: rps, target: 1}\n",
     "4:1: scaling: top-level `scaling` cannot be used with replica groups"),
    (SG + "groups:\n  - replicas: 1..2\n    scaling: {metric: rps, target: 1}\n    router: {type: smg}\n",
     "5:5: groups[0].replicas: a group with a `router` must have `replicas: 1`"),
    (SG + "groups:\n  - replicas: 1\n    router: {}\n  - name: b\n    replicas: 1\n    router: {}\n",
     "9:5: groups[1].router: only one replica group may have a `router`"),
    (SG + "groups:\n  - replicas: 1\n    router: {type: nginx}\n", "6:20: groups[0].router.type: must be 'smg', 'dynamo' or 'sglang'"),
    (SG + "replicas: []\n", "4:11: replicas: `groups` cannot be an empty list"),
    # service replicas and scaling
    (S + "replicas: 1..\nscaling: {metric: rps, target: 1}\n", "4:11: replicas: give the most replicas too"),
    (S + "replicas: 1..2\nscaling: {metric: rps, target: 1, window: 2m}\n",
     "5:43: scaling.window: the window is 30s, 60s or 300s; got 120s"),
    # rate limits
    (S + "rate_limits:\n  - prefix: /\n", "5:5: rate_limits[0]: missing required field `rps`"),
    (S + "rate_limits:\n  - rps: 0\n", "5:10: rate_limits[0].rps: rps must be at least 1/60"),
    (S + "rate_limits:\n  - rps: 1\n    burst: -1\n", "6:12: rate_limits[0].burst: input should be greater than or equal to 0"),
    (S + "rate_limits:\n  - rps: 1\n    prefix: v1/chat\n", "6:13: rate_limits[0].prefix: a prefix is a URL path starting with `/`"),
    (S + "rate_limits:\n  - rps: 1\n    key: {type: header}\n", "6:5: rate_limits[0].key: missing required field `header`"),
    (S + "rate_limits:\n  - rps: 1\n    key: {header: X-Key}\n", "6:10: rate_limits[0].key: `type` must be `ip_address` or `header`"),
    (S + "rate_limits:\n  - rps: 1\n    key: {type: header, header: 'X Key'}\n",
     "6:33: rate_limits[0].key.header: a header name is letters, digits, `-` and `_`"),
    (S + "rate_limits:\n  - rps: 1\n  - rps: 2\n", "6:5: rate_limits[1].prefix: prefix `/` already has a rate limit above"),
    # probes
    (S + "probes:\n  - url: /health\n", "5:5: probes[0]: missing required field `type`"),
    (S + "probes:\n  - type: http\n    url: health\n", "6:10: probes[0].url: a probe URL is a path starting with `/`"),
    (S + "probes:\n  - type: http\n    body: '{}'\n", "6:5: probes[0].body: a `get` request cannot have a body"),
    (S + "probes:\n  - type: http\n    interval: 0.5\n", "6:15: probes[0].interval: must be at least 1s"),
    (S + "probes:\n  - type: http\n    headers: [{name: X}]\n", "6:15: probes[0].headers[0]: missing required field `value`"),
    (S + "probes:\n  - type: http\n    headers: {X: y}\n", "6:14: probes[0].headers: expected a list"),
    (S + "probes:\n  - type: http\n    ready_after: 0\n", "6:18: probes[0].ready_after: input should be greater than or equal to 1"),
    (S + "probes:\n  - type: tcp\n", "5:11: probes[0].type: must be 'http'"),
    (S + "probes:\n  - {type: http, url: /h}\n  - {type: http, url: /h}\n", "6:5: probes[1]: the same probe is given twice"),
    # instances and fleets
    (T + "instances: []\n", "3:12: instances: give at least 1 item(s)"),
    (T + "instances: ['']\n", "3:13: instances[0]: an instance name cannot be empty"),
    (T + "instances: [{fleet: f}]\n", "3:13: instances[0]: missing required field `instance`"),
    (T + "instances: [{fleet: f, instance: -1}]\n", "3:34: instances[0].instance: input should be greater than or equal to 0"),
    (T + "instances: [{fleet: a/b/c, instance: 0}]\n", "3:21: instances[0].fleet: `a/b/c` is not a reference"),
    (T + "instances: [{hostname: h, port: 22}]\n", "3:27: instances[0].port: unknown field `port`"),
    (T + "fleets: ['team/']\n", "3:10: fleets[0]: `team/` is not a reference"),
    # backend options
    (T + "backend_options: [{type: aws}]\n", "3:26: backend_options[0].type: must be 'vastai'"),
    (T + "backend_options: [{offer_order: cheapest}]\n", "3:33: backend_options[0].offer_order: must be 'score' or 'price'"),
    (T + "backend_options: [{min_reliability: 95}]\n",
     "3:37: backend_options[0].min_reliability: input should be less than or equal to 1"),
    (T + "backend_options: [{type: vastai}, {type: vastai}]\n",
     "3:35: backend_options[1]: backend `vastai` already has options above"),
    # utilization policy
    (T + "utilization_policy: {min_gpu_utilization: 10}\n", "3:1: utilization_policy: missing required field `time_window`"),
    (T + "utilization_policy: {min_gpu_utilization: 10, time_window: 1m}\n",
     "3:47: utilization_policy.time_window: time_window must be at least 5m"),
    # schedule
    (T + "schedule: {cron: '0 8 * *'}\n", "3:18: schedule.cron: a cron expression has 5 fields"),
    (T + "schedule: {cron: '60 8 * * *'}\n", "3:18: schedule.cron: minute `60` is out of range 0..59"),
    (T + "schedule: {cron: '0 8 * * 7'}\n", "3:18: schedule.cron: day of week `7` is out of range 0..6"),
    (T + "schedule: {cron: '0 8 * foo *'}\n", "3:18: schedule.cron: `foo` is not a valid month"),
    (T + "schedule: {cron: '0 8 5-1 * *'}\n", "3:18: schedule.cron: `5-1` is a backwards range"),
    (T + "schedule: {cron: '*/0 * * * *'}\n", "3:18: schedule.cron: the step in `*/0` must be above 0"),
    (T + "schedule: {cron: []}\n", "3:18: schedule.cron: give at least one cron expression"),
    (T + "schedule: {cron: ['0 8 * * *', '0 8 * * * *']}\n", "3:32: schedule.cron[1]: a cron expression has 5 fields"),
    (T + "schedule: '0 8 * * *'\n", "3:11: schedule: expected a mapping"),
]


@pytest.mark.parametrize("text, expected", INVALID, ids=[c[1].split(": ")[1] + " " + str(i) for i, c in enumerate(INVALID)])
def test_rejected_at_the_field(text, expected):
    got = errors(text)
    assert any(e.startswith(expected) for e in got), got


MULTI = [
    # one model, several rules broken: each is reported, each at its own field
    (T + "image: ubuntu\npython: '3.11'\ndocker: true\n",
     ["3:1: image: `docker: true` and `image` are mutually exclusive",
      "4:1: python: `docker: true` and `python` are mutually exclusive",
      "4:1: python: `image` and `python` are mutually exclusive"]),
    ("type: task\nnodes: 2\nports: [80]\nentrypoint: x\ngroups:\n  - name: a\n    commands: [x]\n  - name: a\n",
     ["2:1: nodes: `nodes` cannot be used with `groups`; put it in each group",
      "3:1: ports: `ports` cannot be used with `groups`; put it in each group",
      "4:1: entrypoint: `entrypoint` cannot be used with `groups`; put it in each group",
      "8:5: groups[1].name: another group above is already named `a`",
      "8:5: groups[1].commands: nothing to run: give the group `commands`, or the task an `image`"]),
    (SG + "spot_policy: spot\ngroups:\n  - replicas: 1\n    image: b\n    spot_policy: auto\n  - replicas: 1\n    nvcc: true\n",
     ["7:5: groups[0].image: `image` is also set at the service level; set it in one place only (the service, or each group)",
      "8:5: groups[0].spot_policy: `spot_policy` is also set at the service level; set it in one place only "
      "(the service, or each group)",
      "10:5: groups[1].nvcc: the service's `image` and a group's `nvcc` are mutually exclusive"]),
    (S + "rate_limits:\n  - rps: 1\n  - rps: 2\n  - {prefix: /a, rps: 1}\n  - {prefix: /a, rps: 1}\n",
     ["6:5: rate_limits[1].prefix: prefix `/` already has a rate limit above",
      "8:6: rate_limits[3].prefix: prefix `/a` already has a rate limit above"]),
    ("name: r\nimage: x\nrun: echo\nresources:\n  cpu: 2\n  memory: 4Gi\n  requests:\n    cpu: 1\n    memory: 2Gi\n",
     ["5:3: resources.cpu: give `cpu` either directly or under `requests`, not both",
      "6:3: resources.memory: give `memory` either directly or under `requests`, not both"]),
    ("name: s\nimage: x\nrun: echo\nservice:\n  expose: 8000\n  autoscaling: {min: 3, max: 2, metric: cpu, target: 150}\n",
     ["6:17: service.autoscaling.min: min (3) is larger than max (2)",
      "6:46: service.autoscaling.target: a cpu target is a percentage, at most 100; got 150"]),
]


@pytest.mark.parametrize("text, expected", MULTI, ids=[str(i) for i in range(len(MULTI))])
def test_every_conflict_is_reported(text, expected):
    assert errors(text) == expected


def test_scaling_beside_a_fixed_count_is_an_error_as_in_dstack():
    assert errors(S + "replicas: 2\nscaling: {metric: rps, target: 1}\n") == [
        "5:1: scaling: `scaling` needs a range of replicas, e.g. `replicas: 1..4`"]
    assert load_text(S + "replicas: 1..2\nscaling: {metric: rps, target: 1}\n")[0].problems == []


def test_replica_groups_reach_the_runspec():
    spec = load_text(SG + "probes:\n  - type: http\n    url: /ready\n"
                          "replicas:\n  - count: 1\n    commands: [a]\n")[0].spec
    assert spec.service.health_path == "/ready"
    assert load_text(S + "probes: [{type: http}]\n")[0].spec.service.health_path == "/"
