from __future__ import annotations

import pytest

from core.engine import Engine


@pytest.fixture
def engine(vessl_home):
    eng = Engine()
    yield eng
    for record in eng.list_runs(include_finished=False):  # leave no process behind
        try:
            eng.stop(record.id)
            eng.wait(record.id, timeout=20)
        except Exception:
            pass
