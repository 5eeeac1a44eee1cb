"""The PostgreSQL pool: a connection idle for a while is pinged at checkout and replaced when its server side is gone
(no pre-ping on every checkout: three round trips each on asyncpg)."""

from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy import text

from bancheng_services.testing import postgres_base_url
from bancheng_shared import db


async def test_a_pooled_connection_whose_server_side_died_is_replaced_after_idling(
        monkeypatch: pytest.MonkeyPatch) -> None:
    base = postgres_base_url()
    if base is None:
        if os.environ.get("BANCHENG_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required (BANCHENG_REQUIRE_POSTGRES) but unreachable")
        pytest.skip("PostgreSQL unreachable")
    monkeypatch.setattr(db, "PING_IDLE_S", 0.3)
    engine = db.make_engine(base, pool_size=1, max_overflow=0)
    admin = db.make_engine(base)
    try:
        async with engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar()
        async with admin.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await asyncio.sleep(0.5)
        async with engine.connect() as conn:  # pinged, found dead, connected anew: no error reaches the caller
            assert (await conn.execute(text("SELECT pg_backend_pid()"))).scalar() != pid
    finally:
        await engine.dispose()
        await admin.dispose()
