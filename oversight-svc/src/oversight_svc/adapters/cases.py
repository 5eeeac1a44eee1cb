"""Supervision cases in the database: the case row, its tickets, units, documents and letters; accountability
records and disclosures. Statements the event handlers run for every red ticket and escalation are prebuilt."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared import leases
from bancheng_shared.db import is_postgres, update_statement
from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal
from oversight_svc.adapters.rollups import Rollups
from oversight_svc.adapters.tables import (
    accountability,
    case_documents,
    case_tickets,
    case_units,
    cases,
    disclosures,
    job_runs,
    letters,
    units,
)
from oversight_svc.adapters.writes import run, upsert, upsert_op
from oversight_svc.domain.cases import NewCase
from oversight_svc.domain.ids import new_id
from oversight_svc.domain.metrics import unit_region

_OPEN_CASE_OF_TICKET = (
    select(cases.c.case_id, cases.c.sources, cases.c.red).join(case_tickets, case_tickets.c.case_id == cases.c.case_id)
    .where(case_tickets.c.ticket_no == bindparam("ticket_no"), cases.c.state != "concluded"))
_CASE_UNIT = select(case_units.c.unit).where(
    case_units.c.case_id == bindparam("case_id"), case_units.c.unit == bindparam("unit"))
_INSERT_CASE_UNIT = insert(case_units)
_INSERT_CASE_TICKET = insert(case_tickets)
_INSERT_CASE = insert(cases)
_INSERT_DOC = insert(case_documents)
_COUNT_DOCS = select(func.count()).select_from(case_documents).where(case_documents.c.case_id == bindparam("case_id"))
_CASE = select(cases).where(cases.c.case_id == bindparam("case_id"))
_CASE_LOCKED = _CASE.with_for_update()
_CASE_TICKETS = (select(case_tickets.c.ticket_no).where(case_tickets.c.case_id == bindparam("case_id"))
                 .order_by(case_tickets.c.ticket_no))
_CASE_UNITS = select(case_units.c.unit).where(case_units.c.case_id == bindparam("case_id")).order_by(case_units.c.unit)
_LETTER = select(letters).where(letters.c.letter_id == bindparam("letter_id"),
                                letters.c.case_id == bindparam("case_id"))
_RECORD = select(accountability).where(accountability.c.record_id == bindparam("record_id"))


async def open_cases_of_ticket(session: AsyncSession, ticket_no: str) -> list[Any]:
    """The ticket's cases that are not concluded (case_id, sources, red)."""
    return list((await session.execute(_OPEN_CASE_OF_TICKET, {"ticket_no": ticket_no})).all())


async def load(session: AsyncSession, case_id: str, *, lock: bool = False) -> Any:
    """The case row (locked for a step on PostgreSQL), or 404."""
    q = _CASE_LOCKED if lock and is_postgres(session) else _CASE
    row = (await session.execute(q, {"case_id": case_id})).first()
    if row is None:
        raise Problem(404, f"case {case_id!r} is unknown", type_="unknown-case")
    return row


async def update_case(session: AsyncSession, case_id: str, **vals: Any) -> None:
    """Set columns of a case."""
    await session.execute(update_statement(cases, sorted(vals), ["case_id"]), {**vals, "k_case_id": case_id})


async def tickets_of(session: AsyncSession, case_id: str) -> list[str]:
    """The case's ticket numbers, sorted."""
    return list((await session.execute(_CASE_TICKETS, {"case_id": case_id})).scalars())


async def units_of(session: AsyncSession, case_id: str) -> list[str]:
    """The units the case names, sorted."""
    return list((await session.execute(_CASE_UNITS, {"case_id": case_id})).scalars())


async def key_of(session: AsyncSession, case_id: str) -> str:
    """The envelope key of a case's events: its first ticket, else the case id."""
    nos = await tickets_of(session, case_id)
    return nos[0] if nos else case_id


async def add_unit(session: AsyncSession, rollups: Rollups, case_id: str, unit: str, day: date) -> bool:
    """Name a unit as responsible on a case; counts once toward the unit's 'supervised'."""
    if (await session.execute(_CASE_UNIT, {"case_id": case_id, "unit": unit})).first():
        return False
    await run(session, [
        (_INSERT_CASE_UNIT, {"case_id": case_id, "unit": unit}),
        upsert_op(session, units, ["unit"], {"unit": unit, "region_code": unit_region(unit, None)}, update=[]),
        rollups.increment_op(session, [(unit, day, {"supervised": 1})])])
    return True


