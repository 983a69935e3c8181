"""From text to `Document`s: parse with positions, detect the format, validate, normalize.

Every problem is collected (not only the first) and points at the offending key or value.
Nothing here raises for bad input; `load_spec` is the one entry that raises (`SpecError`).
Validation is pydantic's: each document through the cached adapter of its kind's root model
(`core.spec.models`), errors translated into positioned problems (`core.spec.problems`); a valid
document's `RunSpec` is mapped from the validated model (`core.spec.mapping`) when first read.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from core.fileread import NotReadable, read_user_file
from core.spec import models, yamlpos
from core.spec.checks import SHAPE_NAMES, shape_of
from core.spec.errors import Document, Problem, SpecError
from core.spec.problems import Translator, format_path, show

if TYPE_CHECKING:
    from core.spec.runspec import RunSpec

DSTACK_TYPES = ("task", "service", "dev-environment", "fleet")


# ---------------------------------------------------------------- detection and warnings

def detect(value: Any) -> tuple[str | None, str | None, str | None]:
    """(family, type, SpecKind) of a document's top-level mapping: dstack has `type`, VESSL not."""
    if "type" in value:
        t = value["type"]
        if isinstance(t, str) and t in DSTACK_TYPES:
            return "dstack", t, f"dstack-{t}"
        return "dstack", None, None
    if "service" in value:
        return "vessl", "revision", "vessl-revision"
    return "vessl", "run", "vessl-run"


_AMD_LIKE = re.compile(r"^(mi\d|gaudi|n150|n300|amd|intel|tenstorrent|tt$)", re.I)


def _warnings(ctx: Translator, parsed: Any) -> list[Problem]:
    """Deprecated forms and fields that mean nothing where the run goes, read from the validated
    source model `parsed` (None: the document is invalid; only what the raw YAML shows is checked)."""
    v, out = ctx.doc.value, []
    if ctx.family == "dstack":
        gpu = (v.get("resources") or {}).get("gpu") if isinstance(v.get("resources"), dict) else None
        names = gpu.get("name") if isinstance(gpu, dict) else gpu
        texts = [names] if isinstance(names, str) else names if isinstance(names, list) else []
        if any(isinstance(t, str) and "tpu-" in t.lower() for t in texts):
            out.append(ctx.problem(("resources", "gpu"), "the `tpu-` prefix is deprecated; write the TPU "
                                                          "name without it, e.g. `v5litepod-8`", severity="warning"))
        if "setup" in v:
            what = "put these lines in `init`" if ctx.kind == "dev-environment" else "it has no effect; use `commands`"
            out.append(ctx.problem(("setup",), f"`setup` is deprecated: {what}", at_key=True, severity="warning"))
        if "home_dir" in v:
            out.append(ctx.problem(("home_dir",), "`home_dir` is deprecated and has no effect", at_key=True,
                                   severity="warning"))
        g = parsed.resources.gpu if parsed is not None and ctx.kind != "fleet" else None
        if g is not None and parsed.image is None and not v.get("docker") and (
                g.vendor in ("amd", "intel", "tenstorrent") or any(_AMD_LIKE.match(n) for n in g.names)):
            out.append(ctx.problem(("resources", "gpu"), "dstack needs an `image` for non-NVIDIA GPUs; "
                                                          "set `image:`", severity="warning"))
    elif parsed is not None:
        res = parsed.resources
        if res.cluster == "local":
            image = getattr(parsed.image, "url", parsed.image)  # a string or {url, credential_name}
            for value, path in ((image, ("image",)), (res.node_names, ("resources", "node_names")),
                                (res.spot, ("resources", "spot"))):
                if value:
                    out.append(ctx.problem(path, f"`{path[-1]}` means nothing on the `local` cluster "
                                                 "(processes on this machine); it is ignored",
                                           at_key=True, severity="warning"))
    interactive = v.get("interactive") if ctx.family == "vessl" else None
    if isinstance(interactive, dict) and "idle_timeout" in interactive:
        effect = ("it is read as `jupyter.idle_timeout`" if interactive.get("jupyter") is not None
                  else "without `jupyter:` it has no effect")
        out.append(ctx.problem(("interactive", "idle_timeout"), "`idle_timeout` belongs under `jupyter:` "
                               f"(`interactive: {{jupyter: {{idle_timeout: 120m}}}}`); {effect}", at_key=True,
                               severity="warning"))
    if ctx.family == "vessl" and isinstance(v.get("resources"), dict) and "accelerators" in v["resources"]:
        out.append(ctx.problem(("resources", "accelerators"), "`accelerators` is a legacy form; use "
                               "`requests: {nvidia.com/gpu: {device_type, quantity}}`", at_key=True,
                               severity="warning"))
    service = parsed.service if parsed is not None and ctx.kind == "revision" else None
    if service is not None and service.expose not in [p if isinstance(p, int) else p.port for p in parsed.ports]:
        out.append(ctx.problem(("service", "expose"), f"port {service.expose} is not among `ports`",
                               severity="warning"))
    return out


