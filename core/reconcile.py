"""Reconcile: what any client does for active runs whose supervisor died.

    reconcile(engine) -> list[RunRecord]   the runs it changed

For each active run whose supervisor is dead (its lock dropped): reattach a new supervisor while the
work lives, record the exit status the work left (exports copied out as the supervisor would have),
start the supervisor of a run whose submitting client was killed before it could, or mark the run
lost with the reason. A run's end and the release of its GPUs are one transaction.
"""

from __future__ import annotations

import time

from core import logs
from core.diskspace import no_space
from core.errors import EngineError
from core.paths import private_dir, run_dir
from core.store import Store

TYPE_CHECKING = False  # typing stays out of `vessl-tui ps`
if TYPE_CHECKING:
    from typing import Any

    from core.engine import Engine, RunRecord

#: A run whose supervisor has not claimed it yet is left alone this long.
STARTUP_GRACE_SECONDS = 60.0
#: A run no supervisor took this long after submit, and whose supervisor never even started (its
#: client was killed in between), gets one.
ORPHAN_SECONDS = 10.0


def reconcile(engine: "Engine") -> list["RunRecord"]:
    """Repair every active run whose supervisor died; returns the runs it changed."""
    changed: list[RunRecord] = []
    active = engine.store.active_runs()
    if not active:
        return changed
    from core.supervisor import LOCK_FILE, supervisor_alive

    for row in active:
        pid = row["supervisor_pid"]
        waited = time.time() - row["created_at"]
        never_started = not (run_dir(row["id"], engine.home) / LOCK_FILE).exists()
        if pid is None and (waited < ORPHAN_SECONDS or (waited < STARTUP_GRACE_SECONDS and not never_started)):
            continue
        if supervisor_alive(row["id"], pid, engine.home):
            continue
        try:
            if pid is None and never_started:
                _adopt_orphan(engine, row)
            else:
                _repair(engine, row, pid)
        except Exception as exc:
            if not no_space(exc):
                raise
            continue  # a full disk: left as it is for a client that can write (reading goes on)
        changed.append(engine.get(row["id"]))
    return changed


def _adopt_orphan(engine: "Engine", row: dict[str, Any]) -> None:
    """Start the supervisor of a run whose submitting client was killed before it could (the
    secrets it held come again from the config, the environment or the spec file), or fail the
    run with the reason when they cannot. A supervisor that shows up late loses the claim."""
    from core.spec import load_spec
    from core.spec.errors import SpecError
    from core.spec.runspec import SECRET_PLACEHOLDER, RunSpec

    spec = RunSpec.model_validate_json(engine.store.run(row["id"], with_spec=True)["spec_json"])  # type: ignore[index]
    try:
        if any(v.secret and v.value == SECRET_PLACEHOLDER for v in spec.env) and spec.source_file:
            inline = {v.name: v.value for v in load_spec(spec.source_file, spec.document_index).env if v.secret}
            for var in spec.env:
                if inline.get(var.name) is not None:
                    var.value = inline[var.name]
        for var in spec.env:
            if var.from_client_env and var.value == SECRET_PLACEHOLDER:
                var.value = None  # from this client's environment, if it has it
        secrets = engine._secret_values(spec)
    except (EngineError, SpecError, OSError) as exc:
        why = f"the client that submitted it was killed before starting it, and {exc}"
        set_final(engine, row, None, "failed", None, why)
        return
    from core.supervisor import LOCK_FILE

    (private_dir(run_dir(row["id"], engine.home)) / LOCK_FILE).touch(mode=0o600)  # other clients now leave it be
    logs.ProvisionLog(logs.provision_log(row["id"], engine.home))(
        "the client that submitted this run was killed before starting its supervisor: started by reconcile")
    engine._spawn_supervisor(row["id"], {"mode": "start", "secrets": secrets, "expected_pid": None})


def _repair(engine: "Engine", row: dict[str, Any], pid: int | None) -> None:
    """Reattach, finalize or mark lost one active run whose supervisor is dead."""
    from core.backends.local import work_state

    handle = row["handle"]
    state, code = work_state(handle) if handle and handle.get("backend") == "local" else (None, None)
    if handle and state in (None, "running"):
        engine._spawn_supervisor(row["id"], {"mode": "reattach", "expected_pid": pid})
    elif state == "exited":
        _finalize(engine, row, pid, code)  # type: ignore[arg-type]
    else:
        why = "its supervisor died and the work is gone" if handle else "its supervisor died before the work started"
        set_final(engine, row, pid, "lost", None, why)


def _finalize(engine: "Engine", row: dict[str, Any], pid: int | None, code: int) -> None:
    """The work ended while no supervisor watched it: its status from the exit code it left."""
    from core.backends.local import exit_info

    stopped = engine.store.conn.execute("SELECT stop_requested FROM runs WHERE id = ?", (row["id"],)).fetchone()[0]
    failures = _copy_exports(engine, row)
    info = exit_info(code)
    status = "stopped" if stopped else ("succeeded" if code == 0 else "failed")
    reason = "stopped by request" if stopped else info.reason
    if failures and status == "succeeded":
        status, reason = "failed", failures[0]
    set_final(engine, row, pid, status, code, (reason + "; " if reason else "") + "ended while no supervisor watched it")


def _copy_exports(engine: "Engine", row: dict[str, Any]) -> list[str]:
    """What the run's supervisor would have done after the end: exports copied out and sent to
    their destinations (each recorded as an event). Returns the failures, one sentence each."""
    from core.backends import backend_for
    from core.backends.base import BackendError
    from core.data.exports import after_run

    try:
        ctx = engine.run_context(row["id"])
        backend = backend_for(ctx.cluster)
    except (BackendError, OSError) as exc:
        logs.ProvisionLog(logs.provision_log(row["id"], engine.home))(f"exports not copied: {exc}")
        return [f"exports not copied: {exc}"]
    return after_run(backend, ctx, row["handle"],
                     lambda status, message: engine.store.add_event(row["id"], "export", status, message))


def set_final(engine: "Engine", row: dict[str, Any], pid: int | None, status: str, code: int | None,
              reason: str) -> None:
    """The run's end, unless another supervisor took it meanwhile, and (in the same transaction:
    the work is gone) its GPUs given back; the next in line is woken."""
    from core.gpu_ledger import GpuLedger, wake
    from core.store import transaction

    waiting: list[str] = []
    GpuLedger(engine.store.conn)  # its tables exist before the transaction
    with transaction(engine.store.conn) as conn:
        updated = conn.execute(
            "UPDATE runs SET status = ?, exit_code = ?, reason = ?, ended_at = ? "
            "WHERE id = ? AND supervisor_pid IS ? AND status IN ('pending', 'provisioning', 'running')",
            (status, code, reason, time.time(), row["id"], pid),
        ).rowcount
        if updated:
            Store._event(conn, row["id"], "status", status, reason)
            waiting = GpuLedger.release_in(conn, row["id"])
    logs.ProvisionLog(logs.provision_log(row["id"], engine.home))(f"status {status}: {reason}")
    wake(waiting, engine.home)  # the next in line starts
