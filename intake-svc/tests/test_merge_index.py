"""The merge index of a replica: what others registered is picked up by a refresh, what it knows is not read again."""

from __future__ import annotations

import asyncio
from typing import Any

from intake_helpers import ticket
from sqlalchemy import event

from bancheng_services.testing import RunningService, auth
from bancheng_shared import sqlite_session
from intake_svc.adapters.merge_index import MergeIndex
from intake_svc.domain.merging import place_key


def _count_statements(svc: RunningService) -> tuple[list[str], Any]:
    seen: list[str] = []
    test = asyncio.current_task()

    def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # the service's own loops share the engine, and its index refresh (every 0.2 s here) reads the same
        # tickets table: only the statements of this test's task count
        try:
            mine = asyncio.current_task() is test
        except RuntimeError:  # not on the loop's thread: not this test's statement
            mine = False
        if mine:
            seen.append(statement)

    return seen, listener


def _reads_of_tickets(statements: list[str]) -> list[str]:
    # other loops (relay, consumer) share the engine: look only at reads of the tickets table
    return ["count" if "count(" in q else "rows" for q in statements if "FROM tickets" in q]


async def test_a_refresh_picks_up_other_replicas_tickets_and_rereads_nothing_known(intake: RunningService) -> None:
    ctx = intake.app.state.intake
    other = MergeIndex()  # another replica's index over the same database
    async with intake.runtime.sm() as s:
        await other.refresh(s, 90)
    body = ticket("东门菜市场门口的下水道堵了三天，污水漫到路上，臭气熏天", "13900001111")
    body["location"]["address"] = "东门菜市场"  # a region code alone is no place to merge strangers on
    r = await intake.client.post("/v1/tickets", json=body, headers=auth("operator"))
    assert r.status_code == 201
    no = r.json()["ticket_no"]

    seen, listener = _count_statements(intake)
    # sessions on SQLite run on the engine's synchronous twin (bancheng_shared.sqlite_session)
    engine = sqlite_session.twin_of(intake.runtime.engine) or intake.runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        # this replica registered it: its refresh only counts the overlap
        seen.clear()
        async with intake.runtime.sm() as s:
            assert await ctx.index.refresh(s, 90) == 0
        assert _reads_of_tickets(seen) == ["count"], seen
        # the other replica did not: it reads the new ticket and can propose it as a candidate
        async with intake.runtime.sm() as s:
            assert await other.refresh(s, 90) == 1
        _sh, sig = other.signature(body["content"])
        assert other.candidates(sig, place_key(body["location"]["region_code"], "东门菜市场"), 5) == [no]
        # and now it knows it: one count again, nothing else
        seen.clear()
        async with intake.runtime.sm() as s:
            assert await other.refresh(s, 90) == 0
        assert _reads_of_tickets(seen) == ["count"], seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)
