"""intake use cases: register (or merge) a request, follow-ups, the operator and public views, lists."""

from __future__ import annotations

import base64
import secrets
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import and_, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.auth import PII_ROLES, Principal, Role
from bancheng_shared.contracts import make_event
from bancheng_shared.contracts.intake import FollowUpAdded
from bancheng_shared.problems import Problem
from bancheng_shared.topics import INTAKE_TICKETS
from intake_svc import domain
from intake_svc.context import Intake
from intake_svc.merging import place_key
from intake_svc.models import FollowUpCreate, TicketBatch, TicketBatchCreated, TicketCreate, TicketCreated
from intake_svc.pii import mask_id, mask_name, mask_phone
from intake_svc.registration import Registration, register_all
from intake_svc.similarity import shingles
from intake_svc.store import follow_ups, pii_access_log, repeats, submissions, tickets, timeline

SERVICE = "intake-svc"


def field_problem(field: str, message: str, status: int = 422) -> Problem:
    """A validation problem naming one field."""
    return Problem(status, f"{field}: {message}", type_="validation", errors=[{"field": field, "message": message}])


def _registration(ctx: Intake, body: TicketCreate, caller: Principal, idempotency_key: str | None,
                  correlation_id: str, platform: str | None, field: str = "") -> Registration:
    """Check what needs the settings, protect the PII and sign the text (no I/O)."""
    s = ctx.settings
    if body.location and body.location.region_code and s.region_prefixes and not any(
        body.location.region_code.startswith(p) for p in s.region_prefixes
    ):
        raise field_problem(f"{field}location.region_code", "not a region of this platform's directory")
    c = body.complainant
    phone = c.phone if c else None
    idn = c.id_number if c else None
    sh = shingles(body.content)  # the MinHash signature is computed with the group's (registration.py)
    return Registration(
        body=body, caller=caller, idempotency_key=idempotency_key, correlation_id=correlation_id,
        platform=platform, fingerprint=domain.request_hash({"body": body.model_dump(mode="json"),
                                                            "platform": platform}),
        phone=phone, phone_enc=ctx.vault.encrypt(phone, "phone"), phone_hash=ctx.vault.hash(phone, "phone"),
        id_number=idn, id_hash=ctx.vault.hash(idn, "id"),
        place=place_key(body.location.region_code if body.location else None,
                        body.location.address if body.location else None),
        shingles=sh,
    )


async def register_ticket(
    ctx: Intake, body: TicketCreate, *, caller: Principal, idempotency_key: str | None, correlation_id: str,
    platform: str | None = None,
) -> TicketCreated:
    """Register a request as a ticket, or merge it into the open ticket it repeats; once per key / channel id."""
    reg = _registration(ctx, body, caller, idempotency_key, correlation_id, platform)
    return await ctx.group_commit.register(reg)


async def register_batch(ctx: Intake, batch: TicketBatch, *, caller: Principal, idempotency_key: str | None,
                         correlation_id: str) -> TicketBatchCreated:
    """Register many requests in one transaction: all of them or none (each merged or created as one alone)."""
    regs = [
        # under one Idempotency-Key the whole batch replays: each item gets its own key from it
        _registration(ctx, item, caller, f"{idempotency_key}#{i}" if idempotency_key else None, correlation_id,
                      None, f"items[{i}].")
        for i, item in enumerate(batch.items)
    ]
    answers = await register_all(ctx, regs)
    return TicketBatchCreated(
        items=answers, created=sum(not a.merged and not a.replayed for a in answers),
        merged=sum(a.merged and not a.replayed for a in answers), replayed=sum(a.replayed for a in answers),
    )


# ---------------------------------------------------------------- reading


async def _ticket_row(session: AsyncSession, ticket_no: str, who: Principal | None) -> Any:
    row = (await session.execute(select(tickets).where(tickets.c.ticket_no == ticket_no))).first()
    # a unit key must not learn that other units' tickets exist: same answer as an unknown number
    if row is None or (who is not None and not who.can_see_unit(row.unit)):
        raise Problem(404, f"no ticket numbered {ticket_no!r}", type_="unknown-ticket")
    return row


