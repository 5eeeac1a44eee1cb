"""sla tests: make the helper module importable (the repo runs pytest in importlib mode)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


import pytest

from bancheng_services.testing import Databases


@pytest.fixture
def sqlite_databases(tmp_path: Path) -> Databases:
    """Fresh SQLite databases only, for tests where the backend does not matter (reads, validation)."""
    return Databases("sqlite", tmp_path, [])
