"""Supervision cases: opening (red ticket, escalation, hotspot, by hand), the steps of the state machine
with their documents, supervision letters and the overdue-letter check."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.auth import Principal, Role
from bancheng_shared.calendar import UnknownYearError, WorkingCalendar, seed_years
from bancheng_shared.contracts import EventEnvelope
from bancheng_shared.contracts.envelope import make_event
from bancheng_shared.contracts.oversight import (
    CaseConcluded,
    CaseOpened,
    CaseRaised,
    CaseStepRecorded,
    RedoOrdered,
)
from bancheng_shared.db import update_statement
from bancheng_shared.problems import Problem
from bancheng_shared.runtime import Runtime
from bancheng_shared.topics import OVERSIGHT_CASES
from oversight_svc import domain
from oversight_svc.store import (
    accountability,
    case_documents,
    case_tickets,
    case_units,
    cases,
    disclosures,
    increment,
    increment_op,
    letters,
    run,
    tickets,
    units,
    upsert,
    upsert_op,
)

SERVICE = "oversight-svc"

# Statements built once, each call only brings its parameters (see store): the event handlers run them for
# every dispatch, red ticket and escalation.
_OPEN_CASES_OF_TICKET = (
    select(cases).join(case_tickets, case_tickets.c.case_id == cases.c.case_id)
    .where(case_tickets.c.ticket_no == bindparam("ticket_no"), cases.c.state != "concluded"))
_OPEN_CASE_IDS_OF_TICKET = (
    select(cases.c.case_id).join(case_tickets, case_tickets.c.case_id == cases.c.case_id)
    .where(case_tickets.c.ticket_no == bindparam("ticket_no"), cases.c.state != "concluded"))
_CASE_UNIT = select(case_units.c.unit).where(
    case_units.c.case_id == bindparam("case_id"), case_units.c.unit == bindparam("unit"))
_INSERT_CASE_UNIT = insert(case_units)
_INSERT_CASE_TICKET = insert(case_tickets)
_INSERT_CASE = insert(cases)
_INSERT_DOC = insert(case_documents)
_COUNT_DOCS = select(func.count()).select_from(case_documents).where(case_documents.c.case_id == bindparam("case_id"))
_TICKET = select(tickets).where(tickets.c.ticket_no == bindparam("ticket_no"))
_CASE = select(cases).where(cases.c.case_id == bindparam("case_id"))


async def _update_case(session: AsyncSession, case_id: str, **vals: Any) -> None:
    await session.execute(update_statement(cases, sorted(vals), ["case_id"]), {**vals, "k_case_id": case_id})


def new_id(prefix: str) -> str:
    """A short unique id with a readable prefix."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _tz(rt: Runtime) -> ZoneInfo:
    return ZoneInfo(getattr(rt.settings, "timezone", "Asia/Shanghai"))


async def _publish(rt: Runtime, session: AsyncSession, payload: Any, key: str,
                   causation: EventEnvelope | None = None) -> None:
    env = make_event(payload, ticket_id=key, producer=SERVICE, causation=causation)
    await rt.publish(session, [env], OVERSIGHT_CASES)


async def _case_tickets(session: AsyncSession, case_id: str) -> list[str]:
    q = select(case_tickets.c.ticket_no).where(case_tickets.c.case_id == case_id).order_by(case_tickets.c.ticket_no)
    return list((await session.execute(q)).scalars())


async def _case_units(session: AsyncSession, case_id: str) -> list[str]:
    q = select(case_units.c.unit).where(case_units.c.case_id == case_id).order_by(case_units.c.unit)
    return list((await session.execute(q)).scalars())


async def _key_of(session: AsyncSession, case_id: str) -> str:
    nos = await _case_tickets(session, case_id)
    return nos[0] if nos else case_id


async def _add_unit(rt: Runtime, session: AsyncSession, case_id: str, unit: str, at: datetime) -> bool:
    """Name a unit as responsible on a case; counts once toward the unit's 'supervised'."""
    exists = (await session.execute(_CASE_UNIT, {"case_id": case_id, "unit": unit})).first()
    if exists:
        return False
    await run(session, [
        (_INSERT_CASE_UNIT, {"case_id": case_id, "unit": unit}),
        upsert_op(session, units, ["unit"], {"unit": unit, "region_code": domain.unit_region(unit, None)}, update=[]),
        increment_op(session, [(unit, at.astimezone(_tz(rt)).date(), {"supervised": 1})])])
    return True


