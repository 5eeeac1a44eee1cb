"""The sessions' table: replicas share it, a restart keeps it, the id is stored hashed and the key encrypted, idle
and absolute expiry end a session, sign-out deletes it (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bancheng_console.session import SESSIONS, Identity, Sessions, engine_for, secret_for
from bancheng_services.testing import Databases

from .conftest import sessions_database

KEY = "demo-unit-key-that-must-not-be-stored"


async def test_two_replicas_share_sessions_and_keep_no_key_in_clear(databases: Databases) -> None:
    url = await sessions_database(databases)
    a, b = (Sessions(engine_for(url), "shared-secret", 3600, 7200) for _ in range(2))
    try:
        await a.create_table()
        await b.create_table()  # the second replica finds the table there
        who = Identity(role="unit", unit="339901-market_regulation", name="城关市场监管所", credential=KEY,
                       unit_name="城关市场监管所")
        started, cookie = await a.start(who)
        found = await b.find(cookie)  # the other replica (or this one after a restart) knows it
        assert found is not None and found.identity == who and found.csrf == started.csrf
        async with a.engine.connect() as conn:
            rows = (await conn.execute(select(SESSIONS))).all()
        assert len(rows) == 1
        stored = " ".join(str(v) for v in rows[0])
        assert KEY not in stored and started.sid not in stored  # the key encrypted, the id hashed
        # another secret cannot use the row, nor forge a cookie
        other = Sessions(a.engine, "another-secret", 3600, 7200)
        assert await other.find(cookie) is None and await other.find(other.sign(started.sid)) is None
        assert await b.find(cookie + "x") is None
        # idle too long: gone
        async with a.engine.begin() as conn:
            await conn.execute(update(SESSIONS).values(seen=time.time() - 4000))
        assert await b.find(cookie) is None
        # signed out: the row is deleted
        _s, cookie2 = await a.start(who)
        s2 = await b.find(cookie2)
        assert s2 is not None
        await b.end(s2)
        assert await a.find(cookie2) is None
        async with a.engine.connect() as conn:
            assert (await conn.execute(select(SESSIONS))).all() == []
        # past the absolute limit, however active
        _s, cookie3 = await a.start(who)
        async with a.engine.begin() as conn:
            await conn.execute(update(SESSIONS).values(created=time.time() - 7300, seen=time.time()))
        assert await b.find(cookie3) is None
    finally:
        await a.engine.dispose()
        await b.engine.dispose()


def test_the_secret_is_kept_beside_a_sqlite_file_and_required_for_a_shared_database(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'console.db'}"
    made = secret_for(url, "")
    assert made and secret_for(url, "") == made  # a restart finds the same one
    assert (tmp_path / "data" / "console.secret").stat().st_mode & 0o077 == 0
    assert secret_for(url, "configured") == "configured"
    with pytest.raises(RuntimeError, match="CONSOLE_SESSION_SECRET"):
        secret_for("postgresql+asyncpg://console@db/console", "")