def _is_report(row: Any) -> bool:
    return "report" in (row.category, row.category_hint)


def complainant_view(ctx: Intake, row: Any, who: Principal) -> tuple[dict[str, Any] | None, list[str]]:
    """The complainant as this caller may see it, and which PII fields were shown in full."""
    if row.anonymous and not row.enterprise_name:
        return {"anonymous": True}, []
    if who.role == Role.unit and _is_report(row):
        # 举报: the unit reported on never learns who informed
        return {"hidden": True, "reason": "举报人信息不向被举报单位提供 / informant withheld"}, []
    v = ctx.vault
    name, phone, idn = v.decrypt(row.name_enc, "name"), v.decrypt(row.phone_enc, "phone"), v.decrypt(row.id_enc, "id")
    enterprise = ({"name": row.enterprise_name, "credit_code": row.credit_code} if row.enterprise_name else None)
    if who.role in PII_ROLES:
        shown = [f for f, val in (("name", name), ("phone", phone), ("id_number", idn)) if val]
        return {"anonymous": bool(row.anonymous), "name": name, "phone": phone, "id_number": idn,
                "enterprise": enterprise, "masked": False}, shown
    return {"anonymous": bool(row.anonymous), "name": mask_name(name), "phone": mask_phone(phone),
            "id_number": mask_id(idn), "enterprise": enterprise, "masked": True}, []


async def _audit(session: AsyncSession, who: Principal, ticket_no: str, fields: list[str], route: str) -> None:
    if fields:
        await session.execute(insert(pii_access_log).values(
            at=datetime.now(UTC), key_id=who.key_id, key_name=who.name, role=who.role.value, ticket_no=ticket_no,
            fields=fields, route=route,
        ))


async def get_ticket(ctx: Intake, ticket_no: str, who: Principal, route: str) -> dict[str, Any]:
    """The operator's view of a ticket with its whole timeline, repeats and follow-ups (PII per role, audited)."""
    async with ctx.rt.sm() as session, session.begin():
        row = await _ticket_row(session, ticket_no, who)
        steps = (await session.execute(select(timeline).where(timeline.c.ticket_no == ticket_no)
                                       .order_by(timeline.c.at, timeline.c.id))).all()
        reps = (await session.execute(select(repeats).where(repeats.c.ticket_no == ticket_no)
                                      .order_by(repeats.c.seq))).all()
        ups = (await session.execute(select(follow_ups).where(follow_ups.c.ticket_no == ticket_no)
                                     .order_by(follow_ups.c.id))).all()
        complainant, shown = complainant_view(ctx, row, who)
        full = who.role in PII_ROLES
        hide_informant = who.role == Role.unit and _is_report(row)
        rep_views = []
        for r in reps:
            phone = ctx.vault.decrypt(r.phone_enc, "phone")
            if phone and full:
                shown.append(f"repeats[{r.seq}].phone")
            rep_views.append({
                "seq": r.seq, "channel": r.channel, "content": r.content, "same_person": r.same_person,
                "similarity": r.similarity, "received_at": r.received_at,
                "phone": None if hide_informant else (phone if full else mask_phone(phone)),
            })
        await _audit(session, who, ticket_no, shown, route)
    data = _summary(row)
    data.update(
        title=row.title, content=row.content, address=row.address, longitude=row.longitude, latitude=row.latitude,
        happened_at=row.happened_at, external_id=row.external_id, attachments=row.attachments or [],
        complainant=complainant, repeats=rep_views,
        follow_ups=[{"content": u.content, "added_at": u.added_at} for u in ups],
        timeline=[{"at": st.at, "event": st.event_type, "label": st.label, "public": bool(st.public)}
                  for st in steps],
    )
    return data


