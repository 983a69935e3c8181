"""Where vessl-tui keeps its state and reads its config. Imports nothing heavy (the CLI's cold path).

    home_path()            VESSL_TUI_HOME, else the platform user-data dir: store, logs, artifacts
    config_path()          VESSL_TUI_CONFIG, else the platform user-config dir's config.yaml
    run_dir(run_id)        home_path()/runs/<id>/  (logs, scripts, the work's folder, exit code)
    private_dir(path)      mkdir -p, the folders it creates readable by their owner only (0700)
"""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variables that carry secrets to the engine (`VESSL_TUI_SECRET_<NAME>`): never passed on to a run.
SECRET_ENV_PREFIX = "VESSL_TUI_SECRET_"


def config_path() -> Path:
    """`VESSL_TUI_CONFIG`, else the platform user-config dir's `config.yaml`."""
    env = os.environ.get("VESSL_TUI_CONFIG")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("vessl-tui")) / "config.yaml"


def home_path() -> Path:
    """`VESSL_TUI_HOME`, else the platform user-data dir. Holds the store, logs and artifacts."""
    env = os.environ.get("VESSL_TUI_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("vessl-tui"))


def run_dir(run_id: str, home: Path | None = None) -> Path:
    """The folder of one run on this machine."""
    return (home or home_path()) / "runs" / run_id


def artifacts_dir(run_id: str, home: Path | None = None) -> Path:
    """Where a run's exports are copied after it ends."""
    return (home or home_path()) / "artifacts" / run_id


def private_dir(path: Path) -> Path:
    """`path`, created with its missing parents readable by their owner only (0700, whatever the
    umask); folders already there are left as they are."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(folder, 0o700)
    return path
