"""The inline SQLite driver waits for a busy database on the event loop, not in SQLite's sleeping handler."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from bancheng_shared.db import make_engine


async def _ticker(ticks: list[None]) -> None:
    # counts turns of the event loop: a loop frozen by a sleeping busy handler would not count
    while True:
        ticks.append(None)
        await asyncio.sleep(0.01)


async def test_second_engine_waits_for_the_writer_without_blocking_the_loop(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    one, two = make_engine(url), make_engine(url)
    try:
        async with one.begin() as c:
            await c.execute(text("CREATE TABLE t (v INTEGER)"))
        writer_has_lock = asyncio.Event()

        async def hold_the_write_lock() -> None:
            async with one.begin() as c:
                await c.execute(text("INSERT INTO t VALUES (1)"))
                writer_has_lock.set()
                await asyncio.sleep(0.5)  # the writer is suspended mid-transaction, as a handler awaiting I/O is

        async def write_too() -> float:
            await writer_has_lock.wait()
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            async with two.begin() as c:  # BEGIN IMMEDIATE: busy until the first commits
                await c.execute(text("INSERT INTO t VALUES (2)"))
            return loop.time() - t0

        ticks: list[None] = []
        tick = asyncio.create_task(_ticker(ticks))
        _, waited = await asyncio.gather(hold_the_write_lock(), write_too())
        tick.cancel()
        # the loop went on while the second writer waited (SQLite's own handler would have frozen it)
        assert waited >= 0.3
        assert len(ticks) >= 20
        async with two.connect() as c:
            assert sorted((await c.execute(text("SELECT v FROM t"))).scalars().all()) == [1, 2]
    finally:
        await one.dispose()
        await two.dispose()


async def test_a_busy_database_is_refused_after_the_timeout(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    one = make_engine(url)
    impatient = make_engine(url, connect_args={"timeout": 0.2})
    try:
        async with one.begin() as c:
            await c.execute(text("CREATE TABLE t (v INTEGER)"))
            with pytest.raises(OperationalError, match="locked"):
                async with impatient.begin() as c2:
                    await c2.execute(text("INSERT INTO t VALUES (2)"))
    finally:
        await one.dispose()
        await impatient.dispose()


async def test_sessions_on_sqlite_are_inline_and_behave_as_async_sessions(tmp_path: Path) -> None:
    from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

    from bancheng_shared.db import make_sessionmaker
    from bancheng_shared.sqlite_session import InlineSession

    md = MetaData()
    t = Table("t", md, Column("id", Integer, primary_key=True), Column("v", String))
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    sm = make_sessionmaker(engine)
    try:
        async with engine.begin() as c:
            await c.run_sync(md.create_all)
        async with sm() as s:
            assert isinstance(s, InlineSession)
            assert s.bind.dialect.name == "sqlite"
        # a failed transaction leaves nothing; a failed savepoint only undoes itself
        with pytest.raises(ValueError):
            async with sm() as s, s.begin():
                await s.execute(insert(t), {"id": 1, "v": "lost"})
                raise ValueError("boom")
        async with sm() as s, s.begin():
            await s.execute(insert(t), {"id": 2, "v": "kept"})
            with pytest.raises(ValueError):
                async with s.begin_nested():
                    await s.execute(insert(t), {"id": 3, "v": "undone"})
                    raise ValueError("boom")
        # results are read in full: usable after the session is gone
        async with sm() as s:
            result = await s.execute(select(t.c.id, t.c.v).order_by(t.c.id))
        assert [tuple(r) for r in result.all()] == [(2, "kept")]
        async with sm() as s:
            assert await s.run_sync(lambda ss: ss.execute(select(t.c.v)).scalar_one()) == "kept"

        # sessions of concurrent tasks take the one connection in turn; the loop goes on meanwhile
        order: list[str] = []

        async def writer(name: str, hold_s: float) -> None:
            async with sm() as s, s.begin():
                await s.execute(insert(t), {"v": name})
                order.append(f"{name} in")
                await asyncio.sleep(hold_s)
                order.append(f"{name} out")

        await asyncio.gather(writer("a", 0.2), writer("b", 0.0), writer("c", 0.0))
        assert order == ["a in", "a out", "b in", "b out", "c in", "c out"]
        async with sm() as s:
            assert (await s.execute(select(t.c.v).where(t.c.id > 2).order_by(t.c.id))).scalars().all() == [
                "a", "b", "c"]
    finally:
        await engine.dispose()


async def test_a_session_waits_on_the_loop_for_another_engines_writer(tmp_path: Path) -> None:
    from bancheng_shared.db import make_sessionmaker

    url = f"sqlite+aiosqlite:///{tmp_path / 'two.db'}"
    one, two = make_engine(url), make_engine(url)
    try:
        async with one.begin() as c:
            await c.execute(text("CREATE TABLE t (v INTEGER)"))
        sm_one, sm_two = make_sessionmaker(one), make_sessionmaker(two)
        has_lock = asyncio.Event()

        async def hold() -> None:
            async with sm_one() as s, s.begin():
                await s.execute(text("INSERT INTO t VALUES (1)"))
                has_lock.set()
                await asyncio.sleep(0.4)

        async def second() -> None:
            await has_lock.wait()
            async with sm_two() as s, s.begin():
                await s.execute(text("INSERT INTO t VALUES (2)"))

        ticks: list[None] = []
        tick = asyncio.create_task(_ticker(ticks))
        await asyncio.gather(hold(), second())
        tick.cancel()
        assert len(ticks) >= 20
        async with sm_two() as s:
            assert sorted((await s.execute(text("SELECT v FROM t"))).scalars().all()) == [1, 2]
    finally:
        await one.dispose()
        await two.dispose()


def test_buffered_cursors_leave_no_statement_half_read(tmp_path: Path) -> None:
    import sqlite3

    from bancheng_shared.sqlite_session import BufferedConnection

    con = sqlite3.connect(tmp_path / "b.db", factory=BufferedConnection, isolation_level=None)
    con.execute("CREATE TABLE t (v INTEGER)")
    con.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(100)])
    cur = con.cursor()
    cur.execute("SELECT v FROM t ORDER BY v")
    assert cur.fetchone() == (0,)
    # a plain cursor's unfinished SELECT would make this fail with "database table is locked"
    con.execute("DROP TABLE t")
    assert cur.fetchmany(2) == [(1,), (2,)] and len(cur.fetchall()) == 97 and cur.fetchone() is None
    con.close()
