"""What each source URI means (pure logic: no server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.backends.base import BackendError
from core.data import registry, sources


@pytest.mark.parametrize(
    ("uri", "kind", "location"),
    [
        ("git://github.com/org/repo", "git", "https://github.com/org/repo"),
        ("git:///srv/repo", "git", "/srv/repo"),
        ("git+ssh://git@host/org/repo.git", "git", "ssh://git@host/org/repo.git"),
        ("https://github.com/org/repo.git", "git", "https://github.com/org/repo.git"),
        ("file:///srv/data", "local", "/srv/data"),
        ("hostpath:///srv/data", "local", "/srv/data"),
        ("data/x", "local", "/spec/data/x"),
        ("s3://bucket/prefix", "object", "s3://bucket/prefix"),
        ("gs://bucket/p", "object", "gs://bucket/p"),
        ("hf://huggingface.co/datasets/org/name", "object", "hf://datasets/org/name"),
        ("vessl-model://me/mnist/3", "registry", "me/mnist/3"),
        ("nfs://10.0.0.5/exports/shared", "nfs", "10.0.0.5:/exports/shared"),
        ("volume://storage/v", "volume", "storage/v"),
        ("cifs://", "other", ""),
    ],
)
def test_each_source_kind(uri: str, kind: str, location: str) -> None:
    source = sources.parse(uri, base=Path("/spec"))
    assert (source.kind, source.location) == (kind, location)


def test_an_hf_revision_goes_after_the_repository() -> None:
    assert sources.parse("hf://org/model", ref="v1").location == "hf://org/model@v1"
    assert sources.parse("hf://datasets/org/d", ref="main").location == "hf://datasets/org/d@main"


def test_registry_names_and_versions() -> None:
    assert registry.parse("vessl-model://me/mnist") == ("model", "me/mnist", None)
    assert registry.parse("vessl-model://me/mnist/7") == ("model", "me/mnist", 7)
    assert registry.parse("vessl-dataset://org/d") == ("dataset", "org/d", None)
    assert registry.parse("vessl-artifact://") == ("artifact", None, None)
    assert registry.parse("vessl-artifact://o/p/n/2") == ("artifact", "o/p/n", 2)
    with pytest.raises(BackendError, match=r"`vessl-model://me` does not name a model: use vessl-model://org/repo"):
        registry.parse("vessl-model://me")
