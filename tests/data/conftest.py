from __future__ import annotations

from tests.engine.conftest import engine  # noqa: F401
from tests.fixtures.s3 import s3, s3_server  # noqa: F401
