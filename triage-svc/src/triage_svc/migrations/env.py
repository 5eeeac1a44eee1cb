"""Alembic environment of triage-svc."""

from bancheng_shared.migrate import run_env
from triage_svc.adapters.tables import metadata

run_env(metadata)
