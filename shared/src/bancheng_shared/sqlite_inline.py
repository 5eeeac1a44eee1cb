"""An aiosqlite-shaped driver that runs sqlite3 calls on the event loop's own thread.

aiosqlite hands every statement to a worker thread and back. On a busy two-core machine each hop waits for
the scheduler and the GIL: measured here, 1.5 ms per small transaction through SQLAlchemy + aiosqlite against
0.03 ms with sqlite3 directly. SQLite statements on a local WAL file take microseconds, so running them inline
costs the loop less than the hops do. SQLAlchemy's own aiosqlite dialect is used unchanged, with this module
in aiosqlite's place (see db.make_engine). Long analytical queries do block the loop while they run; a service
that has them can turn this off (`sqlite_inline=False`).

SQLite's own busy handler sleeps in the calling thread. Inline, that thread is the event loop's, so a second
connection in the same process (another replica's engine in a test, a CLI command sharing the loop) would
sleep holding the loop while the connection it waits for can never finish: the wait ends in "database is
locked". Here the busy handler is off (`busy_timeout=0`, set by db.make_engine) and a statement refused with
SQLITE_BUSY is retried after an asyncio sleep, so the holder runs meanwhile; `timeout` (seconds, as for
sqlite3.connect) bounds the wait.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Generator, Iterable
from sqlite3 import (  # noqa: F401 - the DBAPI names SQLAlchemy copies from the driver module
    DatabaseError,
    Error,
    IntegrityError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    sqlite_version,
    sqlite_version_info,
)
from typing import Any, TypeVar

T = TypeVar("T")
_FIRST_PAUSE_S = 0.0005
_LONGEST_PAUSE_S = 0.05


def is_busy(exc: BaseException) -> bool:
    """True for SQLITE_BUSY from sqlite3, or from SQLAlchemy wrapping it (another connection holds the lock)."""
    orig = getattr(exc, "orig", exc)
    return isinstance(orig, sqlite3.OperationalError) and getattr(orig, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY


async def patiently(timeout_s: float, call: Any, *args: Any) -> Any:
    """Run a call; while the database is busy, yield to the loop and try again (up to timeout_s)."""
    try:
        return call(*args)
    except Exception as exc:
        if not is_busy(exc):
            raise
    loop = asyncio.get_running_loop()
    give_up = loop.time() + timeout_s
    pause = _FIRST_PAUSE_S
    while True:
        await asyncio.sleep(pause)
        try:
            return call(*args)
        except Exception as exc:
            if not is_busy(exc) or loop.time() >= give_up:
                raise
        pause = min(pause * 2, _LONGEST_PAUSE_S)


class Cursor:
    """aiosqlite.Cursor, inline."""

    def __init__(self, cursor: sqlite3.Cursor, timeout_s: float = 30.0) -> None:
        self._cursor = cursor
        self._timeout_s = timeout_s

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Any = ()) -> Cursor:
        await patiently(self._timeout_s, self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> Cursor:
        # a generator of rows could not be replayed after a busy refusal
        rows = parameters if isinstance(parameters, list | tuple) else list(parameters)
        await patiently(self._timeout_s, self._cursor.executemany, sql, rows)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _InlineQueue:
    """Stands in for aiosqlite's request queue, which SQLAlchemy uses to set the isolation level."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Any]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:
            future.set_exception(exc)


class _NoThread:
    daemon = True


class Connection:
    """aiosqlite.Connection, inline: awaiting it opens the sqlite3 connection."""

    def __init__(self, database: str, kwargs: dict[str, Any]) -> None:
        self._database = database
        # the wait for a busy database happens here, on the loop, not in sqlite3's sleeping busy handler
        self._timeout_s = float(kwargs.pop("timeout", 30.0))
        self._kwargs = kwargs
        self._connection: sqlite3.Connection | None = None
        self._tx = _InlineQueue()
        self._thread = _NoThread()

    def __await__(self) -> Generator[Any, None, Connection]:
        return self._open().__await__()

    async def _open(self) -> Connection:
        self._connection = sqlite3.connect(self._database, **{"check_same_thread": False, **self._kwargs,
                                                               "timeout": 0})
        return self

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._conn.isolation_level = value  # type: ignore[assignment]

    def cursor(self) -> Cursor:
        return Cursor(self._conn.cursor(), self._timeout_s)

    async def execute(self, sql: str, parameters: Any = ()) -> Cursor:
        return await Cursor(self._conn.cursor(), self._timeout_s).execute(sql, parameters)

    async def commit(self) -> None:
        await patiently(self._timeout_s, self._conn.commit)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def stop(self) -> None:
        """Close at once (SQLAlchemy's terminate)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def connect(database: str, **kwargs: Any) -> Connection:
    """Like aiosqlite.connect: returns an awaitable connection."""
    kwargs.pop("loop", None)
    kwargs.pop("iter_chunk_size", None)
    return Connection(database, kwargs)
