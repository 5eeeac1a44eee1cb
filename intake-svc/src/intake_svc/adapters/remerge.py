"""The tables' side of an operator's 并单: locked reads, and writes that check the state they change (a concurrent
request that changed it first makes them report False instead of writing over it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.adapters import search_index
from intake_svc.adapters.tables import possible_repeats, repeats, submissions, tickets, timeline
from intake_svc.domain.merging import MERGED
from intake_svc.domain.remerge import RepeatState, TicketState
from intake_svc.domain.timeline import STATUS_LABELS


async def lock_tickets(session: AsyncSession, ticket_nos: Sequence[str]) -> dict[str, Any]:
    """The tickets' rows, locked in the order of their numbers (two merges of one pair cannot deadlock)."""
    q = select(tickets).where(tickets.c.ticket_no.in_(sorted(set(ticket_nos)))).order_by(tickets.c.ticket_no)
    return {r.ticket_no: r for r in (await session.execute(q.with_for_update())).all()}


def state_of(row: Any) -> TicketState:
    """What the rules read of a ticket's row."""
    return TicketState(row.ticket_no, row.status, row.status_label, row.merged_into, row.repeat_count)


async def merge_away(session: AsyncSession, ticket_no: str, into: str, now: datetime) -> bool:
    """Mark a ticket merged into another (status `merged`); False when it was merged meanwhile."""
    done = await session.execute(
        update(tickets).where(tickets.c.ticket_no == ticket_no, tickets.c.merged_into.is_(None))
        .values(merged_into=into, status=MERGED, status_label=STATUS_LABELS[MERGED], updated_at=now)
        .returning(tickets.c.ticket_no))
    return done.first() is not None


async def add_repeat(session: AsyncSession, ticket_no: str, not_open: Sequence[str], now: datetime) -> Any:
    """Count one more repeat on an open ticket not merged away: (repeat_count, repeat_seq), or None."""
    done = await session.execute(
        update(tickets).where(tickets.c.ticket_no == ticket_no, tickets.c.merged_into.is_(None),
                              tickets.c.status.not_in(list(not_open)))
        .values(repeat_count=tickets.c.repeat_count + 1, repeat_seq=tickets.c.repeat_seq + 1, updated_at=now)
        .returning(tickets.c.repeat_count, tickets.c.repeat_seq))
    return done.first()


async def insert_repeat(session: AsyncSession, **values: Any) -> None:
    """Store a merged request (its text is then found through the ticket it was merged into)."""
    await session.execute(insert(repeats).values(**values))
    await search_index.refresh(session, [values["ticket_no"]])


async def repeat(session: AsyncSession, ticket_no: str, seq: int) -> Any:
    """A merged request of a ticket by its number, or None."""
    q = select(repeats).where(repeats.c.ticket_no == ticket_no, repeats.c.seq == seq)
    return (await session.execute(q)).first()


def repeat_state(row: Any) -> RepeatState | None:
    """What the unmerge rule reads of a merged request."""
    return None if row is None else RepeatState(row.ticket_no, row.seq, row.unmerged_into, row.unmerged_at)


async def mark_unmerged(session: AsyncSession, repeat_id: int, *, into: str, by: str, reason: str,
                        now: datetime) -> bool:
    """Record that a merged request became its own ticket; False when another unmerge took it first."""
    done = (await session.execute(
        update(repeats).where(repeats.c.id == repeat_id, repeats.c.unmerged_into.is_(None))
        .values(unmerged_into=into, unmerged_at=now, unmerged_by=by, unmerge_reason=reason)
        .returning(repeats.c.ticket_no))).first()
    if done is not None:  # its text is no longer found through the ticket it leaves
        await search_index.refresh(session, [done.ticket_no])
    return done is not None


async def lower_count(session: AsyncSession, ticket_no: str, now: datetime) -> int:
    """One repeat fewer on a ticket (never below 0); the count now."""
    done = await session.execute(
        update(tickets).where(tickets.c.ticket_no == ticket_no)
        .values(repeat_count=tickets.c.repeat_count - 1, updated_at=now)
        .where(tickets.c.repeat_count > 0).returning(tickets.c.repeat_count))
    row = done.first()
    return int(row.repeat_count) if row is not None else 0


async def follow_request(session: AsyncSession, *, token_hash: str | None, source_ticket_no: str | None,
                         to: str) -> None:
    """The person's submission now answers for the new ticket: a replayed POST and the tracking token open it."""
    if token_hash:
        await session.execute(update(submissions).where(submissions.c.token_hash == token_hash)
                              .values(ticket_no=to, merged=False, similarity=None, repeat_count=0))
    elif source_ticket_no:
        await session.execute(update(submissions).where(submissions.c.ticket_no == source_ticket_no,
                                                        submissions.c.merged.is_(False))
                              .values(ticket_no=to))


async def add_steps(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Timeline lines of staff actions (not public: they name who and why)."""
    await session.execute(insert(timeline), [{"public": 0, "detail": None, **r} for r in rows])


async def settle_possible(session: AsyncSession, ticket_no: str, *, confirmed: str | None, by: str, reason: str,
                          now: datetime) -> None:
    """A merged ticket's possible repeats are settled: the pair merged is confirmed (from either side), the other
    open ones of it, or naming it, are dropped (moot: it is no longer worked on its own)."""
    base = possible_repeats.c.state == "open"
    values = dict(decided_at=now, decided_by=by, reason=reason)
    await session.execute(update(possible_repeats).where(base, possible_repeats.c.ticket_no == ticket_no)
                          .values(state="dropped", **values))
    if confirmed:
        pairs = ((ticket_no, confirmed), (confirmed, ticket_no))
        for a, b in pairs:
            await session.execute(update(possible_repeats).where(
                possible_repeats.c.ticket_no == a, possible_repeats.c.candidate_no == b)
                .values(state="confirmed", **values))
        await session.execute(update(possible_repeats).where(base, possible_repeats.c.candidate_no == ticket_no)
                              .values(state="dropped", **values))


async def possible_state(session: AsyncSession, ticket_no: str, candidate_no: str) -> str | None:
    """The state of a possible repeat, or None."""
    q = select(possible_repeats.c.state).where(possible_repeats.c.ticket_no == ticket_no,
                                               possible_repeats.c.candidate_no == candidate_no)
    row = (await session.execute(q)).first()
    return row.state if row is not None else None


async def reject_possible(session: AsyncSession, ticket_no: str, candidate_no: str, *, by: str, reason: str,
                          now: datetime) -> bool:
    """Reject an open possible repeat; False when it was decided meanwhile."""
    done = await session.execute(
        update(possible_repeats).where(possible_repeats.c.ticket_no == ticket_no,
                                       possible_repeats.c.candidate_no == candidate_no,
                                       possible_repeats.c.state == "open")
        .values(state="rejected", decided_at=now, decided_by=by, reason=reason).returning(possible_repeats.c.id))
    return done.first() is not None


async def possible_of(session: AsyncSession, ticket_no: str) -> list[Any]:
    """A ticket's possible repeats, best first."""
    q = (select(possible_repeats).where(possible_repeats.c.ticket_no == ticket_no)
         .order_by(possible_repeats.c.similarity.desc(), possible_repeats.c.id))
    return list((await session.execute(q)).all())
