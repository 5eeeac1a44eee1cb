"""The inline SQLite driver waits for a busy database on the event loop, not in SQLite's sleeping handler."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from bancheng_shared.db import make_engine


async def test_second_engine_waits_for_the_writer_without_blocking_the_loop(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    one, two = make_engine(url), make_engine(url)
    try:
        async with one.begin() as c:
            await c.execute(text("CREATE TABLE t (v INTEGER)"))
        ticks = 0
        writer_has_lock = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

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

        tick = asyncio.create_task(ticker())
        _, waited = await asyncio.gather(hold_the_write_lock(), write_too())
        tick.cancel()
        # the loop went on while the second writer waited (SQLite's own handler would have frozen it)
        assert waited >= 0.3
        assert ticks >= 20
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
