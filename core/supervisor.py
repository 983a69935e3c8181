"""The supervisor: one detached process per run (own session, no terminal) that drives its backend.

    python -m core.supervisor RUN_ID          (started by the engine; stdin: one JSON object)

stdin carries `{"mode": "start" | "reattach", "secrets": {NAME: value}, "registry_password": str,
"expected_pid": int | null, "start_server": bool}` and is then closed: secrets (and a dstack
`registry_auth` password) reach the supervisor only this way (never argv, its environment, the
store or a file). stdout and stderr go to the run's provisioning log.

Life of a run: pending (waiting in the host's GPU queue when its GPUs are busy: `acquire_gpus`) →
provisioning (prepare) → running (start, then wait while heart-beating,
watching for a stop request and `max_duration`) → succeeded | failed | stopped | terminated; a
failure covered by `retry` starts the next attempt (recorded as an event). In "reattach" mode the
supervisor takes over a run whose supervisor died: the work goes on and is waited for again, or the
run is marked lost when the work is gone. Only one supervisor owns a run: it claims the row by
compare-and-set on `supervisor_pid`, after taking the run's supervisor lock (`supervisor.lock`, an
flock held for the supervisor's whole life and dropped by the kernel when it dies, kill -9
included): `supervisor_alive` tells any client whether the run's supervisor lives.

The engine usually has the supervisor forked by `core.supervisor_server` (imports already done),
which calls `main` in the forked child; `python -m core.supervisor` is the plain way.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.diskspace import nearly_full, no_space, no_space_sentence, release, reserve

if TYPE_CHECKING:
    from core.backends.base import Backend, ExitInfo, RunContext
    from core.gpu_ledger import GpuLedger
    from core.store import Store

HEARTBEAT_SECONDS = 5.0
LOCK_FILE = "supervisor.lock"
#: Room the supervisor keeps in the run's folder to write the run's end on a disk that filled up.
RESERVE_FILE = "space.reserve"
#: How long a new supervisor tries for the lock (a client checking liveness holds it for an instant).
LOCK_TRIES_SECONDS = 2.0
POLL_SECONDS = 0.1
#: How long the output still drains after a run ended out of reach (lost, or failed by its cluster).
STREAM_DRAIN_SECONDS = 5.0
DEFAULT_RETRY_DURATION = 3600.0
#: Attempts in all when `retry` sets no count (a duration alone): a run that fails at once stops here.
DEFAULT_RETRY_LIMIT = 100
#: Back-off before attempt N+1: RETRY_DELAY_FIRST * 2**(N-1) seconds, at most RETRY_DELAY_MAX;
#: back to the first delay after an attempt that ran longer than RETRY_DELAY_MAX.
RETRY_DELAY_FIRST = 1.0
RETRY_DELAY_MAX = 60.0
#: The files of this many most recent attempts are kept in the run's folder (older ones removed).
KEEP_ATTEMPTS = 3


def retry_delay(attempt: int, lasted: float) -> float:
    """Seconds to wait after attempt number `attempt`, which ran `lasted` seconds."""
    if lasted > RETRY_DELAY_MAX:
        return RETRY_DELAY_FIRST
    return min(RETRY_DELAY_MAX, RETRY_DELAY_FIRST * 2 ** max(0, attempt - 1))


def forget_attempt(run_dir: Path, attempt: int) -> None:
    """Remove the files of attempt number `attempt` (and older ones still there) from the run's folder."""
    for number in range(attempt, 0, -1):
        found = list(run_dir.glob(f"attempt-{number}.*"))
        if not found:
            break
        for path in found:
            path.unlink(missing_ok=True)


