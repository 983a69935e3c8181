"""The Slurm test area runs against a real two-node Slurm started by the tests (tests/fixtures/slurm.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.slurm import SlurmCluster, slurm  # noqa: F401


@pytest.fixture
def hpc(slurm: SlurmCluster, config_file: Path) -> SlurmCluster:  # noqa: F811
    """The config names the Slurm cluster `hpc` (client commands on this machine)."""
    slurm.nodes_up()
    write_config(config_file, {"hpc": slurm.cluster()})
    return slurm


def write_config(config_file: Path, clusters: dict[str, Any]) -> None:
    config_file.write_text(yaml.safe_dump({"clusters": clusters}))


def task(tmp_path: Path, name: str, commands: list[str], **fields: Any) -> Path:
    """A dstack task file."""
    path = tmp_path / f"{name}.dstack.yml"
    path.write_text(yaml.safe_dump({"type": "task", "name": name, "commands": commands, **fields}))
    return path
