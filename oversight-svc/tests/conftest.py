"""oversight tests: make the helper module importable (the repo runs pytest in importlib mode)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
