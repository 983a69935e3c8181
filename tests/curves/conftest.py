from tests.engine.conftest import engine  # noqa: F401  (the same engine fixture)
from tests.tui.conftest import write_spec  # noqa: F401
