"""Git imports, one way everywhere: clone on this machine, then check out the ref, so a branch,
a tag or a commit SHA all work. The clone is then placed like any local folder."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from core.backends.base import BackendError

TIMEOUT_SECONDS = 600.0


def clone(url: str, ref: str | None, dest: Path, provision: Callable[[str], None]) -> None:
    """`git clone url dest` then `git checkout ref` (when given). BackendError (one sentence) when
    git is missing, the clone fails or the ref does not exist."""
    if shutil.which("git") is None:
        raise BackendError("git is not installed on this machine; install git to import a repository.")
    provision(f"cloning {url}{' at ' + ref if ref else ''}")
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    steps = [["git", "clone", "-q", *([] if ref else ["--depth", "1"]), url, str(dest)]]
    if ref:
        steps.append(["git", "-C", str(dest), "checkout", "-q", "--detach", ref])
    for argv in steps:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL,
                                  timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            raise BackendError(f"git {argv[1]} of {url} took over {TIMEOUT_SECONDS:g}s; check the URL.") from None
        if done.returncode != 0:
            detail = (done.stderr.strip().splitlines() or ["no output"])[-1].removeprefix("fatal: ").rstrip(".")
            what = f"ref `{ref}`" if argv[1] == "-C" else url
            raise BackendError(f"git could not fetch {what} of {url}: {detail}.")
    head = subprocess.run(["git", "-C", str(dest), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    provision(f"checked out {url} at {head.stdout.strip() or ref or 'HEAD'}")
