"""oversight-svc tables: per-unit daily rollups, and the plumbing tables."""

from typing import Any

from sqlalchemy import Column, Date, Integer, MetaData, String, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.plumbing import plumbing_tables

metadata = MetaData()
plumbing = plumbing_tables(metadata)

unit_day_counts = Table(
    "unit_day_counts",
    metadata,
    Column("unit", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("metric", String(40), primary_key=True),
    Column("n", Integer, nullable=False),
)


async def increment(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Add to rollup counters (rows of unit, day, metric, n), creating them as needed."""
    if not rows:
        return
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    ins: Any = pg_insert(unit_day_counts) if dialect == "postgresql" else sqlite_insert(unit_day_counts)
    stmt = ins.on_conflict_do_update(
        index_elements=["unit", "day", "metric"], set_={"n": unit_day_counts.c.n + ins.excluded.n}
    )
    await session.execute(stmt, rows)
