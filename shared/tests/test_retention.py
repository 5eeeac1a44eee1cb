"""A service's plumbing over time, on real databases: sent outbox rows are kept for the outbox's retention, handled
event ids (the inbox) for the inbox's, which must outlive every way an event can arrive again; and the relay's
lookup of unsent rows stays as cheap while sent rows pile up between vacuums."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import MetaData, func, insert, select, text, update

from bancheng_services.testing import empty_database
from bancheng_shared.plumbing import plumbing_tables, purge
from bancheng_shared.runtime import Runtime
from bancheng_shared.settings import ServiceSettings

metadata = MetaData()
plumbing = plumbing_tables(metadata)
EVENT_TYPES = ["TicketReceived", "TicketTriaged", "TicketDispatched", "ClockStarted", "AlertRaised", "CaseOpened"]
NOW = datetime.now(UTC)


@pytest.fixture
async def rt(db_backend: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    """A runtime on its default settings over fresh plumbing tables."""
    async with empty_database(db_backend, tmp_path, "retention") as url:
        runtime = Runtime.build("triage-svc", ServiceSettings(database_url=url), plumbing)
        async with runtime.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        try:
            yield runtime
        finally:
            await runtime.relay.stop()  # gives up the leader's connection, if a test took it
            await runtime.engine.dispose()


def inbox_rows(n: int, hours_ago: float, rng: random.Random) -> list[dict[str, object]]:
    """Handled events spread over an hour ending `hours_ago` hours back, some of them dead-lettered."""
    return [{"event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "event_type": rng.choice(EVENT_TYPES),
             "topic": "intake.tickets", "handled_at": NOW - timedelta(hours=hours_ago, seconds=rng.uniform(0, 3600)),
             "dead_lettered": rng.random() < 0.01} for _ in range(n)]


def outbox_row(*, created_hours_ago: float, sent_hours_ago: float | None) -> dict[str, object]:
    """An event written by a handler, sent (or not) so many hours ago."""
    return {"event_id": str(uuid.uuid4()), "event_type": "TicketTriaged", "topic": "triage.work-orders",
            "key": "12345-20261206-000001", "value": b'{"type":"TicketTriaged"}', "headers": {},
            "created_at": NOW - timedelta(hours=created_hours_ago),
            "sent_at": None if sent_hours_ago is None else NOW - timedelta(hours=sent_hours_ago)}


async def test_the_relay_purges_old_sent_events_and_handled_ids_past_their_retention_and_keeps_the_rest(
    rt: Runtime,
) -> None:
    rng = random.Random(20261206)
    old = inbox_rows(11_000, 400, rng)  # past the default 360 h
    kept = inbox_rows(600, 300, rng) + inbox_rows(400, 1, rng)  # past the outbox's week, within the inbox's
    outbox = [outbox_row(created_hours_ago=200, sent_hours_ago=199),  # sent past the week: goes
              outbox_row(created_hours_ago=200, sent_hours_ago=None),  # never sent (broker away): stays
              outbox_row(created_hours_ago=2, sent_hours_ago=2)]
    async with rt.sm() as s, s.begin():
        await s.execute(insert(plumbing.inbox), old + kept)
        await s.execute(insert(plumbing.outbox), outbox)

    await rt.relay._purge()  # what the relay runs every minute, with the service's settings

    async with rt.sm() as s:
        left = set((await s.execute(select(plumbing.inbox.c.event_id))).scalars())
        outbox_left = set((await s.execute(select(plumbing.outbox.c.event_id))).scalars())
    assert left == {r["event_id"] for r in kept}
    assert outbox_left == {outbox[1]["event_id"], outbox[2]["event_id"]}


async def test_a_large_old_inbox_goes_in_chunks_and_a_purge_without_an_inbox_cutoff_keeps_it(rt: Runtime) -> None:
    rng = random.Random(7)
    rows = inbox_rows(2_500, 500, rng) + inbox_rows(10, 0, rng)
    async with rt.sm() as s, s.begin():
        await s.execute(insert(plumbing.inbox), rows)
    assert await purge(rt.sm, plumbing, sent_before=NOW, handled_before=None) == (0, 0)
    assert await purge(rt.sm, plumbing, sent_before=NOW, handled_before=NOW - timedelta(hours=1), chunk=1_000) \
        == (0, 2_500)
    async with rt.sm() as s:
        assert (await s.execute(select(func.count()).select_from(plumbing.inbox))).scalar_one() == 10


@pytest.mark.parametrize(("index", "table", "column"), [("ix_inbox_handled_at", "inbox", "handled_at"),
                                                        ("ix_outbox_created_at", "outbox", "created_at")])
async def test_old_rows_are_found_by_an_index_brin_on_postgresql(
    rt: Runtime, db_backend: str, index: str, table: str, column: str,
) -> None:
    """Old handled ids (the inbox) and old sent events (the outbox: sent_at is never before created_at)."""
    async with rt.sm() as s:
        if db_backend == "postgresql":
            found = (await s.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = :i"), {"i": index})
                     ).scalar_one()
            assert f"USING brin ({column})" in found
        else:
            found = (await s.execute(text("SELECT sql FROM sqlite_master WHERE name = :i"), {"i": index})).scalar_one()
            assert f"{table} ({column})" in found


def test_an_inbox_kept_shorter_than_an_event_may_come_again_is_refused() -> None:
    assert ServiceSettings().inbox_retention_hours >= 2 * ServiceSettings().outbox_retention_hours
    with pytest.raises(ValidationError, match="inbox_retention_hours"):
        ServiceSettings(inbox_retention_hours=200)
    with pytest.raises(ValidationError, match="inbox_retention_hours"):
        ServiceSettings(outbox_retention_hours=240)  # the default inbox (360 h) no longer covers it
    assert ServiceSettings(outbox_retention_hours=24, inbox_retention_hours=48).inbox_retention_hours == 48


async def _poll_plan(rt: Runtime, db_backend: str) -> list[dict[str, Any]]:
    """The nodes of the relay's lookup of unsent rows as the database runs it where the relay runs it (on PostgreSQL
    the leader's connection, with its settings): EXPLAIN ANALYZE nodes, outermost first; SQLite's query plan lines
    as {"detail": ...}."""
    if db_backend == "sqlite":
        async with rt.sm() as s:
            sql = str(rt.relay._unsent.compile(dialect=s.bind.dialect, compile_kwargs={"literal_binds": True}))
            return [{"detail": r[-1]} for r in await s.execute(text(f"EXPLAIN QUERY PLAN {sql}"))]
    conn = rt.relay._leader_conn
    assert conn is not None
    sql = str(rt.relay._unsent.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    raw = (await conn.execute(text(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}"))).scalar_one()
    nodes, todo = [], [(json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]]
    while todo:
        node = todo.pop(0)
        nodes.append(node)
        todo += node.get("Plans", [])
    return nodes


async def test_the_relays_poll_reads_only_unsent_rows_while_sent_ones_pile_up_between_vacuums(
    rt: Runtime, db_backend: str,
) -> None:
    o = plumbing.outbox
    if db_backend == "postgresql":  # as between two autovacuum runs: old row versions stay
        async with rt.sm() as s, s.begin():
            await s.execute(text("ALTER TABLE outbox SET (autovacuum_enabled = false)"))
    sent = 0
    for batch in range(30):  # 6,000 events written, polled and marked sent as the relay does, 200 at a time
        async with rt.sm() as s, s.begin():
            await s.execute(insert(o), [outbox_row(created_hours_ago=0, sent_hours_ago=None) for _ in range(200)])
        ids = [r.id for r in await rt.relay._poll()]
        assert len(ids) == 200 and ids == sorted(ids)
        async with rt.sm() as s, s.begin():
            await s.execute(update(o).where(o.c.id.in_(ids)).values(sent_at=NOW, sent_partition=batch % 12,
                                                                     sent_offset=batch, sent_generation=0))
        sent += len(ids)
    async with rt.sm() as s, s.begin():
        await s.execute(insert(o), [outbox_row(created_hours_ago=0, sent_hours_ago=None) for _ in range(30)])

    async with rt.sm() as s:
        unsent = (await s.execute(select(func.count()).where(o.c.sent_at.is_(None)))).scalar_one()
    rows = await rt.relay._poll()
    plan = await _poll_plan(rt, db_backend)
    assert sent == 6_000 and len(rows) == unsent == 30
    assert [r.id for r in rows] == sorted(r.id for r in rows)
    if db_backend == "postgresql":
        # an ordinary index scan of the unsent rows, in id order: the entries the 6,000 sent rows left were marked
        # dead by the polls that passed them and cost no page of the table now (measured: the index of (sent_at,
        # id) it replaces read 183 pages here, and about 1,800 a poll, by bitmap, in a 6,000-ticket bench run)
        assert [(n["Node Type"], n.get("Index Name")) for n in plan] == [("Limit", None),
                                                                       ("Index Scan", "ix_outbox_unsent")], plan
        assert plan[0]["Actual Rows"] == 30
        assert plan[0]["Shared Hit Blocks"] + plan[0]["Shared Read Blocks"] < 60, plan
    else:
        details = " | ".join(n["detail"] for n in plan)
        assert "USING INDEX ix_outbox_unsent" in details and "TEMP B-TREE" not in details, details


# pg_locks l: the advisory locks granted in the test's database (the relay leader's)
_LEADER_LOCK = ("l.locktype = 'advisory' AND l.granted AND "
                "l.database = (SELECT oid FROM pg_database WHERE datname = current_database())")


@asynccontextmanager
async def _another_replica(rt: Runtime) -> AsyncIterator[Runtime]:
    """A second replica's runtime on the same database."""
    other = Runtime.build("triage-svc", ServiceSettings(database_url=rt.engine.url.render_as_string(
        hide_password=False)), plumbing)
    try:
        yield other
    finally:
        await other.relay.stop()
        await other.engine.dispose()


