"""PostgreSQL statements that stay cheap as tables grow: multi-row INSERTs as one execution (pg_unnest), and key
lookups whose cached plan is an index lookup even when first planned on an empty table (db.keys_found)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import (
    ARRAY,
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    any_,
    bindparam,
    case,
    event,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bancheng_services.stack import drop_postgres_database, ensure_postgres_database
from bancheng_services.testing import postgres_base_url
from bancheng_shared import db
from bancheng_shared.pg_unnest import as_unnest, together
from bancheng_shared.types import UtcDateTime

INBOX_INSERT = ("INSERT INTO inbox (event_id, event_type, topic, handled_at, dead_lettered) VALUES ($1::VARCHAR, "
                "$2::VARCHAR, $3::VARCHAR, $4::TIMESTAMP WITH TIME ZONE, $5::BOOLEAN)")


# ------------------------------------------------------------------ the statement shapes (pure)

def test_a_plain_multi_row_insert_becomes_one_unnest_of_an_array_per_column() -> None:
    form = as_unnest(INBOX_INSERT)
    assert form is not None and form.serves([("e1",), ("e1",)])  # no conflict target: any rows
    assert form.sql == (
        "INSERT INTO inbox (event_id, event_type, topic, handled_at, dead_lettered) SELECT * FROM unnest("
        "$1::VARCHAR[], $2::VARCHAR[], $3::VARCHAR[], $4::TIMESTAMP WITH TIME ZONE[], $5::BOOLEAN[])")


def test_do_nothing_on_conflict_is_kept_and_sized_types_take_their_brackets_after_the_size() -> None:
    stmt = ("INSERT INTO units (code, share) VALUES ($1::VARCHAR, $2::NUMERIC(10, 2)) "
            "ON CONFLICT (code) DO NOTHING")
    form = as_unnest(stmt)
    assert form is not None and form.sql == ("INSERT INTO units (code, share) SELECT * FROM unnest($1::VARCHAR[], "
                                             "$2::NUMERIC(10, 2)[]) ON CONFLICT (code) DO NOTHING")


def test_an_update_on_conflict_goes_as_one_only_when_no_target_repeats_in_the_rows() -> None:
    stmt = ("INSERT INTO rollups (grain, period, unit, received) VALUES ($1::VARCHAR, $2::DATE, $3::VARCHAR, "
            "$4::INTEGER) ON CONFLICT (grain, period, unit) DO UPDATE SET received = (rollups.received + "
            "excluded.received)")
    form = as_unnest(stmt)
    assert form is not None and form.sql.startswith("INSERT INTO rollups (grain, period, unit, received) SELECT * "
                                                    "FROM unnest($1::VARCHAR[], $2::DATE[], $3::VARCHAR[], ")
    assert form.sql.endswith(" ON CONFLICT (grain, period, unit) DO UPDATE SET received = (rollups.received + "
                             "excluded.received)")
    day = date(2026, 12, 6)
    assert form.serves([("day", day, "U1", 1), ("day", day, "U2", 1), ("month", day, "U1", 1)])
    # the same unit's day twice: PostgreSQL would refuse to update the row twice in one statement
    assert not form.serves([("day", day, "U1", 1), ("month", day, "U1", 1), ("day", day, "U1", 2)])


@pytest.mark.parametrize("stmt", [
    # an update that takes a parameter of its own (numbered after the rows')
    "INSERT INTO rollups (unit, n) VALUES ($1::VARCHAR, $2::INTEGER) ON CONFLICT (unit) DO UPDATE SET at = "
    "$3::DATE",
    "INSERT INTO outbox (topic, key) VALUES ($1::VARCHAR, $2::VARCHAR) RETURNING outbox.id",
    # an array column: unnest would take the 2-D array apart flat
    "INSERT INTO work_orders (ticket_no, kinds) VALUES ($1::VARCHAR, $2::VARCHAR[])",
    # a value that is not one parameter
    "INSERT INTO timeline (ticket_no, at) VALUES ($1::VARCHAR, now())",
    "INSERT INTO timeline (ticket_no, n) VALUES ($1::VARCHAR, $2::INTEGER + 1)",
    # parameters out of their order
    "INSERT INTO timeline (ticket_no, at) VALUES ($2::VARCHAR, $1::DATE)",
    "INSERT INTO t SELECT * FROM other",
    # an UPDATE whose rows are not named by key equalities could touch the same row twice
    "UPDATE clocks SET state=$1::VARCHAR WHERE clocks.due_at < $2::TIMESTAMP WITH TIME ZONE",
    "UPDATE clocks SET state=$1::VARCHAR WHERE clocks.state = 'open'",
    "UPDATE tickets SET status=$1::VARCHAR WHERE tickets.ticket_no = $2::VARCHAR RETURNING tickets.status",
    "UPDATE tickets SET kinds=$1::VARCHAR[] WHERE tickets.ticket_no = $2::VARCHAR",
    # a key that is also a value set
    "UPDATE tickets SET ticket_no=$1::VARCHAR WHERE tickets.ticket_no = $1::VARCHAR",
])
def test_any_other_shape_is_left_as_it_is(stmt: str) -> None:
    assert as_unnest(stmt) is None


def test_an_update_by_key_takes_its_values_from_the_rows_and_goes_as_one_only_for_distinct_keys() -> None:
    stmt = ("UPDATE tickets SET status=CASE WHEN (tickets.merged_into IS NULL) THEN $1::VARCHAR ELSE tickets.status "
            "END, updated_at=$2::TIMESTAMP WITH TIME ZONE WHERE tickets.ticket_no = $3::VARCHAR AND tickets.round = "
            "$4::INTEGER")
    form = as_unnest(stmt)
    assert form is not None and form.sql == (
        "UPDATE tickets SET status=CASE WHEN (tickets.merged_into IS NULL) THEN _rows.p1 ELSE tickets.status END, "
        "updated_at=_rows.p2 FROM unnest($1::VARCHAR[], $2::TIMESTAMP WITH TIME ZONE[], $3::VARCHAR[], "
        "$4::INTEGER[]) AS _rows(p1, p2, p3, p4) WHERE tickets.ticket_no = _rows.p3 AND tickets.round = _rows.p4")
    at = datetime(2026, 12, 6, tzinfo=UTC)
    assert form.serves([("a", at, "T1", 1), ("b", at, "T1", 2), ("c", at, "T2", 1)])
    assert not form.serves([("a", at, "T1", 1), ("b", at, "T1", 1)])


# ------------------------------------------------------------------ on a real PostgreSQL

@pytest.fixture
async def pg() -> AsyncIterator[AsyncEngine]:
    base = postgres_base_url()
    if base is None:
        if os.environ.get("BANCHENG_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required (BANCHENG_REQUIRE_POSTGRES) but unreachable")
        pytest.skip("PostgreSQL unreachable at TEST_DATABASE_URL / 127.0.0.1:5432")
    url = make_url(base).set(database=f"bc_test_stmts_{uuid.uuid4().hex[:10]}").render_as_string(
        hide_password=False)
    await ensure_postgres_database(url)
    engine = db.make_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()
        await drop_postgres_database(url)


def _tables() -> tuple[MetaData, Table, Table]:
    md = MetaData()

    def columns() -> list[Column[Any]]:
        return [Column("id", BigInteger, primary_key=True, autoincrement=True), Column("ticket_no", String(64)),
                Column("content", String(2000)), Column("n", Integer), Column("public", Boolean),
                Column("minhash", LargeBinary), Column("detail", JSON), Column("day", Date),
                Column("share", Numeric(10, 2)), Column("at", UtcDateTime())]
    return md, Table("by_rows", md, *columns()), Table("by_unnest", md, *columns())


def _rows(n: int) -> list[dict[str, Any]]:
    t0 = datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    return [dict(ticket_no=f"GD2026{i:07d}", n=i if i % 7 else None, public=i % 2 == 0,
                 content=("反映：小区东门外夜间施工噪音扰民，凌晨两点仍在作业，多次拨打12345未果；" * (1 + i % 5))
                 + ("'\"\\ ,{}()" if i % 11 == 0 else ""),
                 minhash=bytes([i % 256, 0, 255]) if i % 3 else None,
                 detail={"单位": "住建局", "i": i, "list": [1, None, "二"]} if i % 4 else None,
                 day=date(2027, 1, 1) - timedelta(days=i % 3), share=None if i % 5 == 0 else f"{i}.25",
                 at=t0 + timedelta(microseconds=i)) for i in range(n)]


async def test_many_rows_go_in_one_execution_and_land_exactly_as_row_by_row(pg: AsyncEngine) -> None:
    md, by_rows, by_unnest = _tables()
    rows = _rows(300)
    sent: list[tuple[str, int]] = []

    @event.listens_for(pg.sync_engine, "after_cursor_execute")
    def _sent(_c: Any, _cur: Any, statement: str, parameters: Any, _ctx: Any, many: bool) -> None:
        sent.append((statement, len(parameters) if many else 1))

    async with pg.begin() as conn:
        await conn.run_sync(md.create_all)
        for row in rows:  # one by one: the dialect's own way
            await conn.execute(insert(by_rows), row)
        sent.clear()
        await conn.execute(insert(by_unnest), rows)
        assert len(sent) == 1 and sent[0][1] == 1
        assert "SELECT * FROM unnest(" in sent[0][0]
        mine = (await conn.execute(select(by_unnest).order_by(by_unnest.c.id))).all()
        theirs = (await conn.execute(select(by_rows).order_by(by_rows.c.id))).all()
        # the same values, NULLs, JSON and bytes; the ids given in the rows' order
        assert mine == theirs
        assert [r.ticket_no for r in mine] == [r["ticket_no"] for r in rows]
        nulls = (await conn.execute(text("SELECT count(*) FROM by_unnest WHERE detail IS NULL"))).scalar()
        assert nulls == (await conn.execute(text("SELECT count(*) FROM by_rows WHERE detail IS NULL"))).scalar()


async def test_do_nothing_skips_rows_already_there_and_repeated_within_the_batch(pg: AsyncEngine) -> None:
    md = MetaData()
    seen = Table("seen", md, Column("event_id", String(36), primary_key=True), Column("topic", String(200)))
    async with pg.begin() as conn:
        await conn.run_sync(md.create_all)
        await conn.execute(insert(seen), [{"event_id": "e1", "topic": "first"}])
        stmt = pg_insert(seen).on_conflict_do_nothing(index_elements=["event_id"])
        await conn.execute(stmt, [{"event_id": "e1", "topic": "again"}, {"event_id": "e2", "topic": "x"},
                                  {"event_id": "e2", "topic": "twice"}, {"event_id": "e3", "topic": "y"}])
        assert (await conn.execute(select(seen).order_by(seen.c.event_id))).all() == [
            ("e1", "first"), ("e2", "x"), ("e3", "y")]


async def _generic_plan(conn: Any, stmt: Any) -> str:
    sql = str(stmt.compile(dialect=postgresql.asyncpg.dialect()))
    await conn.execute(text("SET plan_cache_mode = force_generic_plan"))
    name = f"p_{uuid.uuid4().hex[:8]}"
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    await driver.execute(f"PREPARE {name} AS {sql}")
    args = ", ".join("'{}'::varchar[]" if "[]" in p else "1" for p in sql.split("$")[1:])
    plan = "\n".join(r[0] for r in await driver.fetch(f"EXPLAIN EXECUTE {name}({args})"))
    await driver.execute(f"DEALLOCATE {name}")
    return plan


async def test_a_key_lookup_planned_on_an_empty_table_is_an_index_lookup_not_a_scan(pg: AsyncEngine) -> None:
    md = MetaData()
    inbox = Table("inbox", md, Column("event_id", String(36), primary_key=True), Column("topic", String(200)))
    col = inbox.c.event_id
    async with pg.connect() as conn:
        await conn.run_sync(md.create_all)
        await conn.commit()
        # the plain `= ANY(:ids)`: its plan for any list, made on the empty table, scans the whole table
        plain = select(col).where(col == any_(bindparam("ids", type_=ARRAY(String))))
        assert "Seq Scan on inbox" in await _generic_plan(conn, plain)
        found = db.keys_found(select(col), col, "ids", True)
        plan = await _generic_plan(conn, found)
        assert "Seq Scan on inbox" not in plan and "inbox_pkey" in plan, plan
        await conn.execute(text("RESET plan_cache_mode"))
        # and it answers which of the keys are there
        await conn.execute(insert(inbox), [{"event_id": f"e{i}", "topic": "t"} for i in range(2000)])
        got = (await conn.execute(found, {"ids": ["e5", "x", "e1999", "e5", "e2000"]})).scalars().all()
        assert sorted(got) == ["e1999", "e5"]


async def test_an_upsert_adds_up_the_same_whether_its_targets_differ_or_repeat(pg: AsyncEngine) -> None:
    md = MetaData()
    counts = Table("counts", md, Column("grain", String(8), primary_key=True), Column("unit", String(16),
                                                                                      primary_key=True),
                   Column("n", Integer, nullable=False))
    sent: list[str] = []

    @event.listens_for(pg.sync_engine, "after_cursor_execute")
    def _sent(_c: Any, _cur: Any, statement: str, _p: Any, _ctx: Any, _many: bool) -> None:
        sent.append(statement)

    async with pg.begin() as conn:
        await conn.run_sync(md.create_all)
        ins = pg_insert(counts)
        stmt = ins.on_conflict_do_update(index_elements=["grain", "unit"], set_={"n": counts.c.n + ins.excluded.n})
        await conn.execute(insert(counts), [{"grain": "day", "unit": "U1", "n": 5}])
        sent.clear()
        distinct = [{"grain": g, "unit": u, "n": 1} for g in ("day", "month") for u in ("U1", "U2")]
        await conn.execute(stmt, distinct)
        assert len(sent) == 1 and "unnest(" in sent[0]
        repeated = [{"grain": "day", "unit": "U1", "n": 2}, {"grain": "day", "unit": "U1", "n": 3}]
        await conn.execute(stmt, repeated)  # row by row: the same row updated twice adds both
        assert "unnest(" not in sent[-1]
        got = dict(((g, u), n) for g, u, n in (await conn.execute(select(counts))).all())
        assert got == {("day", "U1"): 11, ("day", "U2"): 1, ("month", "U1"): 1, ("month", "U2"): 1}


async def test_updates_by_key_land_as_one_by_one_would_leave_them(pg: AsyncEngine) -> None:
    md, by_rows, by_unnest = _tables()
    rows = _rows(200)
    sent: list[str] = []

    @event.listens_for(pg.sync_engine, "after_cursor_execute")
    def _sent(_c: Any, _cur: Any, statement: str, _p: Any, _ctx: Any, _many: bool) -> None:
        sent.append(statement)

    async with pg.begin() as conn:
        await conn.run_sync(md.create_all)
        for table in (by_rows, by_unnest):
            await conn.execute(insert(table), rows)
        # every third row changed (a missing ticket changes nothing); the status kept where `public` is false
        changes = [{"k_ticket_no": r["ticket_no"] if i % 9 else f"GD-missing-{i}", "n": i * 10,
                    "detail": {"改": i}, "at": r["at"] + timedelta(days=1)} for i, r in enumerate(rows[::3])]

        def update_of(table: Table) -> Any:
            return (update(table).where(table.c.ticket_no == bindparam("k_ticket_no"))
                    .values(n=case((table.c.public.is_(True), bindparam("n", type_=Integer)), else_=table.c.n),
                            detail=bindparam("detail", type_=JSON), at=bindparam("at", type_=UtcDateTime())))
        for change in changes:
            await conn.execute(update_of(by_rows), change)
        sent.clear()
        await conn.execute(update_of(by_unnest), changes)
        assert len(sent) == 1 and "FROM unnest(" in sent[0]
        mine = (await conn.execute(select(by_unnest).order_by(by_unnest.c.id))).all()
        theirs = (await conn.execute(select(by_rows).order_by(by_rows.c.id))).all()
        assert mine == theirs
        assert sum(r.n == i * 10 for i, r in enumerate(mine[::3]) if i % 9 and r.public) > 20


# ------------------------------------------------------------------ several tables in one statement (insert_together)

def test_several_inserts_become_one_statement_with_their_parameters_numbered_on() -> None:
    first = "INSERT INTO a (x, y) SELECT * FROM unnest($1::VARCHAR[], $2::INTEGER[])"
    second = "INSERT INTO b (z) SELECT * FROM unnest($1::VARCHAR[]) ON CONFLICT (z) DO NOTHING"
    third = "INSERT INTO c (p, q, r) SELECT * FROM unnest($1::VARCHAR[], $2::BYTEA[], $3::JSON[])"
    assert together([first]) == first
    assert together([first, second, third]) == (
        "WITH w0 AS (INSERT INTO a (x, y) SELECT * FROM unnest($1::VARCHAR[], $2::INTEGER[])), "
        "w1 AS (INSERT INTO b (z) SELECT * FROM unnest($3::VARCHAR[]) ON CONFLICT (z) DO NOTHING) "
        "INSERT INTO c (p, q, r) SELECT * FROM unnest($4::VARCHAR[], $5::BYTEA[], $6::JSON[])")


def _group_tables() -> tuple[MetaData, dict[str, Table]]:
    md = MetaData()
    made = {}
    like = _tables()[1].columns
    for suffix in ("one_by_one", "together"):
        tables = {
            "tickets": Table(f"tickets_{suffix}", md, *(Column(c.name, c.type, primary_key=c.primary_key)
                                                       for c in like)),
            "steps": Table(f"steps_{suffix}", md, Column("id", BigInteger, primary_key=True, autoincrement=True),
                           Column("ticket_no", String(64)), Column("label", String(200)), Column("public", Integer)),
            "sms": Table(f"sms_{suffix}", md, Column("dedupe_key", String(120), primary_key=True),
                         Column("text", String(500))),
        }
        made.update({f"{k}_{suffix}": t for k, t in tables.items()})
    return md, made


def _group(n: int) -> dict[str, list[dict[str, Any]]]:
    tickets = _rows(n)
    steps = [dict(ticket_no=t["ticket_no"], label=f"已受理（{i}）", public=i % 2) for i, t in enumerate(tickets)]
    # receipts whose key came earlier in the group are skipped (DO NOTHING): ten rows to a key
    sms = [dict(dedupe_key=f"sub:{i // 10}", text=f"【12345】您的诉求已受理，编号{t['ticket_no']}。")
           for i, t in enumerate(tickets)]
    return {"tickets": tickets, "steps": steps, "sms": sms}


async def test_a_groups_tables_go_in_one_statement_and_land_as_table_by_table(pg: AsyncEngine) -> None:
    md, t = _group_tables()
    group = _group(120)
    sent: list[str] = []

    @event.listens_for(pg.sync_engine, "after_cursor_execute")
    def _sent(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        sent.append(statement)

    sm = db.make_sessionmaker(pg)
    async with pg.begin() as conn:
        await conn.run_sync(md.create_all)
    for suffix in ("one_by_one", "together"):
        parts = [(db.insert_statement(t[f"tickets_{suffix}"]), group["tickets"]),
                 (db.insert_statement(t[f"steps_{suffix}"]), group["steps"])]
        async with sm() as session, session.begin():
            sms = db.upsert_statement(session, t[f"sms_{suffix}"], ["dedupe_key"])
            sent.clear()
            if suffix == "one_by_one":
                for stmt, rows in [*parts, (sms, group["sms"])]:
                    await session.execute(stmt, rows)
            else:
                await db.insert_together(session, [*parts, (sms, group["sms"])])
                assert len(sent) == 1 and sent[0].startswith("WITH w0 AS (INSERT INTO tickets_together ")
    async with pg.connect() as conn:
        for name, order in (("tickets", "id"), ("steps", "id"), ("sms", "dedupe_key")):
            a, b = t[f"{name}_one_by_one"], t[f"{name}_together"]
            theirs = (await conn.execute(select(a).order_by(a.c[order]))).all()
            mine = (await conn.execute(select(b).order_by(b.c[order]))).all()
            assert mine == theirs and len(mine) == (120 if name != "sms" else 12)


async def test_a_refused_row_leaves_none_of_the_groups_rows_and_is_an_integrity_error(pg: AsyncEngine) -> None:
    md, t = _group_tables()
    group = _group(30)
    sm = db.make_sessionmaker(pg)
    async with pg.begin() as conn:
        await conn.run_sync(md.create_all)
        await conn.execute(insert(t["steps_together"]), [dict(id=5, ticket_no="GD20260000005", label="先到")])
    steps = [dict(s, id=i + 1) for i, s in enumerate(group["steps"])]  # id 5 is taken
    with pytest.raises(IntegrityError):
        async with sm() as session, session.begin():
            await db.insert_together(session, [(db.insert_statement(t["tickets_together"]), group["tickets"]),
                                               (db.insert_statement(t["steps_together"]), steps)])
    async with pg.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM tickets_together"))).scalar() == 0
        assert (await conn.execute(text("SELECT label FROM steps_together"))).scalars().all() == ["先到"]


async def test_upsert_rows_repeating_a_key_go_on_their_own_and_add_up_as_one_by_one(pg: AsyncEngine) -> None:
    md = MetaData()
    counts = Table("counts", md, Column("unit", String(32), primary_key=True), Column("n", Integer))
    sm = db.make_sessionmaker(pg)
    sent: list[str] = []

    @event.listens_for(pg.sync_engine, "after_cursor_execute")
    def _sent(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        sent.append(statement)

    async with pg.begin() as conn:
        await conn.run_sync(md.create_all)
    async with sm() as session, session.begin():
        add = db.upsert_statement(session, counts, ["unit"], ["n"], add=True)
        sent.clear()
        await db.insert_together(session, [(add, [dict(unit="A", n=1), dict(unit="B", n=2), dict(unit="A", n=3)]),
                                           (add, [dict(unit="C", n=1)])])
        assert len(sent) == 2  # the unit repeated in the first rows cannot be updated twice in one statement
    async with pg.connect() as conn:
        assert (await conn.execute(select(counts).order_by(counts.c.unit))).all() == [("A", 4), ("B", 2), ("C", 1)]


async def test_a_tables_second_rows_go_after_and_see_the_first(pg: AsyncEngine) -> None:
    """Two sets of rows for one table (two shapes of columns): the second is its own statement after the first, so
    an upsert of a key the first wrote does nothing, as one by one (in one statement it would be a duplicate key)."""
    md = MetaData()
    sms = Table("sms", md, Column("dedupe_key", String(120), primary_key=True), Column("text", String(500)),
                Column("unit_code", String(32)))
    steps = Table("steps", md, Column("id", BigInteger, primary_key=True, autoincrement=True),
                  Column("label", String(200)))
    sm = db.make_sessionmaker(pg)
    async with pg.begin() as conn:
        await conn.run_sync(md.create_all)
    async with sm() as session, session.begin():
        receipt = db.upsert_statement(session, sms, ["dedupe_key"])
        await db.insert_together(session, [
            (receipt, [dict(dedupe_key="sub:GD2026120700001", text="【12345】已受理")]),
            (db.insert_statement(steps), [dict(label="已受理")]),
            (receipt, [dict(dedupe_key="sub:GD2026120700001", text="重复", unit_code="339901-tax"),
                       dict(dedupe_key="unit:GD2026120700001", text="请签收", unit_code="339901-tax")])])
    async with pg.connect() as conn:
        assert (await conn.execute(select(sms.c.dedupe_key, sms.c.text).order_by(sms.c.dedupe_key))).all() == [
            ("sub:GD2026120700001", "【12345】已受理"), ("unit:GD2026120700001", "请签收")]
        assert (await conn.execute(select(steps.c.label))).scalars().all() == ["已受理"]
