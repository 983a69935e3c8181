"""Cold `vessl-tui ps` (a new process listing 50 runs) against `python -c pass`. Target: <= 3x.

Measured on a normal install, as a user has it: the project is built into a wheel and installed
(not editable) into a throwaway virtualenv, whose `vessl-tui` script is what runs; its dependencies
come from this checkout's environment (a .pth file), so nothing else is downloaded. Both run with
Python's bytecode cache on (PYTHONDONTWRITEBYTECODE, if set here, would make every `ps` compile our
modules again). Also printed: `ps --help` (the click path). Rounds are interleaved; min / median /
max of wall time and of CPU time (user + system, less sensitive to a busy machine).

Usage: python bench/cold_ps.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, fresh_home, spread


def run(argv: list[str], env: dict[str, str], cwd: str) -> tuple[float, float]:
    """(wall, cpu) seconds of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def installed(folder: Path) -> Path:
    """A virtualenv in `folder` with this checkout installed from a wheel (not editable); its bin/."""
    wheels = folder / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(REPO)], check=True)
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    deps = [p for p in sys.path if p.endswith("site-packages")]
    Path(purelib, "zz_bench_deps.pth").write_text("\n".join(deps) + "\n")  # after our own package
    wheel = next(wheels.glob("vessl_tui-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps",
                    str(wheel)], check=True)
    return venv / "bin"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    fresh_home()
    from core.store import Store

    store = Store()
    for i in range(50):
        store.insert_run({"id": f"{i:08x}", "name": f"run-{i}", "status": "succeeded", "cluster": "local",
                          "created_at": time.time() - i, "exit_code": 0})
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory(prefix="vt-cold-") as tmp:
        bin_dir = installed(Path(tmp))
        where = subprocess.run([str(bin_dir / "python"), "-c", "import core; print(core.__file__)"], cwd=tmp,
                               capture_output=True, text=True, check=True).stdout.strip()
        assert where.startswith(tmp), f"the installed package is not the one imported: {where}"
        commands = {
            "ps": [str(bin_dir / "vessl-tui"), "ps", "--all"],
            "ps --help": [str(bin_dir / "vessl-tui"), "ps", "--help"],
            "--help": [str(bin_dir / "vessl-tui"), "--help"],
            "python -c pass": [str(bin_dir / "python"), "-c", "pass"],
        }
        for argv in commands.values():  # warm the page cache and the bytecode cache
            run(argv, env, tmp)
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, argv in commands.items():
                samples[name].append(run(argv, env, tmp))
    wall = {name: [s[0] for s in v] for name, v in samples.items()}
    cpu = {name: [s[1] for s in v] for name, v in samples.items()}
    base = "python -c pass"
    print(f"cold start, installed from a wheel, {args.rounds} rounds (min / median / max): "
          f"python -c pass wall {spread(wall[base])}, CPU {spread(cpu[base])}")
    for name in ("ps", "ps --help", "--help"):
        print(f"  vessl-tui {name}: wall {spread(wall[name])}, CPU {spread(cpu[name])}; ratio of medians "
              f"{statistics.median(wall[name]) / statistics.median(wall[base]):.2f}x wall / "
              f"{statistics.median(cpu[name]) / statistics.median(cpu[base]):.2f}x CPU (target <= 3x)")


if __name__ == "__main__":
    main()