class Supervisor:
    """Drives one run to a final status. Every store write is one short transaction."""

    def __init__(self, run_id: str, store: "Store", payload: dict[str, Any]):
        from core.logs import ProvisionLog, output_log, provision_log
        from core.paths import artifacts_dir, run_dir

        self.run_id = run_id
        self.store = store
        self.secrets: dict[str, str] = payload.get("secrets") or {}
        self.registry_password: str | None = payload.get("registry_password")
        self.failure: str | None = None  # why the run fails whatever its work's exit (its log is lost)
        self.start_server = bool(payload.get("start_server"))
        self.provision = ProvisionLog(provision_log(run_id))
        self.run_dir = run_dir(run_id)
        self.log_path = output_log(run_id)
        self.artifacts = artifacts_dir(run_id)
        self.last_heartbeat = 0.0
        self.queued = False  # the backend's scheduler holds the work (see report_queued)
        self.running_since: float | None = None
        self.stream_thread: threading.Thread | None = None
        self.out_of_reach = False  # the cluster stopped answering (or could not be reached to stop)
        self.curves: Any = None  # the attempt's CurveTap (core.curves.recorder)
        self.curves_drain: float | None = None  # out of reach: how long the metrics copy may still take

    # --- setup ----------------------------------------------------------------------------

    def context(self, row: dict[str, Any]) -> "RunContext":
        from core.backends import backend_for
        from core.backends.base import RunContext
        from core.config import ClusterConfig, load_config
        from core.spec.runspec import RunSpec

        spec = RunSpec.model_validate_json(row["spec_json"])
        for var in spec.env:
            if var.name in self.secrets:
                var.value = self.secrets[var.name]
                var.secret = True
        if self.registry_password and spec.registry_password:
            spec.registry_password = self.registry_password
        cluster_json = (row.get("resources") or {}).get("cluster_config")
        cluster = ClusterConfig.model_validate(cluster_json) if cluster_json else load_config().cluster(row["cluster"])
        self.backend: Backend = backend_for(cluster)
        self.resources = row.get("resources") or {}
        held = self.ledger().held(self.run_id) if self.resources.get("gpu_host") else []
        return RunContext(
            run_id=self.run_id,
            spec=spec,
            cluster=cluster,
            run_dir=self.run_dir,
            log_path=self.log_path,
            provision=self.provision,
            attempt=row["attempt"],
            artifacts_dir=self.artifacts,
            gpu_indices=[g["index"] for g in held] or None,
            gpu_uuids=[g["uuid"] for g in held] or None,
            report=self.report_queued,
        )

    def ledger(self) -> "GpuLedger":
        from core.gpu_ledger import GpuLedger

        return GpuLedger(self.store.conn)

    # --- state ----------------------------------------------------------------------------

    def report_queued(self, status: str, reason: str | None) -> None:
        """The backend's scheduler holds the work ("pending", why) or started it ("running"): shown
        as the run's status and reason; `max_duration` counts from the start, not the queueing."""
        self.queued = status == "pending"
        fields: dict[str, Any] = {"status": status, "reason": reason}
        if status == "running":
            self.running_since = fields["started_at"] = time.time()
        self.store.update_run(self.run_id, only_if_active=True, event=f"{status}: {reason}" if reason else status,
                              **fields)

    def set_status(self, status: str, message: str | None = None, **fields: Any) -> None:
        """Record a status; a final one gives the run's GPUs back first (waking the next in line),
        so that whoever sees the run ended sees its GPUs free."""
        if status in ("succeeded", "failed", "stopped", "terminated", "lost"):
            fields.setdefault("ended_at", time.time())
            release(self.run_dir / RESERVE_FILE)  # the room kept for writing the end on a full disk
            from core.gpu_ledger import release_and_wake

            release_and_wake(self.store.conn, self.run_id)
        self.store.update_run(self.run_id, status=status, event=message, **fields)
        self.provision(f"status {status}" + (f": {message}" if message else ""))

    def stop_wanted(self) -> str | None:
        """"stopped" or "terminated" when asked to stop (by a client, or by `max_duration`)."""
        row = self.store.conn.execute(
            "SELECT stop_requested, stop_reason FROM runs WHERE id = ?", (self.run_id,)
        ).fetchone()
        if row is None:
            return "stopped"  # the run was removed
        return "stopped" if row[0] else None

    def beat(self) -> None:
        now = time.monotonic()
        if now - self.last_heartbeat >= HEARTBEAT_SECONDS:
            self.last_heartbeat = now
            try:
                self.store.heartbeat(self.run_id)
            except Exception as exc:
                if not no_space(exc):
                    raise  # on a full disk the heartbeat waits: liveness is the lock's, not this row's

    def log_problem(self) -> str | None:
        """Why the run's log cannot be written (the disk under the home is full), else None."""
        if self.failure is None and nearly_full(self.run_dir):
            from core.paths import home_path

            self.failure = (f"no space left on device in VESSL_TUI_HOME ({home_path()}): the run's log could not "
                            "be written; what was written is kept")
        return self.failure

    # --- the run --------------------------------------------------------------------------

    def run(self, mode: str) -> None:
        row = self.store.run(self.run_id, with_spec=True)
        if row is None:
            return
        ctx = self.context(row)
        if mode == "reattach":
            from core.backends.base import BackendError

            handle = row.get("handle")
            try:
                attached = bool(handle) and self.backend.attach(ctx, handle)
            except BackendError as exc:  # the cluster cannot tell (out of reach): said as it is
                self.set_status("failed", f"could not reattach: {exc}", reason=f"could not reattach: {exc}")
                return
            if not attached:
                why = "its supervisor died and the work is gone" if handle else "its supervisor died before the work started"
                self.set_status("lost", why, reason=why)
                return
            self.store.add_event(self.run_id, "note", message="supervisor reattached to the running work")
            self.provision("supervisor reattached")
            self.work_started()
            outcome = self.watch(ctx, handle, row)
        else:
            outcome = self.first_attempt(ctx, row)
        if outcome is not None:
            self.attempts(ctx, row, *outcome)

    def first_attempt(self, ctx: "RunContext", row: dict[str, Any]) -> tuple[dict[str, Any], "ExitInfo", str] | None:
        from core.backends.base import BackendError

        if not self.acquire_gpus(ctx, row):
            return None
        self.set_status("provisioning")
        try:
            self.backend.prepare(ctx)
            if self.stop_wanted():
                self.set_status("stopped", "stopped before it started", reason="stopped before it started")
                return None
            handle = self.backend.start(ctx)
        except BackendError as exc:
            self.set_status("failed", str(exc), reason=str(exc))
            return None
        self.set_status("running", started_at=time.time(), handle=handle)
        row["started_at"] = time.time()
        self.work_started()
        return self.watch(ctx, handle, row)

    def acquire_gpus(self, ctx: "RunContext", row: dict[str, Any]) -> bool:
        """Take the run's GPUs from the host's ledger; while they are busy, wait in the host's queue
        (status pending, `reason` saying for what and behind whom), woken by each release. False
        when the run ended instead: stopped, or `retry` (on `no-capacity`, with a `duration`) gave up."""
        count, host = int(self.resources.get("gpu_count") or 0), self.resources.get("gpu_host")
        candidates = self.resources.get("gpu_candidates")
        if not count or not host or not candidates:
            return True  # no GPU asked, or a cluster whose GPUs the ledger does not count
        from core.gpu_ledger import Wakeup, wake

        ledger = self.ledger()
        retry = ctx.spec.retry
        deadline = (row["created_at"] + retry.duration
                    if retry and "no-capacity" in retry.on_events and retry.duration is not None else None)
        wakeup = Wakeup(self.run_dir)
        shown = None
        try:
            while True:
                if self.stop_wanted():
                    self.set_status("stopped", "stopped while waiting for GPUs", reason="stopped while waiting for GPUs")
                    return False
                got = ledger.take(self.run_id, host, count, candidates, alive=supervisor_alive)
                if got is not None:
                    wake([w["run_id"] for w in ledger.queue(host)])  # those behind us may fit now
                    ctx.gpu_indices, ctx.gpu_uuids = [g["index"] for g in got], [g["uuid"] for g in got]
                    placed = f"GPUs {', '.join(ctx.gpu_ids or [])} on {ctx.cluster.name}"
                    self.provision(placed)
                    if shown is not None:
                        self.store.update_run(self.run_id, reason=None, event=f"took {placed}")
                    return True
                reason = ledger.waiting_reason(self.run_id, host, count, candidates, ctx.cluster.name)
                if deadline is not None and time.time() >= deadline:
                    why = f"no capacity: gave up after retry.duration ({retry.duration:g}s) {reason}"  # type: ignore[union-attr]
                    self.set_status("failed", why, reason=why)
                    return False
                if reason != shown:
                    self.store.update_run(self.run_id, reason=reason, event=reason)
                    self.provision(reason)
                    shown = reason
                self.beat()
                wakeup.wait(HEARTBEAT_SECONDS if deadline is None else min(HEARTBEAT_SECONDS, deadline - time.time()))
        finally:
            wakeup.close()

    def attempts(self, ctx: "RunContext", row: dict[str, Any], handle: dict[str, Any], info: "ExitInfo", ended: str) -> None:
        """Finish the run, or start the next attempt while `retry` allows it: after a back-off
        (exponential, capped; a stop meanwhile ends the run as stopped at once)."""
        from core.backends.base import BackendError

        began = row.get("started_at") or time.time()
        while True:
            status = ended if ended != "exited" else ("succeeded" if info.exit_code == 0 else "failed")
            if status == "failed" and self.stop_wanted():
                ended = "stopped"  # failed because it was asked to stop, or while it was
                break
            if self.failure:
                break  # its log cannot be written: another attempt would lose its output too
            delay = retry_delay(ctx.attempt, time.time() - began)
            retry = self.retry_allowed(ctx, row, status, delay, info.event)
            if retry is None:
                break
            next_at = time.strftime("%H:%M:%S", time.localtime(time.time() + delay))
            self.provision(f"attempt {ctx.attempt} {status} ({info.reason}); {retry} at {next_at} (in {delay:g}s)")
            self.store.add_event(self.run_id, "attempt", status="failed", message=f"attempt {ctx.attempt}: {info.reason}")
            if self.pause(delay):
                ended = "stopped"
                break
            forget_attempt(self.run_dir, ctx.attempt + 1 - KEEP_ATTEMPTS)
            ctx.attempt += 1
            self.store.update_run(self.run_id, attempt=ctx.attempt, event=f"attempt {ctx.attempt} started")
            began = time.time()
            try:
                handle = self.backend.start(ctx)
            except BackendError as exc:
                info, ended = type(info)(None, str(exc)), "failed"
                break
            self.store.update_run(self.run_id, handle=handle)
            info, ended = self.watch(ctx, handle, row)[1:]
        from core.data.exports import after_run

        # the cluster went out of reach: nothing can be copied out
        failures = [] if self.out_of_reach else after_run(
            self.backend, ctx, handle, lambda status, message: self.store.add_event(self.run_id, "export", status, message))
        status = ended if ended != "exited" else ("succeeded" if info.exit_code == 0 else "failed")
        reason = self.failure if status == "failed" and self.failure else info.reason
        if failures and status == "succeeded":
            status, reason = "failed", failures[0]
        if status == "terminated":
            reason = f"max_duration of {ctx.spec.max_duration:g}s reached"
        elif status == "stopped":
            reason = "stopped by request"
        self.set_status(status, reason, exit_code=info.exit_code, reason=reason)

    def pause(self, seconds: float) -> bool:
        """Wait `seconds` between attempts, heart-beating; True as soon as a stop is asked for."""
        deadline = time.monotonic() + seconds
        while True:
            if self.stop_wanted():
                self.provision("stop requested while waiting to retry: no further attempt")
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.beat()
            time.sleep(min(POLL_SECONDS, remaining))

    def retry_allowed(self, ctx: "RunContext", row: dict[str, Any], status: str, delay: float = 0.0,
                      event: str = "error") -> str | None:
        """A sentence when another attempt should run (after `delay` seconds), else None. `event`:
        what the failure counts as in `retry.on_events` ("error" or "interruption")."""
        retry = ctx.spec.retry
        if status != "failed" or retry is None or event not in retry.on_events:
            return None
        if retry.limit is not None and ctx.attempt >= retry.limit:
            return None
        if retry.limit is None and ctx.attempt >= DEFAULT_RETRY_LIMIT:
            self.provision(f"giving up after {ctx.attempt} attempts (the default count limit; set retry.limit)")
            return None
        duration = retry.duration if retry.duration is not None else (None if retry.limit else DEFAULT_RETRY_DURATION)
        if duration is not None and time.time() + delay - (row.get("started_at") or time.time()) > duration:
            return None
        if any(v.secret and v.value in (None, "********") for v in ctx.spec.env):
            self.provision("cannot retry: this supervisor took over the run and does not hold its secrets")
            return None
        return f"attempt {ctx.attempt + 1}"

    def work_started(self) -> None:
        """Asked to by the engine (no supervisor server answered it): start one for the next runs,
        now that this run's start no longer competes with the server's imports."""
        if self.start_server:
            from core.supervisor_server import launch

            launch(os.environ)

    def watch(self, ctx: "RunContext", handle: dict[str, Any], row: dict[str, Any]) -> tuple[dict[str, Any], "ExitInfo", str]:
        """Wait for the work to end, enforcing stop requests and max_duration.
        Returns (handle, how it ended, "exited" | "stopped" | "terminated" | "lost" | "failed")."""
        from core.backends.base import BackendError, ExitInfo
        from core.curves.recorder import CurveTap

        self.finish_curves()  # an earlier attempt's metrics are drained before this attempt's start
        self.follow_output(ctx, handle)  # before the metrics tap: the first lines reach the log soonest
        self.curves = CurveTap(ctx, self.backend, handle)
        self.curves.start()
        started = row.get("started_at") or time.time()
        deadline = started + ctx.spec.max_duration if ctx.spec.max_duration else None
        ended = "exited"
        while True:
            try:
                info = self.backend.wait(ctx, handle, POLL_SECONDS)
            except BackendError as exc:  # the cluster stopped answering for good (said in one sentence)
                info, ended = ExitInfo(None, str(exc)), "failed"
                self.out_of_reach = True
                break
            if info is not None:
                if info.lost and ended == "exited":
                    ended = "lost"
                break
            self.beat()
            if ended == "exited":
                if self.stop_wanted():
                    ended = "stopped"
                elif deadline is not None and not self.queued and time.time() >= (
                        deadline if self.running_since is None else self.running_since + ctx.spec.max_duration):
                    ended = "terminated"
                elif self.log_problem():
                    ended = "failed"
                if ended != "exited":
                    ctx.stop_requested.set()
                    why = {"stopped": "stop requested", "terminated": "max_duration reached"}.get(ended, self.failure)
                    self.provision(f"{why}; stopping the work: SIGTERM, SIGKILL after {ctx.spec.grace_seconds:g}s")
                    try:
                        self.backend.stop(ctx, handle, ctx.spec.grace_seconds)
                    except BackendError as exc:  # the cluster cannot be reached: the work's fate is unknown
                        info, ended = ExitInfo(None, f"asked to stop, but {exc}"), "lost"
                        self.out_of_reach = True
                        break
        drained_by = time.monotonic() + STREAM_DRAIN_SECONDS  # out of reach: one bounded wait for both
        if self.stream_thread is not None:
            self.stream_thread.join(max(0.0, drained_by - time.monotonic()) if self.out_of_reach else None)
            self.stream_thread = None
        if self.out_of_reach:
            self.curves_drain = max(0.0, drained_by - time.monotonic())
        if ended == "exited" and self.log_problem():
            ended = "failed"
        return handle, info, ended

    def finish_curves(self) -> None:
        """Drain and store what is left of the run's metrics. Called once the run is final, so
        parsing a backlog never holds back the run's end (clients that need every point wait for
        the metrics to be complete: `Engine.curves(settled=True)`)."""
        if self.curves is not None:
            curves, self.curves = self.curves, None
            try:
                curves.finish() if self.curves_drain is None else curves.finish(self.curves_drain)
            except Exception as exc:  # noqa: BLE001 - the run's outcome stands; its log is whole
                self.provision(f"storing the run's metrics failed: {exc}")

    def follow_output(self, ctx: "RunContext", handle: dict[str, Any]) -> None:
        """For backends that do not write the log themselves: append their output in a thread."""
        if self.backend.writes_log_directly:
            return
        from core.logs import open_append, size

        from core.logmask import Masker

        masker = Masker(self.secrets.values(), keep_length=True)  # the stream resumes at the log's size

        def pump() -> None:
            fd = open_append(self.log_path)
            try:
                for chunk in self.backend.stream(ctx, handle, size(self.log_path)):
                    os.write(fd, masker.feed(chunk))
                os.write(fd, masker.flush())
            except Exception as exc:  # the run goes on; its end is learnt from `wait`
                if no_space(exc):
                    self.log_problem() or setattr(self, "failure", f"its log could not be written: {exc}")
                self.provision(f"log streaming stopped: {exc}")
            finally:
                os.close(fd)

        self.stream_thread = threading.Thread(target=pump, name="log-stream", daemon=True)
        self.stream_thread.start()


