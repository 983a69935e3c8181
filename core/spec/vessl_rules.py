"""The rules of VESSL run and revision YAML as plain functions: source URIs, the legacy
`accelerators` form, and each model's cross-field rules (`RULES`), which the models of
`core.spec.vessl` run."""

from __future__ import annotations

from typing import Any

from core.spec.checks import FieldError, raise_all

IMPORT_SCHEMES = ("git", "hf", "s3", "gs", "vessl-dataset", "vessl-model", "vessl-artifact", "volume",
                  "hostpath", "file")
MOUNT_SCHEMES = ("vessl-dataset", "hostpath", "nfs", "volume", "s3", "gs", "file")
EXPORT_SCHEMES = ("vessl-artifact", "vessl-dataset", "vessl-model", "s3", "gs", "volume", "hostpath", "file")


def accelerators(value: Any) -> Any:
    """The legacy `MODEL:COUNT` string as a GPU request mapping {device_type, quantity}."""
    if isinstance(value, str):
        name, _, count = value.partition(":")
        return {"device_type": name, "quantity": count or 1}
    return value


_SOURCE_URI = {
    "git": lambda v: "git://" + _no_scheme(v["url"]),
    "hf": lambda v: "hf://" + _no_scheme(v["url"]),
    "dataset": lambda v: f"vessl-dataset://{v['organization_name']}/{v['dataset_name']}",
    "model": lambda v: "vessl-model://" + "/".join(
        str(x) for x in (v["organization_name"], v["model_repository_name"], v.get("model_number")) if x is not None),
    "s3": lambda v: f"s3://{v['bucket']}/{v.get('prefix') or ''}".rstrip("/"),
    "gs": lambda v: f"gs://{v['bucket']}/{v.get('prefix') or ''}".rstrip("/"),
    "artifact": lambda v: "vessl-artifact://" + "/".join(
        str(x) for x in _artifact_parts(v) if x),
    "volume": lambda v: f"volume://{v['storage_name']}/{v.get('volume_name') or ''}".rstrip("/"),
    "hostpath": lambda v: "hostpath://" + v["path"],
    "nfs": lambda v: f"nfs://{v['server']}/{v['path'].lstrip('/')}",
}
_REQUIRED = {
    "git": ("url",), "hf": ("url",), "dataset": ("organization_name", "dataset_name"),
    "model": ("organization_name", "model_repository_name"), "s3": ("bucket",), "gs": ("bucket",),
    "volume": ("storage_name",), "hostpath": ("path",), "nfs": ("server", "path"), "artifact": (),
}
_OTHER_FORMS = ("cifs", "google_disk", "container_storage", "gcs_fuse", "block_storage")


def _no_scheme(url: str) -> str:
    for scheme in ("https://", "http://", "git://", "hf://"):
        if url.startswith(scheme):
            return url[len(scheme):]
    return url


def _artifact_parts(v: dict) -> list:
    persistent = v.get("persistent") or {}
    if persistent:
        return [persistent.get("organization_name"), persistent.get("artifact_name")]
    return [v.get("organization_name"), v.get("project_name"), v.get("name") or v.get("artifact_name")]


def source(value: Any, schemes: tuple[str, ...]) -> dict:
    """A source as {source, ref, credential, readonly}: a URI shorthand or a verbose mapping."""
    if isinstance(value, str):
        scheme, sep, rest = value.partition("://")
        if not sep or scheme not in schemes:
            raise ValueError(
                f"unknown source `{value}`: use one of {', '.join(s + '://' for s in schemes)}"
            )
        return {"source": value}
    if not isinstance(value, dict):
        raise ValueError(f"expected a source URI like `git://github.com/org/repo` or a mapping, got `{value}`")
    forms = [k for k in value if k in _SOURCE_URI or k in _OTHER_FORMS]
    extra = [k for k in value if k not in _SOURCE_URI and k not in _OTHER_FORMS
             and k not in ("ref_type", "readonly", "options")]
    if extra:
        raise ValueError(f"unknown source field `{extra[0]}`; use one of {', '.join(sorted(_SOURCE_URI))}")
    if len(forms) != 1:
        raise ValueError(f"give exactly one source ({', '.join(sorted(_SOURCE_URI))}), got {len(forms)}")
    form = forms[0]
    body = value[form]
    if form in _OTHER_FORMS:
        return {"source": f"{form.replace('_', '-')}://", **_readonly(value)}
    if not isinstance(body, dict):
        raise ValueError(f"`{form}` takes a mapping of its fields")
    missing = [k for k in _REQUIRED[form] if body.get(k) in (None, "")]
    if missing:
        raise ValueError(f"`{form}` needs `{missing[0]}`")
    not_text = [k for k in _REQUIRED[form] if not isinstance(body[k], str)]
    if not_text:
        raise ValueError(f"`{form}.{not_text[0]}` must be a string, got `{body[not_text[0]]}`")
    return {
        "source": _SOURCE_URI[form](body),
        "ref": None if body.get("ref") is None else str(body["ref"]),
        "credential": body.get("credential_name"),
        **_readonly(value),
    }


