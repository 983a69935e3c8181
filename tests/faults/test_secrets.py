"""The secrets grep: an inline secret in every YAML style never reaches the store (state.db and its
-wal/-shm), any file under the home, `ps auxww`, or the TUI's screens; the run still gets the
values as written. Store and run folders are readable by their owner only."""

from __future__ import annotations

import hashlib
import stat
import subprocess
from pathlib import Path

from core.engine import Engine
from tests.support import cli, until

# style -> (the YAML of `value:`, the value it means); every value holds markers QX…Z to grep for
STYLES = {
    "plain": ("plainQXplainZ-1f2e", "plainQXplainZ-1f2e"),
    "single-quoted": ("'it''s-QXsingleZ'", "it's-QXsingleZ"),
    "double-quoted": ('"dq\\"QXdoubleZ\\\\x\\t"', 'dq"QXdoubleZ\\x\t'),
    "literal-block": ("|\n      QXblock1Z-aaaa\n      QXblock2Z-bbbb\n", "QXblock1Z-aaaa\nQXblock2Z-bbbb\n"),
    "folded-block": (">-\n      QXfold1Z\n      QXfold2Z\n", "QXfold1Z QXfold2Z"),
}
MARKERS = [m for _, value in STYLES.values() for m in value.replace("\n", " ").replace('"', " ").split()
           if "QX" in m]
MARKERS = sorted({m[m.index("QX"):m.index("Z", m.index("QX")) + 1] for m in MARKERS})


def var(style: str) -> str:
    return "S_" + style.upper().replace("-", "_")


def spec_text(command: str) -> str:
    env = "".join(f"  {var(s)}:\n    value: {yaml}\n    secret: true\n" if not yaml.startswith(("|", ">")) else
                  f"  {var(s)}:\n    value: {yaml}    secret: true\n" for s, (yaml, _) in STYLES.items())
    return f"name: secretive\nresources:\n  cluster: local\nenv:\n{env}run:\n  - command: |\n      {command}\n"


def digest() -> str:
    return hashlib.sha256("".join(v for _, v in STYLES.values()).encode()).hexdigest()


def leaks(data: bytes) -> list[str]:
    return [m for m in MARKERS if m.encode() in data]


def test_inline_secrets_in_every_style_stay_out_of_store_files_and_ps(tmp_path, vessl_home, fault):
    report = fault("secrets grep (store, -wal/-shm, files, ps auxww)")
    together = "".join(f"${{{var(s)}}}" for s in STYLES)
    check = f'[ "$(printf %s "{together}" | sha256sum | cut -c1-64)" = {digest()} ] && echo values-ok; echo "printed: $S_PLAIN"; sleep 2'
    spec_file = tmp_path / "secretive.yaml"
    spec_file.write_text(spec_text(check))
    submitted = cli("run", str(spec_file))
    assert submitted.returncode == 0, submitted.stderr
    run_id = submitted.stdout.split()[-1]
    engine = Engine()
    until(lambda: engine.get(run_id).status == "running", what="the run to be running")
    seen = {"ps auxww": subprocess.run(["ps", "auxww"], capture_output=True).stdout}
    for name in ("state.db", "state.db-wal", "state.db-shm"):  # while the run and its writers are live
        path = vessl_home / name
        seen[name] = path.read_bytes() if path.exists() else b""
        if path.exists():
            report.tried += 1
            report.failed += stat.S_IMODE(path.stat().st_mode) != 0o600
    final = engine.wait(run_id, timeout=60)
    assert (final.status, engine.read_log(run_id)[0]) == ("succeeded", b"values-ok\nprinted: ***\n")
    for path in vessl_home.rglob("*"):
        if path.is_file() and not path.is_symlink():
            seen[str(path.relative_to(vessl_home))] = path.read_bytes()
    for shown in (cli("ps", "--all", "--json"), cli("show", run_id), cli("logs", run_id, "-p")):
        seen[" ".join(shown.args[3:])] = shown.stdout.encode() + shown.stderr.encode()
    for where, data in seen.items():
        report.tried += 1
        found = leaks(data)
        if found:
            report.lost += 1  # a secret escaped
            report.notes.append(f"{where}: {found}")
    folder = vessl_home / "runs" / run_id
    report.failed += stat.S_IMODE(folder.stat().st_mode) != 0o700
    report.assert_clean()
    stored = engine.store.run(run_id, with_spec=True)["spec_json"]
    assert stored.count("'********'") == len(STYLES)  # each value blanked as a node: still YAML


async def test_tui_screens_and_the_reproduce_editor_show_no_secret(tmp_path, fault):
    from core.serve.actions import ServeActions
    from tui.app import VesslApp
    from tui.screens.spec_modal import EditSpecModal

    report = fault("secrets grep (TUI screens)")
    spec_file = tmp_path / "secretive.yaml"
    text = spec_text("echo hi") + "ports:\n  - name: http\n    type: http\n    port: 8000\nservice:\n  expose: 8000\n"
    spec_file.write_text(text)
    ServeActions().create(str(spec_file))
    app = VesslApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        await pilot.pause(0.5)
        for _ in range(40):
            if getattr(app.screen, "snapshot", None):
                break
            await pilot.pause(0.1)
        await pilot.press("p")
        for _ in range(40):
            if isinstance(app.screen, EditSpecModal):
                break
            await pilot.pause(0.1)
        assert isinstance(app.screen, EditSpecModal)
        shown = app.screen.query_one("#reproduce-text").text
        report.tried += 1
        if leaks(shown.encode()) or shown.count("'********'") != len(STYLES):
            report.lost += 1
            report.notes.append(shown)
        screen_text = app.export_screenshot()
        report.tried += 1
        if leaks(screen_text.encode()):
            report.lost += 1
    report.assert_clean()