async def _doc(session: AsyncSession, case_id: str, kind: str, state_after: str, body: dict[str, Any],
               who: Principal | None, at: datetime) -> str:
    seq = (await session.execute(_COUNT_DOCS, {"case_id": case_id})).scalar_one() + 1
    doc_id = new_id("DOC")
    await session.execute(_INSERT_DOC, dict(
        doc_id=doc_id, case_id=case_id, seq=seq, kind=kind, state_after=state_after, body=body,
        by_name=who.name if who else "oversight-svc", by_role=who.role.value if who else "system", at=at))
    return doc_id


async def create_case(rt: Runtime, session: AsyncSession, *, title: str, source: str, at: datetime,
                      ticket_nos: list[str], unit_codes: list[str], red: bool, summary: str | None = None,
                      informant: str | None = None, inspector: str | None = None, hotspot_id: str | None = None,
                      who: Principal | None = None, causation: EventEnvelope | None = None) -> str:
    """Insert a case in state 'opened' with its tickets and units, and publish CaseOpened."""
    case_id = new_id("CASE")
    await session.execute(_INSERT_CASE, dict(
        case_id=case_id, title=title, state="opened", level="normal", sources=[source], inspector=inspector,
        informant=informant, summary=summary, hotspot_id=hotspot_id, red=red, opened_at=at, updated_at=at))
    for no in sorted(set(ticket_nos)):
        await session.execute(_INSERT_CASE_TICKET, {"case_id": case_id, "ticket_no": no})
    for u in sorted(set(unit_codes)):
        await _add_unit(rt, session, case_id, u, at)
    await _doc(session, case_id, "opened", "opened", {"source": source, "title": title, "summary": summary},
               who, at)
    await _publish(rt, session, CaseOpened(case_id=case_id, source=source, units=sorted(set(unit_codes)),
                                           opened_at=at, ticket_nos=sorted(set(ticket_nos)), title=title),
                   ticket_nos[0] if ticket_nos else case_id, causation)
    return case_id


async def ensure_case_for_ticket(rt: Runtime, session: AsyncSession, env: EventEnvelope, *, source: str,
                                 red: bool, unit: str | None = None, reason: str | None = None) -> str:
    """The open case of a ticket, opened now if there is none; a new source or unit is added to it."""
    row = (await session.execute(_OPEN_CASES_OF_TICKET, {"ticket_no": env.ticket_id})).first()
    at = env.occurred_at
    if row is not None:
        vals: dict[str, Any] = {"updated_at": at}
        if source not in row.sources:
            vals["sources"] = [*row.sources, source]
        if red and not row.red:
            vals["red"] = True
        await _update_case(session, row.case_id, **vals)
        if unit:
            await _add_unit(rt, session, row.case_id, unit, at)
        return str(row.case_id)
    t = (await session.execute(_TICKET, {"ticket_no": env.ticket_id})).first()
    unit_codes = [unit] if unit else ([t.lead_unit] if t is not None and t.lead_unit else [])
    label = {"red_ticket": "红灯诉求件 red ticket", "escalation": "督办 escalation"}.get(source, source)
    title = f"{label} {env.ticket_id}" + (f": {t.title}" if t is not None and t.title else "")
    return await create_case(rt, session, title=title, source=source, at=at, ticket_nos=[env.ticket_id],
                             unit_codes=unit_codes, red=red, summary=reason, causation=env)


async def add_supervisors(rt: Runtime, session: AsyncSession, case_id: str, kinds: list[str], unit_codes: list[str],
                          body: dict[str, Any], at: datetime) -> bool:
    """Name supervising departments (and their units) on a case, with a document; False when nothing was new."""
    row = await load_case(session, case_id)
    old_kinds, old_units = list(row.supervisors or []), list(row.supervisor_units or [])
    new_kinds, new_units = sorted({*old_kinds, *kinds}), sorted({*old_units, *unit_codes})
    if new_kinds == sorted(old_kinds) and new_units == sorted(old_units):
        return False
    await _update_case(session, case_id, supervisors=new_kinds, supervisor_units=new_units, updated_at=at)
    await _doc(session, case_id, "supervision_copy", row.state, body, None, at)
    return True


