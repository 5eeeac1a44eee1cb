"""rebuild-rollups: recompute every period's cohort counts (domain.metrics.COHORT_METRICS) from the rounds and
visits tables, each round on its dispatch day; rounds stored before they kept their dispatch day get it estimated
first (domain.rounds.legacy_fill). The other counters (dispatches, returns, urges, supervision, accountability) are
left as they are. One transaction, tickets read in chunks; run it with the service's consumer stopped."""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.db import make_engine, make_sessionmaker, transaction, update_statement
from oversight_svc.adapters.rollups import Rollups
from oversight_svc.adapters.tables import rollups, rounds, tickets, visits
from oversight_svc.adapters.writes import Op, run
from oversight_svc.domain import rounds as rules
from oversight_svc.domain.metrics import COHORT_METRICS, Count

_NEXT_TICKETS = (select(rounds.c.ticket_no).where(rounds.c.ticket_no > bindparam("after")).distinct()
                 .order_by(rounds.c.ticket_no).limit(bindparam("n")))
_ROUNDS = (select(rounds).where(rounds.c.ticket_no.in_(bindparam("nos", expanding=True)))
           .order_by(rounds.c.ticket_no, rounds.c.round))
_VISITS = (select(visits.c.ticket_no, visits.c.round, visits.c.unit, visits.c.resolved, visits.c.satisfaction,
                  visits.c.redo).where(visits.c.ticket_no.in_(bindparam("nos", expanding=True))))
_RECEIVED = select(tickets.c.ticket_no, tickets.c.received_at).where(
    tickets.c.ticket_no.in_(bindparam("nos", expanding=True)))
_ZERO = update(rollups).values(dict.fromkeys(COHORT_METRICS, 0))


async def rebuild_rollups(session: AsyncSession, tz: ZoneInfo, chunk: int = 2000) -> dict[str, int]:
    """Zero the cohort counters of every period and count every round again on its dispatch day."""
    await session.execute(_ZERO)
    writer = Rollups()
    seen = {"rounds": 0, "estimated": 0, "uncounted": 0}
    after = ""
    while True:
        nos = list((await session.execute(_NEXT_TICKETS, {"after": after, "n": chunk})).scalars())
        if not nos:
            break
        after = nos[-1]
        await _fill_legacy(session, nos, tz, seen)
        by_round: dict[tuple[str, int], list[Any]] = defaultdict(list)
        for v in (await session.execute(_VISITS, {"nos": nos})).all():
            by_round[v.ticket_no, v.round].append(v)
        counts: list[Count] = []
        for r in (await session.execute(_ROUNDS, {"nos": nos})).all():
            seen["rounds"] += 1
            if r.dispatch_day is None:
                seen["uncounted"] += 1
                continue
            counts += rules.round_counts(r, by_round.get((r.ticket_no, r.round), []), r.dispatch_day)
        await run(session, [writer.increment_op(session, counts)])
    return seen


async def _fill_legacy(session: AsyncSession, nos: list[str], tz: ZoneInfo, seen: dict[str, int]) -> None:
    """Estimate the dispatch day and deemed sign of rounds stored before they were kept."""
    received = dict((await session.execute(_RECEIVED, {"nos": nos})).tuples().all())
    per_ticket: dict[str, list[Any]] = defaultdict(list)
    for r in (await session.execute(_ROUNDS, {"nos": nos})).all():
        per_ticket[r.ticket_no].append(r)  # every round, in order: a redo round is dated by the previous visit
    ops: list[Op | None] = []
    for no, rows in per_ticket.items():
        fills = rules.legacy_fill(rows, [r.round for r in rows], received_at=received.get(no),
                                  visited_at=[r.visited_at for r in rows], tz=tz)
        for rnd, vals in fills.items():
            seen["estimated"] += 1
            ops.append((update_statement(rounds, sorted(vals), ["ticket_no", "round"]),
                        {**vals, "k_ticket_no": no, "k_round": rnd}))
    await run(session, ops)


async def rebuild(database_url: str, timezone: str) -> dict[str, int]:
    """The command: one transaction over the service's database."""
    engine = make_engine(database_url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            return await rebuild_rollups(session, ZoneInfo(timezone))
    finally:
        await engine.dispose()
