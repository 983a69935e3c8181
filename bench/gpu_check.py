"""GPU sharing on a real NVIDIA machine: do runs see only their own GPU, and do the meters tell the truth?

    python bench/gpu_check.py            (from the repository, with its dependencies importable)

Starts two local runs that each ask for one GPU, print `nvidia-smi -L`, `echo $CUDA_VISIBLE_DEVICES`
and the devices CUDA itself enumerates (the driver API through libcuda, no framework needed), then
hold their GPU a few seconds. Checks:
  - each run got one GPU of this machine (CUDA_VISIBLE_DEVICES by UUID, CUDA_DEVICE_ORDER=PCI_BUS_ID);
  - CUDA inside each run enumerates exactly that GPU;
  - with two GPUs or more the runs hold different GPUs at the same time; with one, the second run
    waits `pending` with the reason and starts once the first has ended;
  - `vessl-tui gpus --json` names the holder of each held GPU, and its meters (name, UUID, memory,
    utilization, temperature, power) match `nvidia-smi --query-gpu=… --format=csv` sampled right after.
`nvidia-smi -L` inside a run is printed for the record: nvidia-smi reads NVML, which ignores
CUDA_VISIBLE_DEVICES, so a process run lists every GPU there (a Docker run lists only its own).

Writes only under a temporary folder (its own VESSL_TUI_HOME and config); ends within 2 minutes;
prints one line per check and a verdict; exit 0 when every check passed, 1 otherwise, 2 when this
is not an NVIDIA machine.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUDGET_SECONDS = 110.0
HOLD_SECONDS = 8
SMI_FIELDS = ("index", "uuid", "name", "utilization.gpu", "memory.used", "memory.total", "temperature.gpu", "power.draw")

PROBE = r'''
import ctypes, sys
try:
    cuda = ctypes.CDLL("libcuda.so.1")
except OSError as exc:
    print("cuda-devices: unknown (no libcuda: %s)" % exc)
    sys.exit(0)
rc = cuda.cuInit(0)
if rc:
    print("cuda-devices: none (cuInit error %d)" % rc)
    sys.exit(0)
count = ctypes.c_int()
cuda.cuDeviceGetCount(ctypes.byref(count))
uuids = []
for i in range(count.value):
    dev = ctypes.c_int()
    cuda.cuDeviceGet(ctypes.byref(dev), i)
    raw = (ctypes.c_ubyte * 16)()
    cuda.cuDeviceGetUuid(raw, dev)
    h = bytes(raw).hex()
    uuids.append("GPU-%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:]))
print("cuda-devices: " + (" ".join(uuids) or "none"))
'''


class Check:
    """Collects PASS/FAIL lines."""

    def __init__(self) -> None:
        self.failed: list[str] = []
        self.count = 0

    def __call__(self, ok: bool, what: str) -> bool:
        self.count += 1
        print(f"{'PASS' if ok else 'FAIL'}  {what}", flush=True)
        if not ok:
            self.failed.append(what)
        return ok


def smi_gpus() -> list[dict[str, str]]:
    out = subprocess.run(["nvidia-smi", f"--query-gpu={','.join(SMI_FIELDS)}", "--format=csv,noheader,nounits"],
                         capture_output=True, text=True, timeout=20)
    if out.returncode != 0:
        raise RuntimeError((out.stderr or out.stdout).strip() or f"nvidia-smi exited {out.returncode}")
    return [dict(zip(SMI_FIELDS, (c.strip() for c in line.split(",")))) for line in out.stdout.splitlines() if line.strip()]


def number(text: str | None) -> float | None:
    try:
        return float(str(text).strip("[] "))
    except (TypeError, ValueError):
        return None


def main() -> int:
    started = time.monotonic()
    if shutil.which("nvidia-smi") is None:
        print("nvidia-smi is not installed here: run this on an NVIDIA machine.")
        return 2
    try:
        machine = smi_gpus()
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"nvidia-smi failed: {exc}")
        return 2
    print(f"this machine: {len(machine)} GPU(s): " + ", ".join(f"{g['index']} {g['name']} {g['uuid']}" for g in machine))
    work = Path(tempfile.mkdtemp(prefix="vessl-gpu-check-"))
    env = {**os.environ, "VESSL_TUI_HOME": str(work / "home"), "VESSL_TUI_CONFIG": str(work / "config.yaml"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
           "VESSL_TUI_SUPERVISOR_IDLE": "30"}
    (work / "probe.py").write_text(PROBE)
    bare = subprocess.run([sys.executable, str(work / "probe.py")], capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}).stdout.strip()
    print(f"outside any run, {bare} (the probe's own view of this machine)")

    def cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "core.cli.main", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=timeout)

    def runs() -> dict[str, dict]:
        return {r["id"]: r for r in json.loads(cli("ps", "--all", "--json").stdout or "[]")}

    def left() -> float:
        return BUDGET_SECONDS - (time.monotonic() - started)

    check = Check()
    ids: list[str] = []
    try:
        for name in ("gpu-check-a", "gpu-check-b"):
            spec = work / f"{name}.yaml"
            spec.write_text(
                f"type: task\nname: {name}\nresources: {{gpu: 1}}\ncommands:\n"
                f"  - nvidia-smi -L\n  - echo CVD=$CUDA_VISIBLE_DEVICES ORDER=$CUDA_DEVICE_ORDER\n"
                f"  - {quoted(shlex.quote(sys.executable) + ' ' + shlex.quote(str(work / 'probe.py')))}\n"
                f"  - sleep {HOLD_SECONDS}\n")
            done = cli("run", str(spec))
            if not check(done.returncode == 0, f"submit {name}: {(done.stdout + done.stderr).strip().splitlines()[-1:]}"):
                return 1
            ids.append(done.stdout.split()[-1])
        a, b = ids
        # both running (2+ GPUs), or the first running and the second waiting (1 GPU)
        while left() > 60:
            state = runs()
            if state[a]["status"] == "running" and (state[b]["status"] == "running" or state[b].get("reason")):
                break
            time.sleep(0.3)
        state = runs()
        print(f"runs: {a} {state[a]['status']}; {b} {state[b]['status']} {state[b].get('reason') or ''}".rstrip())
        meters = json.loads(cli("gpus", "--json").stdout or "[]")
        truth = smi_gpus()
        compare_meters(check, meters, truth, {r: state[r]["name"] for r in ids if state[r]["status"] == "running"})
        if len(machine) == 1:
            check(state[b]["status"] == "pending" and (state[b].get("reason") or "").startswith(
                f"waiting for 1 GPU on local: held by run {a} (gpu-check-a)"),
                  f"with one GPU the second run waits with the reason (`{state[b].get('reason')}`)")
            local = next((h for h in meters if h.get("host") == "local"), {})
            check([w["run_id"] for w in local.get("queue", [])] == [b], "gpus --json lists the waiting run in the queue")
        while left() > 5 and not all(runs()[r]["status"] in ("succeeded", "failed", "stopped", "lost") for r in ids):
            time.sleep(0.5)
        final = runs()
        seen = {r: read_run(cli("logs", r).stdout) for r in ids}
        uuids = {g["uuid"] for g in machine}
        for run_id in ids:
            out = seen[run_id]
            print(f"{final[run_id]['name']} ({run_id}) {final[run_id]['status']}: CUDA_VISIBLE_DEVICES={out['cvd']} "
                  f"{out['order']}; CUDA enumerates {out['cuda']}; nvidia-smi -L inside lists {len(out['smi'])} GPU(s)")
            check(final[run_id]["status"] == "succeeded", f"{run_id} succeeded ({final[run_id].get('reason') or 'ok'})")
            check(out["cvd"] in uuids and out["order"] == "ORDER=PCI_BUS_ID",
                  f"{run_id} was given one GPU of this machine by UUID, in PCI bus order")
            check(out["cuda"] == [out["cvd"]], f"CUDA inside {run_id} enumerates only its own GPU")
        if len(machine) >= 2:
            check(seen[a]["cvd"] != seen[b]["cvd"], "the two runs held different GPUs")
            overlap = (final[b].get("started_at") or 0) < (final[a].get("ended_at") or 0)
            check(overlap, "and ran at the same time")
        else:
            check((final[b].get("started_at") or 0) >= (final[a].get("ended_at") or float("inf")) - 0.5,
                  "the second run started only once the first had ended")
    finally:
        for run_id in ids:
            cli("stop", run_id, "--no-wait") if left() > 0 else None
        shutil.rmtree(work, ignore_errors=True)
    took = time.monotonic() - started
    verdict = "PASS" if not check.failed else "FAIL"
    print(f"VERDICT: {verdict} ({check.count - len(check.failed)}/{check.count} checks passed in {took:.0f}s)"
          + ("".join(f"\n  failed: {f}" for f in check.failed)))
    return 0 if not check.failed else 1


def quoted(text: str) -> str:
    """`text` as a single-quoted YAML scalar."""
    return "'" + text.replace("'", "''") + "'"


def read_run(log: str) -> dict:
    out: dict = {"cvd": None, "order": None, "cuda": None, "smi": []}
    for line in log.splitlines():
        if line.startswith("CVD="):
            cvd, _, order = line.partition(" ")
            out["cvd"], out["order"] = cvd[4:], order
        elif line.startswith("cuda-devices: "):
            said = line.split(": ", 1)[1]
            out["cuda"] = said.split() if said.startswith("GPU-") else said
        elif line.startswith("GPU ") and "UUID:" in line:
            out["smi"].append(line)
    return out


def compare_meters(check: Check, meters: list[dict], truth: list[dict[str, str]], holders: dict[str, str]) -> None:
    """`gpus --json` (this machine's host) against nvidia-smi, sampled right after it."""
    local = next((h for h in meters if h.get("host") == "local"), None)
    if not check(local is not None and local.get("state") == "ok",
                 f"gpus --json samples this machine ({(local or {}).get('state')}: {(local or {}).get('message', '')})"):
        return
    ours = {g["index"]: g for g in local["gpus"]}
    check(sorted(ours) == sorted(int(t["index"]) for t in truth), f"same GPUs: {sorted(ours)}")
    print(f"{'GPU':>3} {'what':12} {'gpus --json':>14} {'nvidia-smi':>14}")
    for t in truth:
        g = ours.get(int(t["index"]))
        if g is None:
            continue
        pairs = [  # (what, ours, theirs, tolerance: absolute, or a share of theirs)
            ("utilization", g["utilization"], number(t["utilization.gpu"]), 20.0),
            ("memory used", g["memory_used_mb"], number(t["memory.used"]), max(256.0, 0.05 * (number(t["memory.used"]) or 0))),
            ("memory total", g["memory_total_mb"], number(t["memory.total"]), 1.0),
            ("temperature", g["temperature_c"], number(t["temperature.gpu"]), 5.0),
            ("power", g["power_w"], number(t["power.draw"]), max(30.0, 0.15 * (number(t["power.draw"]) or 0))),
        ]
        check(g["name"] == t["name"] and g["uuid"] == t["uuid"], f"GPU {t['index']}: name and UUID ({t['name']}, {t['uuid']})")
        for what, mine, theirs, tolerance in pairs:
            print(f"{t['index']:>3} {what:12} {'-' if mine is None else f'{mine:.1f}':>14} {'-' if theirs is None else f'{theirs:.1f}':>14}")
            if theirs is None:
                check(mine is None, f"GPU {t['index']} {what}: not reported by either")
            else:
                check(mine is not None and abs(mine - theirs) <= tolerance,
                      f"GPU {t['index']} {what}: {mine} vs {theirs} (within {tolerance:g})")
        holder = g.get("held_by")
        if holder:
            check(holder["run_id"] in holders, f"GPU {t['index']} is held by running run {holder['run_id']} ({holder['name']})")
    held = {g["held_by"]["run_id"] for g in local["gpus"] if g.get("held_by")}
    check(held == set(holders), f"every running run holds a GPU in the ledger ({sorted(held)})")


if __name__ == "__main__":
    sys.exit(main())
