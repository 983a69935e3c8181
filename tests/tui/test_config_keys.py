"""What the config says is done: ctrl+l on the clusters re-reads the file, `keys:` problems are
reported (notification and `vessl-tui keys --check`), secret env names as the README writes them."""

from __future__ import annotations

import subprocess
import sys

import yaml

from tests.conftest import REPO
from tests.tui.conftest import until
from tui.app import VesslApp
from tui.keycheck import check_keymap


async def test_ctrl_l_reads_the_config_again(engine, config_file) -> None:
    config_file.write_text(yaml.safe_dump({"presets": {"small": {"cpu": 1}}}))
    app = VesslApp(engine=engine, keymap={})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        presets = app.screen.query_one("#presets-table")
        await until(pilot, lambda: presets.row_count == 1)
        config_file.write_text(yaml.safe_dump({"presets": {"small": {"cpu": 1}, "big": {"cpu": 2}},
                                               "clusters": {"box": {"kind": "ssh", "host": "127.0.0.1", "port": 1}}}))
        await pilot.press("ctrl+l")
        await until(pilot, lambda: presets.row_count == 2)
        clusters = app.screen.query_one("#clusters-table")
        assert "box" in {key.value for key in clusters.rows}


async def test_keys_problems_are_a_notification_and_the_sound_ones_apply(engine, config_file) -> None:
    config_file.write_text(yaml.safe_dump({"keys": {"runs.stpo": "x", "runs.rerun": "ctrl+kk", "runs.remove": "n",
                                                    "runs.sort": "ctrl+k"}}))
    app = VesslApp(engine=engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: any(n.title == "Key bindings" for n in app._notifications))
        note = next(n.message for n in app._notifications if n.title == "Key bindings")
        assert note == ("keys: `runs.rerun`: `ctrl+kk` is not a key name (e.g. ctrl+k, F, f5, question_mark). "
                        "(and 2 more: `vessl-tui keys --check`)")
        await until(pilot, lambda: app._keymap.get("runs.sort") == "ctrl+k")
        assert "runs.remove" not in app._keymap and "runs.rerun" not in app._keymap


def test_keys_check_command(config_file) -> None:
    config_file.write_text(yaml.safe_dump({"keys": {"runs.stop": "n", "log.follow": "F"}}))
    result = subprocess.run([sys.executable, "-c", "import sys; sys.argv = ['vessl-tui', 'keys', '--check'];"
                             "from tui.launch import main; main()"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stdout.strip() == "keys: `n` is given to both `runs.new` and `runs.stop`; give one of them another key."
    config_file.write_text(yaml.safe_dump({"keys": {"log.follow": "F"}}))
    result = subprocess.run([sys.executable, "-c", "import sys; sys.argv = ['vessl-tui', 'keys', '--check'];"
                             "from tui.launch import main; main()"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "keys: no problems."


def test_unknown_ids_and_bad_key_names() -> None:
    sound, problems = check_keymap({"runs.stop": "ctrl+kk", "log.follow": "F", "runs.stpo": "x", "runs.sort": "f5"})
    assert sound == {"log.follow": "F", "runs.sort": "f5"}
    assert problems == ["keys: `runs.stop`: `ctrl+kk` is not a key name (e.g. ctrl+k, F, f5, question_mark).",
                        "keys: `runs.stpo` is not a binding id; did you mean `runs.stop`?"]


def test_secret_env_name_as_the_readme_writes_it(monkeypatch) -> None:
    from core.config import load_config

    monkeypatch.setenv("VESSL_TUI_SECRET_HF_TOKEN", "hf_from_env")
    assert load_config().secret("hf-token") == "hf_from_env"