async def add_unit_to_open_cases(rt: Runtime, session: AsyncSession, ticket_no: str, unit: str,
                                 at: datetime) -> None:
    """A dispatch names the responsible unit on the ticket's open cases."""
    for case_id in (await session.execute(_OPEN_CASE_IDS_OF_TICKET, {"ticket_no": ticket_no})).scalars():
        await _add_unit(rt, session, case_id, unit, at)


# ---- reading ----

async def load_case(session: AsyncSession, case_id: str, *, lock: bool = False) -> Any:
    """The case row, or 404."""
    q = _CASE
    if lock and session.bind is not None and session.bind.dialect.name == "postgresql":
        q = q.with_for_update()
    row = (await session.execute(q, {"case_id": case_id})).first()
    if row is None:
        raise Problem(404, f"case {case_id!r} is unknown", type_="unknown-case")
    return row


def _check_scope(who: Principal, case_unit_codes: list[str]) -> None:
    if who.role == Role.unit and who.unit_code not in case_unit_codes:
        # 404 rather than 403: a unit must not learn that cases about others exist
        raise Problem(404, "case is unknown", type_="unknown-case")


async def case_view(session: AsyncSession, row: Any, who: Principal, *, full: bool = True) -> dict[str, Any]:
    """A case as the caller may see it (the informant only for inspectors and the supervision office)."""
    unit_codes = await _case_units(session, row.case_id)
    _check_scope(who, unit_codes)
    out: dict[str, Any] = {
        "case_id": row.case_id, "title": row.title, "state": row.state, "level": row.level,
        "sources": row.sources, "red": bool(row.red), "inspector": row.inspector, "summary": row.summary,
        "units": unit_codes, "ticket_nos": await _case_tickets(session, row.case_id),
        "supervisors": list(row.supervisors or []), "supervisor_units": list(row.supervisor_units or []),
        "hotspot_id": row.hotspot_id, "opened_at": row.opened_at, "registered_at": row.registered_at,
        "concluded_at": row.concluded_at, "result": row.result, "solved": row.solved,
        "allowed_actions": sorted(domain.TRANSITIONS.get(row.state, {})),
    }
    if who.role != Role.unit:
        out["informant"] = row.informant
    if full:
        docs = (await session.execute(select(case_documents).where(case_documents.c.case_id == row.case_id)
                                      .order_by(case_documents.c.seq))).all()
        out["documents"] = [{"doc_id": d.doc_id, "seq": d.seq, "kind": d.kind, "state_after": d.state_after,
                             "body": d.body, "by": d.by_name, "role": d.by_role, "at": d.at} for d in docs]
        ls = (await session.execute(select(letters).where(letters.c.case_id == row.case_id)
                                    .order_by(letters.c.sent_at))).all()
        out["letters"] = [letter_view(x) for x in ls]
    return out


def letter_view(x: Any) -> dict[str, Any]:
    """A supervision letter and its reply."""
    return {"letter_id": x.letter_id, "unit": x.unit, "requirements": x.requirements, "due_at": x.due_at,
            "sent_at": x.sent_at, "replied_at": x.replied_at, "reply": x.reply, "overdue": bool(x.overdue)}


