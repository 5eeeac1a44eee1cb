"""Async SQLAlchemy helpers that behave the same on SQLite (file, WAL) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import ARRAY, Engine, String, bindparam, event, func, insert, select, true, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from bancheng_shared import pg_unnest


def is_sqlite(url: str) -> bool:
    """True for a SQLite URL."""
    return make_url(url).get_backend_name() == "sqlite"


def is_postgres(bound: AsyncSession | AsyncEngine | None) -> bool:
    """True when a session's (or an engine's) database is PostgreSQL: the one place dialects are told apart."""
    engine = bound.bind if isinstance(bound, AsyncSession) else bound
    return engine is not None and engine.dialect.name == "postgresql"


def _json_dumps(value: Any) -> str:
    # orjson: several times faster than json.dumps for the JSON columns (outbox headers, payload copies);
    # non-string keys become strings as json.dumps makes them
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def make_engine(url: str, *, sqlite_inline: bool = True, **kw: Any) -> AsyncEngine:
    """An engine with the right pragmas for SQLite and a sized pool for PostgreSQL.

    On SQLite, `sqlite_inline` runs statements on the event loop's thread (bancheng_shared.sqlite_inline)
    instead of aiosqlite's worker thread.
    """
    u = make_url(url)
    kw.setdefault("json_serializer", _json_dumps)
    kw.setdefault("json_deserializer", orjson.loads)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        # One connection per process: SQLite has one writer at a time, and waiting for the pool is an
        # asyncio wait, while waiting on SQLite's busy handler is a sleep-and-retry loop in a thread
        # (measured: 20 accepts/s with 15 pooled connections under load).
        kw.setdefault("pool_size", 1)
        kw.setdefault("max_overflow", 0)
        kw.setdefault("pool_timeout", 120)
        if sqlite_inline:
            import sqlite3

            from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi

            from bancheng_shared import sqlite_inline as inline_driver

            kw.setdefault("module", AsyncAdapt_aiosqlite_dbapi(inline_driver, sqlite3))
        connect_args = {"timeout": 30, **kw.pop("connect_args", {})}
        engine = create_async_engine(url, connect_args=connect_args, **kw)
        # inline, a busy database is waited for on the loop by the driver (see sqlite_inline), not by SQLite
        _sqlite_pragmas(engine.sync_engine, busy_timeout_ms=0 if sqlite_inline else 30000)
        if sqlite_inline:
            # the sessions' engine: synchronous SQLAlchemy on one connection (see sqlite_session)
            from sqlalchemy import create_engine
            from sqlalchemy.pool import StaticPool

            from bancheng_shared import sqlite_session

            sync = create_engine(u.set(drivername="sqlite"), poolclass=StaticPool,
                                 connect_args={"timeout": 0, "check_same_thread": False,
                                               "factory": sqlite_session.BufferedConnection},
                                 json_serializer=kw["json_serializer"], json_deserializer=kw["json_deserializer"])
            _sqlite_pragmas(sync, busy_timeout_ms=0)
            sqlite_session.attach(engine, sync, float(connect_args["timeout"]))
        return engine
    kw.setdefault("pool_size", 10)
    kw.setdefault("max_overflow", 10)
    # asyncpg's pre-ping is three round trips (BEGIN, a query, ROLLBACK) on every checkout: a quarter of an accept
    # group's; a connection back in the pool for less than `PING_IDLE_S` is not asked again (see _ping_when_idle)
    kw.setdefault("pool_pre_ping", False)
    # asyncpg prepares every statement (a Parse round trip) and keeps 100 per connection by default: a service's
    # statements (with the shapes of its multi-row inserts) are more, and a statement pushed out is prepared again
    connect_args = dict(kw.pop("connect_args", {}))
    if "prepared_statement_cache_size" not in u.query:  # a URL's own setting wins
        connect_args.setdefault("prepared_statement_cache_size", 500)
    engine = create_async_engine(url, connect_args=connect_args, **kw)
    pg_unnest.install(engine.sync_engine)
    if not kw["pool_pre_ping"]:
        _ping_when_idle(engine.sync_engine)
    return engine


PING_IDLE_S = 5.0


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection at checkout only when it sat idle for PING_IDLE_S or more (a server restart or an
    idle timeout shows there); a dead one is replaced (DisconnectionError makes the pool connect anew)."""

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn: Any, rec: Any) -> None:
        rec.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, rec: Any, _proxy: Any) -> None:
        back = rec.info.get("checked_in")
        if back is None or time.monotonic() - back < PING_IDLE_S:
            return  # new, or in use moments ago
        try:
            dbapi_conn.ping()
        except Exception as exc:
            raise DisconnectionError("pooled connection is gone") from exc


def _sqlite_pragmas(engine: Engine, busy_timeout_ms: int) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT and defers locks; take it over so that
    # nested transactions work and writers take the write lock at BEGIN (no deadlocked upgrades).
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _rec: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def insert_for(session: AsyncSession, table: Any) -> Any:
    """The dialect's INSERT (with ON CONFLICT support) for a table, on SQLite or PostgreSQL."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return pg_insert(table) if dialect == "postgresql" else sqlite_insert(table)


_UPSERTS: dict[tuple[Any, ...], Any] = {}


def upsert_statement(session: AsyncSession, table: Any, keys: Sequence[str], update: Sequence[str] = (),
                     add: bool = False) -> Any:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET col = excluded.col (col + excluded.col with `add`).

    No `update` columns → DO NOTHING. Built once per shape and dialect; execute it with the row (or rows) as
    parameters, so no clause objects are built per call (the excluded alias alone was most of the cost).
    """
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    cache_key = (dialect, table, tuple(keys), tuple(update), add)
    stmt = _UPSERTS.get(cache_key)
    if stmt is None:
        ins = insert_for(session, table)
        if not update:
            stmt = ins.on_conflict_do_nothing(index_elements=list(keys))
        else:
            stmt = ins.on_conflict_do_update(index_elements=list(keys), set_={
                c: (table.c[c] + ins.excluded[c]) if add else ins.excluded[c] for c in update})
        _UPSERTS[cache_key] = stmt
    return stmt