def _summary(row: Any) -> dict[str, Any]:
    return {
        "ticket_no": row.ticket_no, "channel": row.channel, "platform": row.platform, "status": row.status,
        "status_label": row.status_label, "tier": row.tier, "category": row.category or row.category_hint,
        "region_code": row.region_code, "unit": row.unit, "unit_name": row.unit_name, "deadline": row.deadline,
        "alert_level": row.alert_level, "repeat_count": row.repeat_count, "received_at": row.received_at,
        "updated_at": row.updated_at,
    }


def _encode_cursor(ticket_no: str) -> str:
    return base64.urlsafe_b64encode(ticket_no.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except Exception as exc:
        raise field_problem("cursor", "not a cursor this service issued", 400) from exc
    if not raw.startswith("BC") or len(raw) > 40:
        raise field_problem("cursor", "not a cursor this service issued", 400)
    return raw


async def list_tickets(ctx: Intake, who: Principal, *, status: str | None, tier: str | None, channel: str | None,
                       unit: str | None, category: str | None, received_from: datetime | None,
                       received_to: datetime | None, cursor: str | None, limit: int) -> dict[str, Any]:
    """Tickets newest first with filters and a cursor; a unit key sees only tickets now at its unit."""
    conds = []
    if who.role == Role.unit:
        if unit and unit != who.unit_code:
            raise Problem(403, "a unit key lists only its own unit's tickets", type_="forbidden")
        unit = who.unit_code
    for col, val in ((tickets.c.status, status), (tickets.c.tier, tier), (tickets.c.channel, channel),
                     (tickets.c.unit, unit)):
        if val:
            conds.append(col == val)
    if category:
        conds.append(or_(tickets.c.category == category,
                         and_(tickets.c.category.is_(None), tickets.c.category_hint == category)))
    if received_from:
        conds.append(tickets.c.received_at >= received_from)
    if received_to:
        conds.append(tickets.c.received_at < received_to)
    if cursor:
        # ticket numbers sort by time of receipt, so the last number seen is the cursor
        conds.append(tickets.c.ticket_no < _decode_cursor(cursor))
    async with ctx.rt.sm() as session:
        rows = (await session.execute(select(tickets).where(*conds).order_by(tickets.c.ticket_no.desc())
                                      .limit(limit + 1))).all()
    items = [_summary(r) for r in rows[:limit]]
    nxt = _encode_cursor(rows[limit - 1].ticket_no) if len(rows) > limit else None
    return {"items": items, "next_cursor": nxt}


# ---------------------------------------------------------------- the person's own access


def _throttle(ctx: Intake, ticket_no: str) -> None:
    now = time.monotonic()
    window = ctx.settings.public_lookup_window_s
    fails = [t for t in ctx.lookup_failures.get(ticket_no, []) if now - t < window]
    ctx.lookup_failures[ticket_no] = fails
    if len(fails) >= ctx.settings.public_lookup_max_failures:
        raise Problem(429, "too many failed lookups of this ticket number; try again later", type_="throttled")


def _fail(ctx: Intake, ticket_no: str) -> Problem:
    if len(ctx.lookup_failures) > 100_000:
        ctx.lookup_failures.clear()
    ctx.lookup_failures.setdefault(ticket_no, []).append(time.monotonic())
    # one answer for "no such ticket" and "wrong proof": the lookup must not confirm that a number exists
    return Problem(404, "no ticket matches this number and proof (last four phone digits or tracking token)",
                   type_="unknown-ticket")


async def _proven(ctx: Intake, session: AsyncSession, ticket_no: str, phone_last4: str | None,
                  token: str | None) -> Any:
    """The ticket row when the proof matches, else None."""
    row = (await session.execute(select(tickets).where(tickets.c.ticket_no == ticket_no))).first()
    if row is None or not (phone_last4 or token):
        return None
    if token:
        sub = (await session.execute(select(submissions.c.ticket_no)
                                     .where(submissions.c.token_hash == domain.token_hash(token)))).first()
        if sub is not None and sub.ticket_no == ticket_no:
            return row
    if phone_last4:
        phones = [ctx.vault.decrypt(row.phone_enc, "phone")]
        phones += [ctx.vault.decrypt(r.phone_enc, "phone") for r in (await session.execute(
            select(repeats.c.phone_enc).where(repeats.c.ticket_no == ticket_no,
                                              repeats.c.phone_enc.is_not(None)))).all()]
        if any(p and secrets.compare_digest(p[-4:], phone_last4) for p in phones):
            return row
    return None


async def public_lookup(ctx: Intake, ticket_no: str, phone_last4: str | None, token: str | None) -> dict[str, Any]:
    """Status and public steps only, for whoever proves they asked (last four phone digits or the token)."""
    _throttle(ctx, ticket_no)
    async with ctx.rt.sm() as session:
        row = await _proven(ctx, session, ticket_no, phone_last4, token)
        if row is None:
            raise _fail(ctx, ticket_no)
        steps = (await session.execute(
            select(timeline.c.at, timeline.c.label).where(timeline.c.ticket_no == ticket_no, timeline.c.public == 1)
            .order_by(timeline.c.at, timeline.c.id))).all()
    return {
        "ticket_no": row.ticket_no, "status": row.status, "status_label": row.status_label,
        "received_at": row.received_at, "steps": [{"at": s.at, "label": s.label} for s in steps],
    }


async def track_by_token(ctx: Intake, token: str) -> dict[str, Any]:
    """The public view by tracking token alone."""
    async with ctx.rt.sm() as session:
        sub = (await session.execute(select(submissions.c.ticket_no)
                                     .where(submissions.c.token_hash == domain.token_hash(token)))).first()
    if sub is None:
        raise Problem(404, "no ticket matches this tracking token", type_="unknown-ticket")
    return await public_lookup(ctx, sub.ticket_no, None, token)


async def add_follow_up(ctx: Intake, ticket_no: str, body: FollowUpCreate, who: Principal,
                        correlation_id: str) -> dict[str, Any]:
    """The person adds to their own ticket (front ends must pass the person's proof; operators need none)."""
    now = datetime.now(UTC)
    async with ctx.rt.sm() as session, session.begin():
        if who.role in (Role.operator, Role.admin):
            row = await _ticket_row(session, ticket_no, who)
        else:
            row = await _proven(ctx, session, ticket_no, body.phone_last4, body.token)
            if row is None:
                raise Problem(404, "no ticket matches this number and proof (phone_last4 or token)",
                              type_="unknown-ticket")
        if row.status in ctx.settings.closed_statuses:
            raise Problem(409, f"ticket {ticket_no} is {row.status_label}; file a new request instead",
                          type_="ticket-closed")
        await session.execute(insert(follow_ups).values(ticket_no=ticket_no, content=body.content,
                                                        added_by=who.key_id, added_at=now))
        await session.execute(insert(timeline).values(ticket_no=ticket_no, at=now, event_type="FollowUpAdded",
                                                      label="诉求人补充了材料", public=1))
        await ctx.rt.publish(session, [make_event(FollowUpAdded(content=body.content, added_at=now),
                                                  ticket_id=ticket_no, producer=SERVICE,
                                                  correlation_id=correlation_id, occurred_at=now)],
                             INTAKE_TICKETS)
        count = (await session.execute(select(func.count()).select_from(follow_ups)
                                       .where(follow_ups.c.ticket_no == ticket_no))).scalar_one()
    ctx.rt.relay.wake()
    return {"ticket_no": ticket_no, "follow_ups": count, "added_at": now}


async def pii_access(ctx: Intake, ticket_no: str | None, limit: int) -> list[dict[str, Any]]:
    """The audit log of full-PII reads."""
    q = select(pii_access_log).order_by(pii_access_log.c.id.desc()).limit(limit)
    if ticket_no:
        q = q.where(pii_access_log.c.ticket_no == ticket_no)
    async with ctx.rt.sm() as session:
        rows = (await session.execute(q)).all()
    return [dict(r._mapping) for r in rows]


def canonical(body: Any) -> bytes:
    """Stable JSON bytes."""
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
