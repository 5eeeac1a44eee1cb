"""The handlers' combined writes equal the one-by-one writes they replace: one rollup statement for several
units and metrics, the clock upsert that returns the round as it was. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bancheng_services.testing import Databases
from bancheng_shared.db import make_engine, make_sessionmaker, transaction
from oversight_svc.adapters.facts import get_round, set_clock, set_round_op
from oversight_svc.adapters.rollups import Rollups
from oversight_svc.adapters.tables import rollups, rounds
from oversight_svc.adapters.writes import run, upsert

D1, D2 = date(2025, 3, 31), date(2025, 4, 1)  # same year, different month and quarter
COUNTS = [("A", D1, {"signed_in_time": -1}), ("A", D1, {"resolved_in_time": -1}), ("B", D2, {"received": 1}),
          ("C", D1, {"signed": 0}), ("A", D2, {"extended": 1, "overdue": 0})]


async def _rollups(url: str) -> list[tuple[Any, ...]]:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as s:
            return [tuple(r) for r in (await s.execute(select(rollups).order_by(*rollups.primary_key))).all()]
    finally:
        await engine.dispose()


async def test_one_rollup_statement_equals_one_increment_each(databases: Databases) -> None:
    one_by_one, combined = await databases.new("oversight"), await databases.new("oversight")
    writer = Rollups()
    engine = make_engine(one_by_one)
    async with transaction(make_sessionmaker(engine)) as s:
        for unit, day, deltas in COUNTS:
            await writer.increment(s, unit, day, deltas)
    await engine.dispose()
    engine = make_engine(combined)
    async with transaction(make_sessionmaker(engine)) as s:
        await run(s, [writer.increment_op(s, COUNTS), writer.increment_op(s, [("C", D1, {"signed": 0})])])
    await engine.dispose()
    rows = await _rollups(combined)
    assert rows == await _rollups(one_by_one)
    assert {r[2] for r in rows} == {"A", "B"}  # a unit whose deltas are all 0 gets no rows
    assert len(rows) == 7 + 4  # A: the 4 grains of D1 and 3 of D2 (the year is shared); B: 4


async def test_clock_upsert_returns_the_round_as_it_was(databases: Databases) -> None:
    url = await databases.new("oversight")
    engine = make_engine(url)
    t0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
    async with transaction(make_sessionmaker(engine)) as s:
        # unknown round: created with the clock's unit and deadlines
        r = await set_clock(s, "T1", 1, "U1", t0 + timedelta(days=2), None)
        assert (r.signed_at, r.sign_in_time, r.extended) == (None, None, False)
        row = await get_round(s, "T1", 1)
        assert (row.unit, row.accept_due, row.resolve_due) == ("U1", t0 + timedelta(days=2), None)
        # a known round keeps its unit and counted facts, and takes the new deadlines
        await upsert(s, rounds, ["ticket_no", "round"], {"ticket_no": "T2", "round": 1, "unit": "U2"})
        await run(s, [set_round_op("T2", 1, signed_at=t0, sign_unit="U2", sign_in_time=True, extended=True)])
        r = await set_clock(s, "T2", 1, "other", t0 - timedelta(days=1), t0)
        assert (r.signed_at, r.sign_unit, r.sign_in_time, r.extended) == (t0, "U2", True, True)
        row = await get_round(s, "T2", 1)
        assert (row.unit, row.accept_due, row.resolve_due) == ("U2", t0 - timedelta(days=1), t0)
    await engine.dispose()