_UPDATES: dict[tuple[Any, ...], Any] = {}


def update_statement(table: Any, columns: Sequence[str], keys: Sequence[str]) -> Any:
    """UPDATE table SET col = :col … WHERE key = :k_key … (AND for several keys), built once per shape.

    Execute it with the new values and a `k_<key>` parameter per key column (one dict, or a list of them).
    """
    cache_key = (table, tuple(columns), tuple(keys))
    stmt = _UPDATES.get(cache_key)
    if stmt is None:
        stmt = _UPDATES[cache_key] = (
            update(table).where(*(table.c[k] == bindparam(f"k_{k}") for k in keys))
            .values({c: bindparam(c, type_=table.c[c].type) for c in columns}))
    return stmt


def _shapes(rows: Sequence[dict[str, Any]]) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        shapes.setdefault(tuple(row), []).append(row)
    return shapes


async def insert_rows(session: AsyncSession, stmt: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Execute an INSERT for many rows: one multi-row execution per set of columns (rows leave out empty columns
    where a JSON column given None would hold JSON null, not NULL)."""
    for same in _shapes(rows).values():
        await session.execute(stmt, same)


_INSERTS: dict[Any, Any] = {}


def insert_statement(table: Any) -> Any:
    """The plain INSERT of a table, built once (insert_together knows a statement by its identity)."""
    stmt = _INSERTS.get(table)
    if stmt is None:
        stmt = _INSERTS[table] = insert(table)
    return stmt


# (the statement's id, the columns given) -> (the statement, kept alive so its id is not reused; its form or None)
_PARTS: dict[tuple[int, tuple[str, ...]], tuple[Any, pg_unnest.Part | None]] = {}


async def insert_together(session: AsyncSession, parts: Sequence[tuple[Any, Sequence[dict[str, Any]]]]) -> None:
    """Execute prebuilt INSERTs (insert_statement, upsert_statement) of many rows each, in the session's transaction.

    On PostgreSQL they go as one statement, each table's rows unnested (pg_unnest.together): one round trip for a
    whole group's writes instead of one per table. A statement of another shape, rows that may not go as one (an
    upsert repeating a key), or a table's second set of rows go after as their own, in order (the parts of one
    statement do not see each other's rows: a second upsert of a key would fail where it now does nothing).
    Elsewhere: one statement per table and set of columns.
    """
    if not is_postgres(session):
        for stmt, rows in parts:
            await insert_rows(session, stmt, rows)
        return
    dialect = session.get_bind().dialect
    if len(_PARTS) > 1000:  # statements built per call instead of once: do not keep them all
        _PARTS.clear()
    sqls: list[str] = []
    params: list[Any] = []
    tables: set[Any] = set()
    rest: list[tuple[Any, list[dict[str, Any]]]] = []
    for stmt, rows in parts:
        for keys, same in _shapes(rows).items():
            cached = _PARTS.get((id(stmt), keys))
            if cached is None:
                cached = _PARTS[(id(stmt), keys)] = (stmt, pg_unnest.part_of(dialect, stmt, keys))
            part = cached[1]
            values = part.parameters(same) if part is not None and stmt.table not in tables else None
            if part is None or values is None:
                rest.append((stmt, same))
            else:
                tables.add(stmt.table)
                sqls.append(part.form.sql)
                params.extend(values)
    if sqls:
        conn = await session.connection()
        await conn.exec_driver_sql(pg_unnest.together(sqls), tuple(params))
    for stmt, rows in rest:
        await session.execute(stmt, rows)


def keys_found(query: Any, column: Any, name: str, postgres: bool) -> Any:
    """The values of the list parameter `name` that `query` (a select of `column`, with its joins and conditions)
    finds a row for: `column IN` the list, one statement whatever its length.

    On PostgreSQL the list is one array parameter, unnested, and each key is looked up by itself (`LATERAL …
    LIMIT 1`). The plainer `column = ANY(:list)` is planned, once prepared, for a list of ten: on a table still
    small when the statement was first run, that plan is a sequential scan, and the cached plan stays one as the
    table grows (measured: 130 ms a lookup of the inbox at 16,000 events, a third of the server's time). Each
    key's own lookup is an index lookup in any plan. (An expanding IN list is another statement per length,
    each prepared anew on every connection.)
    """
    if not postgres:
        return query.where(column.in_(bindparam(name, expanding=True))).distinct()
    keys = func.unnest(bindparam(name, type_=ARRAY(String))).table_valued("key").render_derived()
    found = query.where(column == keys.c.key).limit(1).lateral()
    return select(found.c[column.name]).select_from(keys).join(found, true()).distinct()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """A session factory that keeps objects usable after commit (on inline SQLite: InlineSession)."""
    from bancheng_shared import sqlite_session

    if sqlite_session.twin_of(engine) is not None:
        return async_sessionmaker(engine, class_=sqlite_session.InlineSession, expire_on_commit=False)
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(sm: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One session in one transaction: committed on success, rolled back on any error."""
    async with sm() as session, session.begin():
        yield session
