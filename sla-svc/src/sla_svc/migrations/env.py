"""Alembic environment of sla-svc."""

from bancheng_shared.migrate import run_env
from sla_svc.adapters.tables import metadata

run_env(metadata)
