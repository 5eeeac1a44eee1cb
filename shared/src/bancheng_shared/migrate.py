"""Alembic per service: a shared env runner and a programmatic upgrade."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from bancheng_shared.db import make_engine


def alembic_config(script_location: str, url: str) -> Config:
    """Config for a service's migrations (script_location like 'intake_svc:migrations')."""
    cfg = Config()
    cfg.set_main_option("script_location", script_location)
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(script_location: str, url: str) -> None:
    """Bring a service database to the newest migration (blocking; call outside a running loop)."""
    command.upgrade(alembic_config(script_location, url), "head")


async def upgrade_async(script_location: str, url: str) -> None:
    """Upgrade from async code (runs alembic in a worker thread with its own loop)."""
    await asyncio.to_thread(upgrade, script_location, url)


def run_env(metadata: MetaData) -> None:
    """The body of every service's migrations/env.py."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"

    # tables and indexes a migration makes by hand and the metadata does not describe (an FTS5 table and its shadow
    # tables, a GIN index of one dialect): autogenerate leaves them alone instead of proposing to drop them
    unmanaged = tuple(metadata.info.get("unmanaged_prefixes", ()))

    def include_name(name: str | None, type_: str, _parents: Any) -> bool:
        return not (type_ in ("table", "index") and name is not None and unmanaged and name.startswith(unmanaged))

    def do_run(conn: Connection) -> None:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True,
                          compare_type=True, include_name=include_name)
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = make_engine(url)
        async with engine.connect() as conn:
            await conn.run_sync(do_run)
            await conn.commit()
        await engine.dispose()

    asyncio.run(main())
