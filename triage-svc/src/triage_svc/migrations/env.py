"""Alembic environment of triage-svc."""

from bancheng_shared.migrate import run_env
from triage_svc.store import metadata

run_env(metadata)
