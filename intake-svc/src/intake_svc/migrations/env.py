"""Alembic environment of intake-svc."""

from bancheng_shared.migrate import run_env
from intake_svc.adapters.tables import metadata

run_env(metadata)
