"""The ledgers' rows read in chunks, never a whole period at once: on PostgreSQL one statement through a
server-side cursor (`stream` with `yield_per`); on SQLite, whose one connection every consumer shares, one short
statement per chunk after the last key seen (keyset), so that the consumers write between chunks.

Each ledger is a statement over oversight's tables with its filters (period, unit, region) and the columns that
order it uniquely (its key)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.db import is_postgres
from bancheng_shared.runtime import Runtime
from oversight_svc.adapters.tables import (
    accountability,
    case_tickets,
    case_units,
    cases,
    letters,
    rounds,
    tickets,
    units,
    visits,
)


@dataclass(frozen=True)
class Filters:
    """What a ledger is asked for: local days [start, end] (and their UTC bounds), a unit, a region prefix."""

    start: date
    end: date
    since: datetime  # start's local midnight in UTC
    until: datetime  # the local midnight after end, in UTC (exclusive)
    unit: str | None = None
    region: str | None = None


def _in_region(unit_col: Any, region: str) -> Any:
    """The unit lies in the region (its region code starts with the prefix), as /v1/stats/units filters."""
    return unit_col.in_(select(units.c.unit).where(units.c.region_code.startswith(region, autoescape=True)))


def _work_orders(f: Filters) -> tuple[Select[Any], list[Any]]:
    last_visit = (select(visits.c.satisfaction)
                  .where(visits.c.ticket_no == rounds.c.ticket_no, visits.c.round == rounds.c.round)
                  .order_by(visits.c.visited_at.desc()).limit(1).scalar_subquery())
    q = (select(rounds.c.ticket_no, rounds.c.round, tickets.c.received_at, tickets.c.title, tickets.c.category,
                tickets.c.tier, tickets.c.region_code, rounds.c.unit, units.c.name.label("unit_name"),
                units.c.region_code.label("unit_region"), rounds.c.dispatch_day, rounds.c.accept_due,
                rounds.c.signed_at, rounds.c.sign_in_time, rounds.c.resolve_due, rounds.c.resolved_at,
                rounds.c.outcome, rounds.c.resolve_in_time, rounds.c.overdue, rounds.c.extended, rounds.c.visited_at,
                last_visit.label("satisfaction"), tickets.c.status, tickets.c.closed_at)
         .select_from(rounds.outerjoin(tickets, tickets.c.ticket_no == rounds.c.ticket_no)
                      .outerjoin(units, units.c.unit == rounds.c.unit))
         .where(rounds.c.dispatch_day >= f.start, rounds.c.dispatch_day <= f.end))
    if f.unit:
        q = q.where(rounds.c.unit == f.unit)
    if f.region:
        q = q.where(_in_region(rounds.c.unit, f.region))
    return q, [rounds.c.dispatch_day, rounds.c.ticket_no, rounds.c.round]


def _return_visits(f: Filters) -> tuple[Select[Any], list[Any]]:
    q = (select(visits.c.visit_id, visits.c.ticket_no, visits.c.round, tickets.c.title, visits.c.unit,
                units.c.name.label("unit_name"), units.c.region_code.label("unit_region"), visits.c.visited_at,
                visits.c.resolved, visits.c.satisfaction, visits.c.cause, visits.c.redo, visits.c.case_id,
                visits.c.by_name, visits.c.by_role, visits.c.notes)
         .select_from(visits.outerjoin(tickets, tickets.c.ticket_no == visits.c.ticket_no)
                      .outerjoin(units, units.c.unit == visits.c.unit))
         .where(visits.c.visited_at >= f.since, visits.c.visited_at < f.until))
    if f.unit:
        q = q.where(visits.c.unit == f.unit)
    if f.region:
        q = q.where(_in_region(visits.c.unit, f.region))
    return q, [visits.c.visited_at, visits.c.visit_id]


def _supervision(f: Filters) -> tuple[Select[Any], list[Any]]:
    # one row per letter of a case (a case without a letter: one row); a unit's ledger has only its own letters
    on = letters.c.case_id == cases.c.case_id
    if f.unit:
        on = on & (letters.c.unit == f.unit)
    letter_key = func.coalesce(letters.c.letter_id, literal(""))
    q = (select(cases.c.case_id, cases.c.title, cases.c.level, cases.c.sources, cases.c.red, cases.c.state,
                cases.c.opened_at, cases.c.registered_at, cases.c.informant, letters.c.letter_id,
                letters.c.unit.label("letter_unit"), units.c.name.label("letter_unit_name"),
                letters.c.requirements, letters.c.sent_at, letters.c.due_at, letters.c.replied_at,
                letters.c.reply, letters.c.overdue.label("letter_overdue"), cases.c.concluded_at, cases.c.result,
                cases.c.solved)
         .select_from(cases.outerjoin(letters, on).outerjoin(units, units.c.unit == letters.c.unit))
         .where(cases.c.opened_at >= f.since, cases.c.opened_at < f.until))
    if f.unit:
        q = q.where(cases.c.case_id.in_(select(case_units.c.case_id).where(case_units.c.unit == f.unit)))
    if f.region:
        q = q.where(cases.c.case_id.in_(select(case_units.c.case_id).where(_in_region(case_units.c.unit,
                                                                                     f.region))))
    return q, [cases.c.opened_at, cases.c.case_id, letter_key]


def _accountability(f: Filters) -> tuple[Select[Any], list[Any]]:
    at = func.coalesce(accountability.c.decided_at, accountability.c.proposed_at)
    q = (select(accountability.c.record_id, accountability.c.status, accountability.c.unit,
                units.c.name.label("unit_name"), units.c.region_code.label("unit_region"),
                accountability.c.person_name, accountability.c.person_post, accountability.c.measure,
                accountability.c.reason_category, accountability.c.reason, accountability.c.case_ids,
                accountability.c.ticket_nos, accountability.c.proposed_at, accountability.c.decided_by,
                accountability.c.decided_at)
         .select_from(accountability.outerjoin(units, units.c.unit == accountability.c.unit))
         .where(at >= f.since, at < f.until))
    if f.unit:
        q = q.where(accountability.c.unit == f.unit)
    if f.region:
        q = q.where(_in_region(accountability.c.unit, f.region))
    # the decision time is kept as the column's type (UtcDateTime) so that the keyset compares times, not text
    return q, [func.coalesce(accountability.c.decided_at, accountability.c.proposed_at,
                             type_=accountability.c.decided_at.type), accountability.c.record_id]


STATEMENTS = {"work-orders": _work_orders, "return-visits": _return_visits, "supervision": _supervision,
              "accountability": _accountability}


def _keyed(ledger: str, f: Filters) -> tuple[Select[Any], list[Any]]:
    q, key = STATEMENTS[ledger](f)
    labels = [f"_k{i}" for i in range(len(key))]
    return q.add_columns(*(k.label(n) for k, n in zip(key, labels, strict=True))).order_by(*key), key


async def chunks(rt: Runtime, ledger: str, f: Filters, size: int) -> AsyncGenerator[list[dict[str, Any]], None]:
    """A ledger's rows in order, `size` at a time (as dicts), with the extra lookups the ledger needs."""
    q, key = _keyed(ledger, f)
    read = _streamed(rt, q, size) if is_postgres(rt.engine) else _keyset(rt, q, key, size)
    async with aclosing(read):  # the cursor's session ends when the reader stops, not when it is collected
        async for rows in read:
            yield await _completed(rt, ledger, rows)


