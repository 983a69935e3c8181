"""The config's `credentials:` section: registry logins for private images, never shown in clear."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import ConfigError, load_config


def test_credentials_load_and_the_password_never_shows(config_file: Path) -> None:
    config_file.write_text("credentials:\n  ghcr: {registry: ghcr.io, username: me, password: ghp_s3cr3t}\n")
    config = load_config()
    credential = config.credential("ghcr")
    assert (credential.registry, credential.username, credential.password.get_secret_value()) == (
        "ghcr.io", "me", "ghp_s3cr3t")
    shown = repr(config) + repr(credential) + str(credential) + credential.model_dump_json()
    assert "ghp_s3cr3t" not in shown and "**********" in shown
    assert config.credential("other") is None


def test_bad_credential_entries_are_reported_where_they_are(config_file: Path) -> None:
    config_file.write_text(
        "credentials:\n"
        "  lab: \"alice:pw\"\n"
        "  hub: {username: me, token: x}\n")
    with pytest.raises(ConfigError) as err:
        load_config()
    lines = str(err.value).splitlines()
    assert lines[0] == f"{config_file}:2:8: error: credentials.lab: expected a mapping"
    assert any(line.startswith(f"{config_file}:3:") and "credentials.hub.password: Field required" in line
               for line in lines), lines
    assert any("credentials.hub.token: unknown field; expected one of registry, username, password" in line
               for line in lines), lines
    assert "alice:pw" not in str(err.value)