def _readonly(value: dict) -> dict:
    """{"readonly": bool} when the source says (`readonly:` or `options.readonly`), else {} (the
    mapping then applies the default: host-path mounts are read-only)."""
    options = value.get("options") if isinstance(value.get("options"), dict) else {}
    given = value.get("readonly", options.get("readonly"))
    return {} if given is None else {"readonly": bool(given)}


def import_source(value: Any) -> dict:
    """An `import` source: copied in before the run starts."""
    return source(value, IMPORT_SCHEMES)


def mount_source(value: Any) -> dict:
    """A `mount` source: mounted live."""
    return source(value, MOUNT_SCHEMES)


def export_source(value: Any) -> dict:
    """An `export` destination: uploaded when the run ends."""
    return source(value, EXPORT_SCHEMES)


# ---------------------------------------------------------------- cross-field rules (RULES)

def requests_once(resources: Any) -> None:
    """cpu, memory and the GPU are each given once: directly or under `requests`."""
    req, errors = resources.requests, []
    for field in ("cpu", "memory"):
        if req and getattr(resources, field) is not None and getattr(req, field) is not None:
            errors.append(FieldError(field, f"give `{field}` either directly or under `requests`, not both"))
    if req and req.gpu and req.nvidia_gpu:
        errors.append(FieldError("requests.gpu", "give the GPU once: `gpu` or `nvidia.com/gpu`"))
    raise_all(errors)


def jupyter_idle_timeout(interactive: Any) -> None:
    """Jupyter is given with its idle timeout (under `jupyter`, or misplaced beside it)."""
    jupyter = interactive.jupyter
    if jupyter is not None and jupyter.idle_timeout is None and interactive.idle_timeout is None:
        raise FieldError("jupyter.idle_timeout", "missing required field `idle_timeout`: give how long Jupyter "
                                                 "may stay idle, e.g. `jupyter: {idle_timeout: 120m}`")


def image_named(run: Any) -> None:
    """A VESSL run names its image, unless it stays on this machine (no cluster, or `local`),
    where commands run as processes and an image means nothing."""
    if run.image is None and run.resources.cluster not in (None, "local"):
        raise FieldError("image", f"missing required field `image`: a VESSL run on cluster "
                                  f"`{run.resources.cluster}` names its container image, e.g. `image: python:3.11`")


def env_form(env: Any) -> None:
    """An env mapping is a value (perhaps secret) or a stored secret."""
    errors = []
    if isinstance(env.secret, str) and env.value is not None:
        errors.append(FieldError("value", "give either `value` or a stored `secret` name, not both"))
    if env.secret is True and env.value is None:
        errors.append(FieldError("value", "`secret: true` needs the `value` to keep secret"))
    if env.source == "secret" and not isinstance(env.secret, str):
        errors.append(FieldError("secret", "`source: secret` needs `secret: <stored secret name>`"))
    raise_all(errors)


def something_to_run(run: Any) -> None:
    """A run has commands, an image or is interactive."""
    if run.image is None and run.run is None and run.interactive is None:
        raise FieldError("run", "nothing to run: give `run` commands, an `image` or `interactive`")


def autoscaling_bounds(auto: Any) -> None:
    """min <= max, and a percentage target is at most 100."""
    errors = []
    if auto.min > auto.max:
        errors.append(FieldError("min", f"min ({auto.min}) is larger than max ({auto.max})"))
    if auto.metric != "requests" and auto.target > 100:
        errors.append(FieldError("target", f"a {auto.metric} target is a percentage, at most 100; got {auto.target:g}"))
    raise_all(errors)


# Fields that moved or never existed: what to tell the user instead of "unknown field".
RENAMED: dict[tuple[str, str], str] = {
    ("*", "volumes"): "`volumes` is the old name: use `import` (copied in) or `mount` (mounted live)",
    ("*", "command"): "commands go under `run`: `run: [{command: ...}]`",
    ("*", "commands"): "commands go under `run`: `run: [{command: ...}]`",
    ("*", "workdir"): "`workdir` goes in a `run` item: `run: [{command: ..., workdir: ...}]`",
    ("*", "secrets"): "secrets go under `env`: `NAME: {secret: stored-name}`",
    ("*", "environment"): "the field is `env`",
    ("*", "autoscaling"): "`autoscaling` goes under `service:` in a revision",
    ("*", "expose"): "`expose` goes under `service:` in a revision",
    ("run", "message"): "`message` belongs to a revision (a spec with `service:`)",
    ("*", "type"): "VESSL specs have no `type`; dstack specs use task, service, dev-environment or fleet",
    ("*", "resources.gpu"): "GPUs go under `requests`: `requests: {nvidia.com/gpu: {device_type, quantity}}`",
}
