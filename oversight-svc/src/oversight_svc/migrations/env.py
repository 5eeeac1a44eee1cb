"""Alembic environment of oversight-svc."""

from bancheng_shared.migrate import run_env
from oversight_svc.adapters.tables import metadata

run_env(metadata)