async def list_cases(session: AsyncSession, who: Principal, *, state: str | None, unit: str | None,
                     ticket_no: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    """Cases, newest first; a unit key sees only cases naming its unit."""
    q = select(cases).order_by(cases.c.opened_at.desc(), cases.c.case_id).limit(limit).offset(offset)
    if who.role == Role.unit:
        unit = who.unit_code
    if unit:
        q = q.where(cases.c.case_id.in_(select(case_units.c.case_id).where(case_units.c.unit == unit)))
    if ticket_no:
        q = q.where(cases.c.case_id.in_(select(case_tickets.c.case_id).where(case_tickets.c.ticket_no == ticket_no)))
    if state:
        q = q.where(cases.c.state == state)
    rows = (await session.execute(q)).all()
    return [await case_view(session, r, who, full=False) for r in rows]


# ---- steps ----

def letter_due(rt: Runtime, sent: datetime, due_date: date | None, working_days: int | None) -> datetime:
    """End of the due day (local time): a given date, or N working days after sending (statutory calendar)."""
    tz = _tz(rt)
    local_sent = sent.astimezone(tz).date()
    if due_date is None:
        n = working_days or rt.settings.letter_default_working_days  # type: ignore[attr-defined]
        try:
            cal = WorkingCalendar(seed_years(range(local_sent.year, local_sent.year + 2)))
            due_date = cal.add_working_days(local_sent, n)
        except (UnknownYearError, ValueError) as exc:
            raise Problem(422, f"working_days: the calendar cannot count from {local_sent} ({exc}); "
                               "give due_date instead", type_="unknown-calendar-year") from exc
    if due_date < local_sent:
        raise Problem(422, f"due_date: {due_date} is before the letter is sent ({local_sent})", type_="validation")
    return datetime.combine(due_date, time(23, 59, 59), tzinfo=tz).astimezone(UTC)


async def act(rt: Runtime, session: AsyncSession, case_id: str, action: str, body: dict[str, Any],
              who: Principal) -> dict[str, Any]:
    """Apply one step of the state machine with its document; 409 names the state and the allowed actions."""
    row = await load_case(session, case_id, lock=True)
    unit_codes = await _case_units(session, case_id)
    _check_scope(who, unit_codes)
    try:
        new_state = domain.next_state(row.state, action)
    except domain.TransitionError as exc:
        raise Problem(409, str(exc), type_="invalid-transition", state=exc.state,
                      allowed_actions=exc.allowed) from exc
    now = datetime.now(UTC)
    vals: dict[str, Any] = {"state": new_state, "updated_at": now}
    event_extra: dict[str, Any] = {}
    key = await _key_of(session, case_id)
    doc_body = dict(body)

    if action == "register":
        vals["registered_at"] = now
        vals["inspector"] = body.get("inspector") or who.name
        doc_body["inspector"] = vals["inspector"]
    elif action == "send_letter":
        unit = body["unit"]
        if unit not in unit_codes:
            await _add_unit(rt, session, case_id, unit, now)
        due_at = letter_due(rt, now, body.get("due_date"), body.get("working_days"))
        letter_id = new_id("LTR")
        await session.execute(insert(letters).values(
            letter_id=letter_id, case_id=case_id, unit=unit, requirements=body["requirements"], due_at=due_at,
            sent_at=now, overdue=False))
        doc_body = {"letter_id": letter_id, "unit": unit, "requirements": body["requirements"],
                    "due_at": due_at.isoformat()}
        event_extra = {"letter_id": letter_id, "unit": unit, "due_at": due_at}
    elif action == "reply":
        letter_id = body["letter_id"]
        lt = (await session.execute(select(letters).where(letters.c.letter_id == letter_id,
                                                          letters.c.case_id == case_id))).first()
        if lt is None:
            raise Problem(404, f"letter {letter_id!r} is unknown on case {case_id}", type_="unknown-letter")
        if who.role != Role.admin and who.unit_code != lt.unit:
            raise Problem(403, f"only the unit {lt.unit} answers this letter, with its own unit key",
                          type_="forbidden")
        if lt.replied_at is not None:
            raise Problem(409, f"letter {letter_id} was already answered at {lt.replied_at.isoformat()}",
                          type_="already-replied", state=row.state,
                          allowed_actions=sorted(domain.TRANSITIONS.get(row.state, {})))
        late = now > lt.due_at or bool(lt.overdue)  # the overdue check may have run on another clock
        reply = {"content": body["content"], "measures": body.get("measures") or [], "late": late}
        await session.execute(update(letters).where(letters.c.letter_id == letter_id)
                              .values(replied_at=now, reply=reply))
        doc_body = {"letter_id": letter_id, **reply}
        event_extra = {"letter_id": letter_id, "unit": lt.unit}
    elif action == "order_redo":
        nos = await _case_tickets(session, case_id)
        for no in nos:
            t = (await session.execute(select(tickets).where(tickets.c.ticket_no == no))).first()
            rnd = int(t.round) if t is not None else 1
            unit = t.lead_unit if t is not None else None
            await _publish(rt, session, RedoOrdered(reason=body["reason"], round=rnd, ordered_at=now,
                                                    unit=unit, case_id=case_id), no)
            if unit:
                await increment(session, unit, now.astimezone(_tz(rt)).date(), {"redone": 1})
        doc_body = {"reason": body["reason"], "ticket_nos": nos}
    elif action == "conclude":
        vals.update(concluded_at=now, result=body["result"], solved=body["solved"])
        doc_body = {
            "title": "调查办理结果反馈单 result feedback sheet",
            "result": body["result"], "solved": body["solved"], "findings": body.get("findings"),
            "sent_to": ["hotline_center", *unit_codes],
        }
    elif action == "publish":
        names = [r.person_name for r in (await session.execute(select(accountability).where(
            accountability.c.case_ids.is_not(None)))).all() if r.person_name and case_id in (r.case_ids or [])]
        if row.informant:
            names.append(row.informant)
        unit_names = {u.unit: u.name for u in (await session.execute(select(units).where(
            units.c.unit.in_(unit_codes)))).all()}
        await upsert(session, disclosures, ["case_id"], {
            "case_id": case_id,
            "title": domain.strip_pii(body["title"], names),
            "summary": domain.strip_pii(body["summary"], names),
            "outcome": domain.strip_pii(body.get("outcome") or row.result or "", names),
            "units": [unit_names.get(u) or u for u in unit_codes],
            "concluded_on": row.concluded_at.astimezone(_tz(rt)).date() if row.concluded_at else None,
            "published_at": now,
        })
        doc_body = {"published": True}
    await session.execute(update(cases).where(cases.c.case_id == case_id).values(**vals))
    await _doc(session, case_id, action, new_state, _jsonable(doc_body), who, now)
    if action == "conclude":
        await _publish(rt, session, CaseConcluded(case_id=case_id, result=body["result"], concluded_at=now,
                                                  solved=body["solved"], units=unit_codes), key)
    elif action != "publish":
        await _publish(rt, session, CaseStepRecorded(case_id=case_id, step=action, state=new_state, at=now,
                                                     **event_extra), key)
    return await case_view(session, await load_case(session, case_id), who)


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    if isinstance(v, datetime | date):
        return v.isoformat()
    return v


async def check_letters(rt: Runtime, now: datetime | None = None) -> int:
    """Raise the cases whose letters passed their due date unanswered, proposing accountability."""
    now = now or datetime.now(UTC)
    raised = 0
    async with rt.sm() as session, session.begin():
        due = (await session.execute(select(letters).where(
            letters.c.replied_at.is_(None), letters.c.overdue.is_(False), letters.c.due_at < now)
            .limit(500))).all()
        for lt in due:
            # claim with a conditional update so that replicas never raise the same letter twice
            res = await session.execute(update(letters).where(letters.c.letter_id == lt.letter_id,
                                                              letters.c.overdue.is_(False)).values(overdue=True))
            if res.rowcount != 1:  # type: ignore[attr-defined]
                continue
            case = await load_case(session, lt.case_id)
            await session.execute(update(cases).where(cases.c.case_id == lt.case_id)
                                  .values(level="raised", updated_at=now))
            record_id = new_id("ACC")
            reason = f"督办函 {lt.letter_id} 逾期未回复 (due {lt.due_at.isoformat()}): supervision letter unanswered"
            await session.execute(insert(accountability).values(
                record_id=record_id, status="proposed", unit=lt.unit, reason_category="慢作为", reason=reason,
                case_ids=[lt.case_id], ticket_nos=await _case_tickets(session, lt.case_id), proposed_at=now))
            await _doc(session, lt.case_id, "letter_overdue", case.state,
                       {"letter_id": lt.letter_id, "unit": lt.unit, "due_at": lt.due_at.isoformat(),
                        "accountability_proposed": record_id}, None, now)
            await _publish(rt, session, CaseRaised(case_id=lt.case_id, letter_id=lt.letter_id, unit=lt.unit,
                                                   due_at=lt.due_at, raised_at=now, accountability_id=record_id),
                           await _key_of(session, lt.case_id))
            raised += 1
    if raised:
        rt.relay.wake()
    return raised
