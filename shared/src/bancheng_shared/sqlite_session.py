"""AsyncSession's interface over SQLAlchemy's synchronous SQLite engine, run on the event loop's thread.

SQLAlchemy's asyncio layer runs each statement in a greenlet and hands every driver call back and forth
through the event loop: measured here, a prebuilt INSERT costs about 95 µs that way against 35 µs through
the synchronous engine (and 4 µs in sqlite3 itself). On SQLite the driver calls take microseconds and happen
on the loop's thread anyway (bancheng_shared.sqlite_inline), so the services' sessions on SQLite are these:
the same `await session.execute(...)`, `session.begin()`, `begin_nested()`, `info`, `run_sync()` the
services use, over one synchronous connection per engine. PostgreSQL keeps SQLAlchemy's AsyncSession.

What stays as it was:
- one connection per process, taken by one session at a time: a session waits for it on the loop (an
  asyncio lock) as it waited for the pool of one before, from its first statement to the end of its
  transaction;
- transactions begin with BEGIN IMMEDIATE; when another connection (another process, or another engine in
  this one) holds the write lock, the session waits on the loop and tries again, up to the timeout;
- results are read in full before they are returned, as AsyncSession's are.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.engine import Connection, Result, RootTransaction
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from bancheng_shared.sqlite_inline import patiently

T = TypeVar("T")


@dataclass
class _Inline:
    """The synchronous engine behind an AsyncEngine on SQLite, and the lock on its one connection."""

    engine: Engine
    timeout_s: float
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


_ENGINES: weakref.WeakKeyDictionary[AsyncEngine, _Inline] = weakref.WeakKeyDictionary()


def attach(async_engine: AsyncEngine, engine: Engine, timeout_s: float) -> None:
    """Make `engine` the synchronous twin of `async_engine` for InlineSession (closed with it, or when dropped)."""
    _ENGINES[async_engine] = _Inline(engine, timeout_s)
    weakref.finalize(async_engine, engine.dispose)


def dispose_twin(async_engine: AsyncEngine) -> None:
    """Close the twin's connection (the async engine's dispose does not know of it)."""
    inline = _ENGINES.get(async_engine)
    if inline is not None:
        inline.engine.dispose()


def twin_of(async_engine: AsyncEngine) -> Engine | None:
    """The synchronous twin of an engine, if it has one."""
    inline = _ENGINES.get(async_engine)
    return inline.engine if inline else None


class _BufferedCursor(sqlite3.Cursor):
    """A cursor that reads a statement's rows as it executes (as SQLAlchemy's asyncio adapter does).

    A result may be read after its session's transaction ended, as an AsyncSession result may; and a statement
    left half read would hold a read snapshot open on the one connection.
    """

    _rows: deque[Any] | None = None

    def execute(self, sql: str, parameters: Any = (), /) -> _BufferedCursor:  # type: ignore[override]
        super().execute(sql, parameters)
        self._rows = deque(super().fetchall()) if self.description is not None else None
        return self

    def executemany(self, sql: str, seq: Any, /) -> _BufferedCursor:  # type: ignore[override]
        super().executemany(sql, seq)
        self._rows = None
        return self

    def fetchone(self) -> Any:
        rows = self._rows
        return rows.popleft() if rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        rows = self._rows
        if not rows:
            return []
        return [rows.popleft() for _ in range(min(len(rows), size or self.arraysize))]

    def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, None
        return list(rows) if rows else []

    def __iter__(self) -> _BufferedCursor:
        return self

    def __next__(self) -> Any:
        if not self._rows:
            raise StopIteration
        return self._rows.popleft()


class BufferedConnection(sqlite3.Connection):
    """sqlite3 connection whose cursors read their rows at once (the twin engine's `factory`)."""

    def cursor(self, factory: Any = _BufferedCursor) -> Any:  # type: ignore[override]
        return super().cursor(factory)


class _Tx:
    """`async with session.begin()` / `begin_nested()`: commit on success, roll back on error."""

    def __init__(self, session: InlineSession, nested: bool) -> None:
        self.session = session
        self.nested = nested
        self._savepoint: Any = None

    async def __aenter__(self) -> _Tx:
        if self.nested:
            conn = await self.session._connection()
            self._savepoint = conn.begin_nested()
        else:
            if self.session._tx is not None:
                raise RuntimeError("a transaction is already begun on this session")
            await self.session._connection()
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self.nested:
            if et is None:
                self._savepoint.commit()
            else:
                self._savepoint.rollback()
        elif et is None:
            await self.session.commit()
        else:
            await self.session.rollback()


class InlineSession(AsyncSession):
    """An AsyncSession look-alike on SQLite: synchronous SQLAlchemy Core on the loop's thread (see module)."""

    def __init__(self, bind: AsyncEngine, **_kw: Any) -> None:  # AsyncSession.__init__ is not called: no state
        self._bind = bind
        self._inline = _ENGINES[bind]
        self._conn: Connection | None = None
        self._tx: RootTransaction | None = None
        self._info: dict[Any, Any] = {}

    @property  # type: ignore[override,misc]
    def bind(self) -> AsyncEngine:
        """The engine (its dialect tells SQLite from PostgreSQL)."""
        return self._bind

    @property
    def info(self) -> dict[Any, Any]:  # type: ignore[override]
        """A dict that lives as long as the session (as AsyncSession.info)."""
        return self._info

    async def _connection(self) -> Connection:
        if self._conn is not None:
            return self._conn
        inline = self._inline
        await inline.lock.acquire()
        try:
            self._conn = inline.engine.connect()
        except BaseException:
            inline.lock.release()
            raise
        conn = self._conn

        def begin() -> Connection:
            try:
                self._tx = conn.begin()  # BEGIN IMMEDIATE (db.make_engine)
            except OperationalError:
                conn.rollback()  # a failed BEGIN leaves the connection's state half set
                raise
            return conn

        try:
            # another connection holding the write lock is waited for on the loop (sqlite_inline.patiently)
            return await patiently(inline.timeout_s, begin)  # type: ignore[no-any-return]
        except BaseException:
            await self._release()
            raise

    async def _release(self) -> None:
        conn, self._conn, self._tx = self._conn, None, None
        if conn is not None:
            try:
                conn.close()
            finally:
                self._inline.lock.release()

    async def execute(self, statement: Any, params: Any = None, *,  # type: ignore[override]
                      execution_options: Any = None, bind_arguments: Any = None, **_kw: Any) -> Result[Any]:
        """Execute a statement in the session's transaction (begun on first use)."""
        conn = await self._connection()
        # rows are read in full as the statement runs (BufferedConnection), as AsyncSession's are: the caller may
        # keep the result past the end of the transaction
        if execution_options:
            return conn.execute(statement, params, execution_options=execution_options)
        return conn.execute(statement, params)

    async def scalar(self, statement: Any, params: Any = None, **kw: Any) -> Any:  # type: ignore[override]
        """The first column of the first row."""
        return (await self.execute(statement, params, **kw)).scalar()

    async def scalars(self, statement: Any, params: Any = None, **kw: Any) -> Any:  # type: ignore[override]
        """The first column of every row."""
        return (await self.execute(statement, params, **kw)).scalars()

    def begin(self) -> Any:  # type: ignore[override]
        """`async with session.begin():` the session's transaction, committed at the end (rolled back on error)."""
        return _Tx(self, nested=False)

    def begin_nested(self) -> Any:  # type: ignore[override]
        """`async with session.begin_nested():` a savepoint."""
        return _Tx(self, nested=True)

    def in_transaction(self) -> bool:
        """True between the first statement (or begin) and commit / rollback."""
        return self._tx is not None

    async def commit(self) -> None:
        """Commit and give the connection back."""
        if self._tx is not None:
            try:
                self._tx.commit()
            finally:
                await self._release()

    async def rollback(self) -> None:
        """Roll back and give the connection back."""
        if self._tx is not None:
            try:
                self._tx.rollback()
            finally:
                await self._release()
        elif self._conn is not None:
            await self._release()

    async def close(self) -> None:
        """Roll back what is not committed and give the connection back."""
        await self.rollback()

    async def flush(self, objects: Sequence[Any] | None = None) -> None:
        """Nothing to flush: statements run as they are executed."""

    def get_bind(self, *_a: Any, **_kw: Any) -> Any:
        """The engine (its dialect tells SQLite from PostgreSQL)."""
        return self._bind

    async def run_sync(self, fn: Callable[..., T], *arg: Any, **kw: Any) -> T:  # type: ignore[override]
        """Call fn(sync_session, ...) with a synchronous Session on the session's connection."""
        conn = await self._connection()
        with Session(bind=conn) as sync_session:
            return fn(sync_session, *arg, **kw)

    async def __aenter__(self) -> InlineSession:
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()
