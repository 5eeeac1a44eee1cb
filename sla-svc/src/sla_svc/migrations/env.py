"""Alembic environment of sla-svc."""

from bancheng_shared.migrate import run_env
from sla_svc.store import metadata

run_env(metadata)