# ---------------------------------------------------------------- documents

def _positions(doc: yamlpos.ParsedDocument, family: str) -> dict[str, tuple[int, int]]:
    """Where each field sits, by dotted name (`resources.gpu`, `ports[1]`), with the names the
    RunSpec gives some of them."""
    positions = {format_path(path): pos for path, pos in doc.values.items() if path}
    aliases = {"commands": ("run", "init")} if family else {}
    if family == "vessl":
        aliases["resources.gpu"] = ('resources.requests["nvidia.com/gpu"]', "resources.requests.gpu",
                                    "resources.accelerators")
        aliases["resources.cpu"] = ("resources.requests.cpu",)
        aliases["resources.memory"] = ("resources.requests.memory",)
    for name, sources in aliases.items():
        for src in sources:
            if name not in positions and src in positions:
                positions[name] = positions[src]
    return positions


def _document(doc: yamlpos.ParsedDocument, file: str, source_file: str | None) -> Document:
    """The validated document; `source_file` is the file's absolute path (None for text)."""
    if doc.error:
        line, col, message = doc.error
        return Document(file, doc.index, None, problems=[Problem(file, line, col, "", message)])
    value = doc.value
    if not isinstance(value, dict):
        line, col = doc.start
        got = SHAPE_NAMES[shape_of(value)]
        return Document(file, doc.index, None, problems=[Problem(
            file, line, col, "", f"a spec is a mapping of fields (`name:`, `resources:`, …), got {got}")])
    family, typ, kind = detect(value)
    if kind is None:
        line, col = doc.pos(("type",))
        return Document(file, doc.index, None, problems=[Problem(
            file, line, col, "type", f"unknown configuration type {show(value.get('type'))}: "
                                     f"use one of {', '.join(DSTACK_TYPES)}")])
    ctx = Translator(doc, file, kind, family, typ)
    try:
        parsed = models.adapter(kind).validate_python(value)
    except ValidationError as exc:
        return Document(file, doc.index, kind, problems=_problems(ctx, exc.errors(include_url=False)))
    except Exception as exc:  # a validator bug must still come back as a problem, never a traceback
        return _not_validated(doc, file, kind, exc)
    problems = _warnings(ctx, parsed)
    if len(problems) > 1:
        problems.sort(key=lambda p: (p.line, p.column))
    return Document(file, doc.index, kind, problems=problems,
                    build=lambda: _runspec(ctx, parsed, source_file))


def _problems(ctx: Translator, errors: list[dict]) -> list[Problem]:
    """The problems of an invalid document: every error translated, with the warnings its raw
    YAML shows, in position order. A required field misspelled is one problem (the unknown key
    that names it), not two."""
    problems = {p for e in errors for p in ctx.translate(e)}
    meant = {(p.path.rpartition(".")[0], p.message.rpartition("did you mean ")[2]) for p in problems
             if p.message.startswith("unknown field")}
    problems = {p for p in problems if not (p.message.startswith("missing required field ") and
                                            (p.path, p.message[23:] + "?") in meant)}
    return sorted(problems | set(_warnings(ctx, None)), key=lambda p: (p.line, p.column, p.message))




