"""Alembic environment of intake-svc."""

from bancheng_shared.migrate import run_env
from intake_svc.store import metadata

run_env(metadata)