async def test_the_relay_leads_by_its_session_lock_and_holds_no_transaction_open(rt: Runtime, db_backend: str) -> None:
    if db_backend == "sqlite":
        pytest.skip("SQLite: one process owns the file, the relay takes no lock")
    assert await rt.relay._hold_leadership()
    try:
        async with _another_replica(rt) as other:
            assert not await other.relay._hold_leadership()  # a second replica's relay waits
        async with rt.sm() as s:
            leaders = (await s.execute(text(
                "SELECT a.state, a.backend_xmin IS NULL AS no_snapshot FROM pg_locks l JOIN pg_stat_activity a "
                f"USING (pid) WHERE {_LEADER_LOCK}"))).all()
    finally:
        await rt.relay.stop()  # gives the lock up: closes the leader's connection
    # the leader's connection sits idle, out of any transaction: it keeps no snapshot that would stop dead row
    # versions (every sent outbox row's, every updated ticket's) from being pruned and vacuumed while it leads
    assert [(r.state, r.no_snapshot) for r in leaders] == [("idle", True)]


async def test_a_relay_whose_lock_connection_died_lets_the_leadership_go_and_another_takes_it(
    rt: Runtime, db_backend: str,
) -> None:
    if db_backend == "sqlite":
        pytest.skip("SQLite: one process owns the file, the relay takes no lock")
    async with rt.sm() as s, s.begin():
        await s.execute(insert(plumbing.outbox), [outbox_row(created_hours_ago=0, sent_hours_ago=None)])
    assert len(await rt.relay._poll()) == 1  # leads, and reads through its lock's connection
    async with _another_replica(rt) as other:
        assert await other.relay._poll() == []  # a second replica's relay waits
        async with rt.sm() as s, s.begin():  # the leader's connection is cut (a failover, a restart, a timeout);
            # the call waits (up to 5 s) until that backend has ended, so the lock is free when it returns
            assert (await s.execute(text(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(l.pid, 5000)) FROM pg_locks l "
                f"WHERE {_LEADER_LOCK}"))).scalar_one() == 1
        with pytest.raises(Exception):  # noqa: B017 (the driver's error for a terminated connection)
            await rt.relay._poll()
        assert rt.relay._leader_conn is None  # it no longer believes it leads
        assert len(await other.relay._poll()) == 1  # the lock was free: the other relay leads now
        assert await rt.relay._poll() == []  # and the first waits
