"""Writes as prebuilt statements with their parameters, run together.

Statements are built once and executed with parameter dicts: building a select or update with its clauses
costs more than executing it (measured ≈ 280 µs built anew against ≈ 110 µs prebuilt). An `Op` is a statement
with its parameters; `run` executes several of them in one switch to the sync session.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bancheng_shared.db import upsert_statement
from bancheng_shared.sqlite_session import InlineSession

Op = tuple[Any, dict[str, Any] | list[dict[str, Any]]]  # a prebuilt statement and its parameters (list: many)


def _execute_ops(sync_session: Session, ops: list[Op]) -> None:
    conn = sync_session.connection()  # Core statements: the ORM session's per-statement machinery is not needed
    for stmt, params in ops:
        conn.execute(stmt, params)


async def run(session: AsyncSession, ops: list[Op | None]) -> None:
    """Execute statements in order (None: nothing to do), all in one switch to the sync session."""
    todo = [op for op in ops if op is not None]
    if not todo:
        return
    if isinstance(session, InlineSession):
        # inline SQLite runs each statement on the loop's thread with no greenlet switch: executed one by one they
        # skip the sync Session run_sync builds per call (≈ 30 µs; measured 0.69 → 0.57 ms per ticket in the replay)
        for stmt, params in todo:
            await session.execute(stmt, params)
        return
    # on PostgreSQL each awaited session.execute costs ≈ 50 µs of greenlet and async-result overhead on top of
    # the statement; writes need no results, so an event's writes go together
    await session.run_sync(_execute_ops, todo)


def upsert_op(session: AsyncSession, table: Table, keys: list[str], rows: dict[str, Any] | list[dict[str, Any]],
              update: list[str] | None = None) -> Op | None:
    """Insert a row (or rows of the same columns), or update the given columns (default: all non-key columns
    given) where it exists; None for no rows."""
    if not rows:
        return None
    first = rows[0] if isinstance(rows, list) else rows
    cols = update if update is not None else [k for k in first if k not in keys]
    return upsert_statement(session, table, keys, cols), rows


async def upsert(session: AsyncSession, table: Table, keys: list[str], row: dict[str, Any],
                 update: list[str] | None = None) -> None:
    """Insert a row, or update the given columns (default: all non-key columns given) when it exists."""
    await run(session, [upsert_op(session, table, keys, row, update)])
