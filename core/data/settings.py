"""The config file's `storage:` section: where object stores and the registry are, and how to log in.

```yaml
storage:
  s3: {endpoint_url: http://127.0.0.1:9000, region: us-east-1, access_key_id: …, secret_access_key: …}
  gs: {endpoint_url: …, token: /path/service-account.json}   # or GOOGLE_APPLICATION_CREDENTIALS
  hf: {endpoint: https://huggingface.co, token: hf_…}         # or HF_TOKEN
  registry: s3://team-bucket/vessl-registry                   # default: VESSL_TUI_HOME/registry
```

Without keys, the usual places apply (AWS env/profile, GOOGLE_APPLICATION_CREDENTIALS, HF_TOKEN).
A volume's `credential_name` names a config secret instead: `KEY_ID:SECRET_KEY` for s3://, the
token for hf://, a service-account file for gs://. Keys are SecretStr: never in a repr or a log.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class S3Settings(_Section):
    endpoint_url: str | None = Field(None, description="S3-compatible endpoint (MinIO, Ceph, moto…).")
    region: str | None = None
    profile: str | None = Field(None, description="AWS profile of ~/.aws/config.")
    access_key_id: SecretStr | None = None
    secret_access_key: SecretStr | None = None


class GsSettings(_Section):
    endpoint_url: str | None = None
    project: str | None = None
    token: str | None = Field(None, description="Service-account JSON file, or `anon` for public buckets.")


class HfSettings(_Section):
    endpoint: str | None = Field(None, description="Hub URL (default HF_ENDPOINT or huggingface.co).")
    token: SecretStr | None = None


class StorageSettings(_Section):
    s3: S3Settings = Field(default_factory=S3Settings)
    gs: GsSettings = Field(default_factory=GsSettings)
    hf: HfSettings = Field(default_factory=HfSettings)
    registry: str | None = Field(None, description="Registry storage: a folder or s3://bucket/prefix.")


def current() -> StorageSettings:
    """The `storage:` section of the config file in effect (VESSL_TUI_CONFIG)."""
    from core.config import load_config

    return load_config().storage