def take_lock(run_id: str) -> int | None:
    """Take the run's supervisor lock for the rest of this process's life (the descriptor is not
    inherited by the work); None when another supervisor holds it."""
    import fcntl

    from core.paths import private_dir, run_dir

    folder = private_dir(run_dir(run_id))
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    deadline = time.monotonic() + LOCK_TRIES_SECONDS
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() > deadline:
                os.close(fd)
                return None
            time.sleep(0.01)


def supervisor_alive(run_id: str, pid: int | None, home: Path | None = None) -> bool:
    """True while a supervisor of the run lives (it holds the run's lock). A run without a lock file
    (a supervisor of an earlier version) is judged by its pid and command line."""
    import fcntl

    from core.paths import run_dir

    try:
        fd = os.open(run_dir(run_id, home) / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        from core.backends.local import process_alive

        return process_alive(pid, run_id)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def claim(store: "Store", run_id: str, expected_pid: int | None) -> bool:
    """Become the run's supervisor: compare-and-set `supervisor_pid` from `expected_pid` to ours."""
    from core.store import transaction

    with transaction(store.conn) as conn:
        changed = conn.execute(
            "UPDATE runs SET supervisor_pid = ?, heartbeat_at = ? WHERE id = ? AND supervisor_pid IS ?",
            (os.getpid(), time.time(), run_id, expected_pid),
        ).rowcount
    return bool(changed)


def main(run_id: str, payload: dict[str, Any]) -> int:
    from core.store import Store

    if take_lock(run_id) is None:
        return 0  # another supervisor runs
    store = Store()
    if not claim(store, run_id, payload.get("expected_pid")):
        return 0  # another supervisor owns the run
    supervisor = Supervisor(run_id, store, payload)
    reserve(supervisor.run_dir / RESERVE_FILE)
    try:
        supervisor.run(payload.get("mode", "start"))
    except Exception as exc:
        release(supervisor.run_dir / RESERVE_FILE)
        if no_space(exc):
            from core.paths import home_path

            reason = no_space_sentence(home_path())
        else:
            reason = f"the supervisor failed: {type(exc).__name__}: {exc}"
        supervisor.provision(reason)
        from core.gpu_ledger import release_and_wake

        release_and_wake(store.conn, run_id)
        store.update_run(run_id, status="failed", reason=reason, ended_at=time.time(), event=reason, only_if_active=True)
        if no_space(exc):
            return 1  # said in the run's reason: no traceback for a full disk
        raise
    finally:
        release(supervisor.run_dir / RESERVE_FILE)
        supervisor.finish_curves()
    return 0


def read_payload() -> dict[str, Any]:
    text = sys.stdin.read()
    sys.stdin.close()
    return json.loads(text) if text.strip() else {}


def __getattr__(name: str) -> Any:
    """`supervise_command`: the hidden `vessl-tui supervise RUN_ID` (click loads only when used)."""
    if name != "supervise_command":
        raise AttributeError(name)
    import click

    @click.command(name="supervise", hidden=True)
    @click.argument("run_id")
    def supervise(run_id: str) -> None:
        sys.exit(main(run_id, read_payload()))

    return supervise


if __name__ == "__main__":
    os.umask(0o077)
    sys.exit(main(sys.argv[1], read_payload()))