async def _streamed(rt: Runtime, q: Select[Any], size: int) -> AsyncGenerator[list[dict[str, Any]], None]:
    async with rt.sm() as session:
        result = await session.stream(q.execution_options(yield_per=size))
        async for part in result.mappings().partitions(size):
            yield [dict(r) for r in part]


async def _keyset(rt: Runtime, q: Select[Any], key: Sequence[Any], size: int) -> AsyncGenerator[
        list[dict[str, Any]], None]:
    after: list[Any] | None = None
    while True:
        page = q.limit(size)
        if after is not None:
            # the leading column's bound lets the index start at the last key's day instead of the period's first
            page = page.where(key[0] >= bindparam(None, after[0], type_=key[0].type),
                              tuple_(*key) > tuple_(*(bindparam(None, v, type_=k.type)
                                                      for k, v in zip(key, after, strict=True))))
        async with rt.sm() as session:  # one short read per chunk: the one connection is free in between
            rows = [dict(r) for r in (await session.execute(page)).mappings()]
        if not rows:
            return
        yield rows
        if len(rows) < size:
            return
        after = [rows[-1][f"_k{i}"] for i in range(len(key))]


async def _completed(rt: Runtime, ledger: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A supervision chunk gets its cases' units (with names) and tickets; a reply is split into its parts."""
    if ledger != "supervision" or not rows:
        return rows
    ids = sorted({r["case_id"] for r in rows})
    async with rt.sm() as session:
        named, linked = await _case_links(session, ids)
    for r in rows:
        r["unit_list"] = "、".join(f"{u} {n}" if n else u for u, n in named.get(r["case_id"], []))
        r["ticket_list"] = "、".join(linked.get(r["case_id"], []))
        reply = r.get("reply") or {}
        r["reply_content"] = reply.get("content")
        r["reply_measures"] = "；".join(reply.get("measures") or []) or None
        r["reply_late"] = reply.get("late")
    return rows


async def _case_links(session: AsyncSession, ids: list[str]) -> tuple[dict[str, list[tuple[str, str | None]]],
                                                                         dict[str, list[str]]]:
    named: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    linked: dict[str, list[str]] = defaultdict(list)
    for cid, unit, name in (await session.execute(
            select(case_units.c.case_id, case_units.c.unit, units.c.name)
            .select_from(case_units.outerjoin(units, units.c.unit == case_units.c.unit))
            .where(case_units.c.case_id.in_(ids)).order_by(case_units.c.case_id, case_units.c.unit))).all():
        named[cid].append((unit, name))
    for cid, no in (await session.execute(
            select(case_tickets.c.case_id, case_tickets.c.ticket_no).where(case_tickets.c.case_id.in_(ids))
            .order_by(case_tickets.c.case_id, case_tickets.c.ticket_no))).all():
        linked[cid].append(no)
    return named, linked
