from tests.engine.conftest import engine  # noqa: F401  (the same engine fixture)