def _runspec(ctx: Translator, parsed: Any, source_file: str | None) -> RunSpec:
    """The RunSpec of a valid document from its validated model, built when first asked for;
    SpecError (one problem) if that fails, which is a bug to report, never a traceback."""
    from core.spec import mapping

    try:
        spec = mapping.runspec(ctx.spec_kind, parsed)
    except Exception as exc:  # noqa: BLE001 - reported as a problem, never a traceback
        raise SpecError(_not_validated(ctx.doc, ctx.file, ctx.spec_kind, exc).problems) from None
    doc = ctx.doc
    # where it came from: the file absolute, so that rerun, relative imports and a service keeper
    # (another folder) find it again
    spec.source_file = source_file
    spec.source_text = doc.text
    spec.document_index = doc.index
    spec.positions = _positions(doc, ctx.family)
    return spec


def _not_validated(doc: yamlpos.ParsedDocument, file: str, kind: str, exc: Exception) -> Document:
    line, col = doc.start
    return Document(file, doc.index, kind, problems=[Problem(
        file, line, col, "", f"this document could not be validated ({type(exc).__name__}: {exc}); "
                             "please report it with the file")])


def load_text(text: str, file: str = "<string>") -> list[Document]:
    """Every YAML document of `text`, validated. Never raises for bad input."""
    parsed = yamlpos.parse(text)
    if not parsed:
        return [Document(file, 0, None, problems=[Problem(
            file, 1, 1, "", "the file holds no spec (it is empty or only comments)")])]
    source_file = None if file.startswith("<") else _absolute(os.getcwd(), file)
    return [_document(d, file, source_file) for d in parsed]


@lru_cache(maxsize=1024)
def _absolute(cwd: str, file: str) -> str:
    """os.path.abspath(file) run in `cwd`, remembered (normpath is pure Python here)."""
    return os.path.normpath(os.path.join(cwd, file))


def _file_problem(file: str, message: str) -> list[Document]:
    return [Document(file, 0, None, problems=[Problem(file, 1, 1, "", message)])]


def load_file(path: str | os.PathLike) -> list[Document]:
    """Read and validate a spec file. Never raises: unreadable files come back as one problem."""
    file = os.fspath(path)
    try:
        if os.path.isdir(file):
            return _file_problem(file, "this is a directory; give a spec file")
        size = os.path.getsize(file)
        if size > yamlpos.MAX_BYTES:
            return _file_problem(file, f"the file is {size / 1048576:.1f} MB; a spec may be at most "
                                       f"{yamlpos.MAX_BYTES // 1048576} MB")
        data = read_user_file(file, yamlpos.MAX_BYTES + 1)  # a FIFO nobody writes to: a problem, no hang
    except NotReadable as exc:
        return _file_problem(file, str(exc))
    except FileNotFoundError:
        return _file_problem(file, "no such file")
    except PermissionError:
        return _file_problem(file, "permission denied; check the file's permissions")
    except OSError as exc:
        return _file_problem(file, f"cannot read the file: {exc.strerror or exc}")
    text, error = yamlpos.decode(data)
    if error:
        return [Document(file, 0, None, problems=[Problem(file, error[0], error[1], "", error[2])])]
    return load_text(text, file)


def load_spec(path: str | os.PathLike, document: int = 0) -> RunSpec:
    """The RunSpec of one document of a file; raises `SpecError` carrying every error."""
    docs = load_file(path)
    file = os.fspath(path)
    if not 0 <= document < len(docs):
        raise SpecError([Problem(file, 1, 1, "", f"the file has {len(docs)} document(s); "
                                                 f"there is no document {document}")])
    doc = docs[document]
    if doc.errors or doc.spec is None:
        raise SpecError(doc.errors)
    return doc.spec