async def add_document(session: AsyncSession, case_id: str, kind: str, state_after: str, body: dict[str, Any],
                       who: Principal | None, at: datetime) -> str:
    """A step's document, numbered in order."""
    seq = (await session.execute(_COUNT_DOCS, {"case_id": case_id})).scalar_one() + 1
    doc_id = new_id("DOC")
    await session.execute(_INSERT_DOC, {
        "doc_id": doc_id, "case_id": case_id, "seq": seq, "kind": kind, "state_after": state_after, "body": body,
        "by_name": who.name if who else "oversight-svc", "by_role": who.role.value if who else "system", "at": at})
    return doc_id


async def add(session: AsyncSession, rollups: Rollups, case: NewCase, who: Principal | None, day: date) -> None:
    """Store a new case with its tickets, units (each counted as supervised) and its 'opened' document."""
    await session.execute(_INSERT_CASE, case.row())
    for no in case.ticket_nos:
        await session.execute(_INSERT_CASE_TICKET, {"case_id": case.case_id, "ticket_no": no})
    for u in case.unit_codes:
        await add_unit(session, rollups, case.case_id, u, day)
    await add_document(session, case.case_id, "opened", "opened", case.document(), who, case.at)


async def letter(session: AsyncSession, case_id: str, letter_id: str) -> Any:
    """A letter of a case, or None."""
    return (await session.execute(_LETTER, {"letter_id": letter_id, "case_id": case_id})).first()


async def add_letter(session: AsyncSession, row: dict[str, Any]) -> None:
    """Store a sent letter."""
    await session.execute(insert(letters).values(**row))


async def set_reply(session: AsyncSession, letter_id: str, replied_at: datetime, reply: dict[str, Any]) -> None:
    """Store a letter's reply."""
    await session.execute(update(letters).where(letters.c.letter_id == letter_id)
                          .values(replied_at=replied_at, reply=reply))


async def unanswered_letters(session: AsyncSession, now: datetime, limit: int = 500) -> list[Any]:
    """Letters past their due date, unanswered and not raised yet."""
    return list((await session.execute(select(letters).where(
        letters.c.replied_at.is_(None), letters.c.overdue.is_(False), letters.c.due_at < now).limit(limit))).all())


async def claim_overdue(session: AsyncSession, letter_id: str) -> bool:
    """Mark a letter overdue with a conditional update, so that replicas never raise the same letter twice."""
    res = await session.execute(update(letters).where(letters.c.letter_id == letter_id,
                                                      letters.c.overdue.is_(False)).values(overdue=True))
    return res.rowcount == 1  # type: ignore[attr-defined]


LETTER_JOB = "letter_check"


async def finish_letter_check(session: AsyncSession, period: str, me: str, now: datetime) -> bool:
    """The letter check of a period is done (in the transaction that raised its letters), if `me` still holds it."""
    return await leases.finish_period(session, job_runs, LETTER_JOB, period, me=me, now=now)


async def record(session: AsyncSession, record_id: str) -> Any:
    """An accountability record, or None."""
    return (await session.execute(_RECORD, {"record_id": record_id})).first()


async def add_record(session: AsyncSession, row: dict[str, Any]) -> None:
    """Store an accountability record (proposed or decided)."""
    await session.execute(insert(accountability).values(**row))


async def update_record(session: AsyncSession, record_id: str, values: dict[str, Any]) -> None:
    """Set columns of an accountability record."""
    await session.execute(update(accountability).where(accountability.c.record_id == record_id).values(**values))


async def known_cases(session: AsyncSession, case_ids: list[str]) -> set[str]:
    """Which of these case ids exist."""
    if not case_ids:
        return set()
    return set((await session.execute(select(cases.c.case_id).where(cases.c.case_id.in_(case_ids)))).scalars())


async def accountable_names(session: AsyncSession, case_id: str) -> list[str]:
    """Names of the people held accountable in a case's records (to strip them from what is published)."""
    rows = (await session.execute(select(accountability.c.person_name, accountability.c.case_ids)
                                  .where(accountability.c.case_ids.is_not(None)))).all()
    return [r.person_name for r in rows if r.person_name and case_id in (r.case_ids or [])]


async def unit_names(session: AsyncSession, unit_codes: list[str]) -> dict[str, str | None]:
    """Unit code -> name, for the units known."""
    rows = (await session.execute(select(units.c.unit, units.c.name).where(units.c.unit.in_(unit_codes)))).all()
    return {u.unit: u.name for u in rows}


async def put_disclosure(session: AsyncSession, row: dict[str, Any]) -> None:
    """Publish (or publish again) a case's disclosure."""
    await upsert(session, disclosures, ["case_id"], row)
