"""The read side: ticket lists, the PII access log, the SMS outbox, subscriptions and
deliveries, Open311 service requests (no events, no writes)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select

from bancheng_shared.principal import PII_ROLES, Principal, Role
from bancheng_shared.runtime import Runtime
from intake_svc.adapters import tickets as stored
from intake_svc.adapters.pii_vault import PiiVault
from intake_svc.adapters.search_index import SearchConditions, plan_each_search
from intake_svc.adapters.tables import (
    deliveries,
    delivery_attempts,
    pii_access_log,
    possible_repeats,
    sms_outbox,
    subscriptions,
    tickets,
)
from intake_svc.domain import access, callbacks, search
from intake_svc.domain.problems import field_problem
from intake_svc.domain.search import SearchQuery, excerpt, like_pattern, mask_excerpt
from intake_svc.domain.ticket_numbers import looks_like_ticket_no

# ---------------------------------------------------------------- tickets


def summary(row: Any) -> dict[str, Any]:
    """A ticket as lists show it (never any complainant data)."""
    return {
        "ticket_no": row.ticket_no, "channel": row.channel, "platform": row.platform, "status": row.status,
        "status_label": row.status_label, "tier": row.tier, "category": row.category or row.category_hint,
        "region_code": row.region_code, "unit": row.unit, "unit_name": row.unit_name, "deadline": row.deadline,
        "alert_level": row.alert_level, "repeat_count": row.repeat_count, "merged_into": row.merged_into,
        "received_at": row.received_at, "updated_at": row.updated_at,
    }


def _encode_cursor(ticket_no: str) -> str:
    return base64.urlsafe_b64encode(ticket_no.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except Exception as exc:
        raise field_problem("cursor", "not a cursor this service issued", 400) from exc
    if not looks_like_ticket_no(raw):
        raise field_problem("cursor", "not a cursor this service issued", 400)
    return raw


@dataclass(frozen=True)
class TicketFilter:
    """What a ticket list asks for: the search `q`, the person's and the place's fields, the ticket's state."""

    q: str | None = None
    number: str | None = None
    phone: str | None = None
    name: str | None = None
    address: str | None = None
    status: str | None = None
    tier: str | None = None
    channel: str | None = None
    unit: str | None = None
    category: str | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    possible_repeat: bool | None = None


def _conditions(f: TicketFilter, unit: str | None, search: SearchConditions,
                parsed: SearchQuery | None) -> list[Any]:
    conds: list[Any] = []
    for col, val in ((tickets.c.status, f.status), (tickets.c.tier, f.tier), (tickets.c.channel, f.channel),
                     (tickets.c.unit, unit)):
        if val:
            conds.append(col == val)
    if f.category:
        conds.append(or_(tickets.c.category == f.category,
                         and_(tickets.c.category.is_(None), tickets.c.category_hint == f.category)))
    if f.received_from:
        conds.append(tickets.c.received_at >= f.received_from)
    if f.received_to:
        conds.append(tickets.c.received_at < f.received_to)
    if f.possible_repeat is not None:
        pending = exists().where(possible_repeats.c.ticket_no == tickets.c.ticket_no,
                                 possible_repeats.c.state == "open")
        conds.append(pending if f.possible_repeat else ~pending)
    if f.number:
        conds.append(tickets.c.ticket_no.like(like_pattern(f.number.upper())[1:], escape="\\"))  # a prefix
    if f.phone:
        conds.append(search.phone(f.phone))
    if f.name:
        conds.append(search.name(f.name))
    if f.address:
        conds.append(search.address(f.address))
    if parsed is not None:
        conds.append(search.query(parsed))
    return conds


def _listed(row: Any, parsed: SearchQuery | None, masked: bool, vault: PiiVault, width: int) -> dict[str, Any]:
    item = summary(row)
    item["title"] = row.title
    text = excerpt(row.content, parsed.terms if parsed else (), width)
    if masked:
        try:
            name = vault.decrypt(row.name_enc, "name") if row.name_enc else None
        except Exception:  # a key missing from the ring: numbers are still masked, the list still answers
            name = None
        text = mask_excerpt(text, name)
    item["excerpt"] = text
    return item


async def list_tickets(rt: Runtime, who: Principal, f: TicketFilter, *, vault: PiiVault, cursor: str | None,
                       limit: int, excerpt_chars: int = 80) -> dict[str, Any]:
    """Tickets newest first with filters, search and a cursor, and the exact number of tickets that match; a unit key
    sees only tickets now at its unit. `q` and `address` are full-text (trigram) searches; `phone` and `name` match
    the person's keyed hashes (roles that may see PII only).

    `possible_repeat`: only tickets with (true) or without (false) an open possible repeat (疑似重复).
    """
    unit = access.unit_filter(who, f.unit)
    search.check_person_search(who.role, phone=f.phone, name=f.name)
    if f.phone is not None and not search.phone_forms(f.phone):
        raise field_problem("phone", "not a phone number (a mobile or a landline with its area code)")
    parsed = search.parse_query(f.q, may_see_pii=who.role in PII_ROLES) if f.q is not None else None
    if f.q is not None and parsed is None:
        raise field_problem("q", "nothing to search for: give letters, digits or Chinese characters")
    async with rt.sm() as session:
        await plan_each_search(session)
        conds = _conditions(f, unit, SearchConditions(session, vault), parsed)
        page = list(conds)
        if cursor:
            # ticket numbers sort by time of receipt and are unique: a stable order, the last number seen is the cursor
            page.append(tickets.c.ticket_no < _decode_cursor(cursor))
        rows = (await session.execute(select(tickets).where(*page).order_by(tickets.c.ticket_no.desc())
                                      .limit(limit + 1))).all()
        total = (await session.execute(select(func.count()).select_from(tickets).where(*conds))).scalar_one()
    masked = search.excerpt_masked(who.role)
    items = [_listed(r, parsed, masked, vault, excerpt_chars) for r in rows[:limit]]
    nxt = _encode_cursor(rows[limit - 1].ticket_no) if len(rows) > limit else None
    return {"items": items, "next_cursor": nxt, "total": total}


async def pii_access(rt: Runtime, *, ticket_no: str | None, limit: int) -> list[dict[str, Any]]:
    """The audit log of full-PII reads, newest first."""
    q = select(pii_access_log).order_by(pii_access_log.c.id.desc()).limit(limit)
    if ticket_no:
        q = q.where(pii_access_log.c.ticket_no == ticket_no)
    async with rt.sm() as session:
        rows = (await session.execute(q)).all()
    return [dict(r._mapping) for r in rows]


async def list_sms(rt: Runtime, *, ticket_no: str | None, unit_code: str | None, limit: int,
                   status: str | None = None) -> list[dict[str, Any]]:
    """The SMS outbox, newest first (recipients masked for every reader)."""
    q = select(sms_outbox).order_by(sms_outbox.c.id.desc()).limit(limit)
    if status:
        q = q.where(sms_outbox.c.status == status)
    if ticket_no:
        q = q.where(sms_outbox.c.ticket_no == ticket_no)
    if unit_code:
        q = q.where(sms_outbox.c.unit_code == unit_code)
    async with rt.sm() as session:
        rows = (await session.execute(q)).all()
    return [{"id": r.id, "kind": r.kind, "ticket_no": r.ticket_no, "unit_code": r.unit_code,
             "to": r.recipient_masked, "text": r.text, "status": r.status, "attempts": r.attempts,
             "last_error": r.last_error, "next_attempt_at": r.next_attempt_at, "created_at": r.created_at,
             "sent_at": r.sent_at} for r in rows]


# ---------------------------------------------------------------- subscriptions and deliveries


def subscription_view(row: Any) -> dict[str, Any]:
    """A subscription as shown (never its secret)."""
    return {k: getattr(row, k) for k in ("id", "name", "url", "event_types", "platform", "active", "created_at",
                                         "updated_at")}


def delivery_view(row: Any) -> dict[str, Any]:
    """A delivery as the log shows it."""
    return {k: getattr(row, k) for k in ("id", "subscription_id", "event_id", "event_type", "ticket_no", "status",
                                         "attempts", "next_attempt_at", "last_status_code", "last_error",
                                         "created_at", "delivered_at")}


async def list_subscriptions(rt: Runtime, who: Principal) -> list[dict[str, Any]]:
    """The caller's subscriptions (an admin sees all)."""
    q = select(subscriptions).order_by(subscriptions.c.created_at)
    if who.role != Role.admin:
        q = q.where(subscriptions.c.owner_key_id == who.key_id)
    async with rt.sm() as session:
        return [subscription_view(r) for r in (await session.execute(q)).all()]


async def _owned(session: Any, who: Principal, sub_id: str) -> Any:
    row = (await session.execute(select(subscriptions).where(subscriptions.c.id == sub_id))).first()
    callbacks.check_owner(who, sub_id, row.owner_key_id if row is not None else None)
    return row


async def get_subscription(rt: Runtime, who: Principal, sub_id: str) -> dict[str, Any]:
    """One subscription of the caller's."""
    async with rt.sm() as session:
        return subscription_view(await _owned(session, who, sub_id))


async def list_deliveries(rt: Runtime, who: Principal, *, subscription_id: str | None, status: str | None,
                          limit: int) -> list[dict[str, Any]]:
    """The delivery log, newest first, with each delivery's attempts."""
    q = select(deliveries).order_by(deliveries.c.id.desc()).limit(limit)
    async with rt.sm() as session:
        if subscription_id:
            await _owned(session, who, subscription_id)
            q = q.where(deliveries.c.subscription_id == subscription_id)
        elif who.role != Role.admin:
            mine = select(subscriptions.c.id).where(subscriptions.c.owner_key_id == who.key_id)
            q = q.where(deliveries.c.subscription_id.in_(mine))
        if status:
            q = q.where(deliveries.c.status == status)
        out = []
        for r in (await session.execute(q)).all():
            v = delivery_view(r)
            v["attempt_log"] = [
                {"at": a.at, "status_code": a.status_code, "error": a.error, "duration_ms": a.duration_ms}
                for a in (await session.execute(select(delivery_attempts).where(
                    delivery_attempts.c.delivery_id == r.id).order_by(delivery_attempts.c.id))).all()
            ]
            out.append(v)
    return out


# ---------------------------------------------------------------- Open311


async def open311_requests(rt: Runtime, *, ids: Sequence[str] | None = None, start: datetime | None = None,
                           end: datetime | None = None, codes: Sequence[str] | None = None,
                           status_in: Sequence[str] | None = None,
                           status_not_in: Sequence[str] | None = None) -> list[Any]:
    """Tickets as GeoReport asks for them: by ids, or by receipt window, service codes and status (at most 1000)."""
    q = select(tickets).order_by(tickets.c.ticket_no.desc()).limit(1000)
    if ids is not None:
        q = q.where(tickets.c.ticket_no.in_(list(ids)))
    else:
        if start:
            q = q.where(tickets.c.received_at >= start)
        if end:
            q = q.where(tickets.c.received_at <= end)
        if codes:
            q = q.where((tickets.c.category.in_(codes))
                        | (tickets.c.category.is_(None) & tickets.c.category_hint.in_(codes)))
        if status_in is not None:
            q = q.where(tickets.c.status.in_(status_in))
        if status_not_in is not None:
            q = q.where(tickets.c.status.not_in(status_not_in))
    async with rt.sm() as session:
        return list((await session.execute(q)).all())


async def ticket(rt: Runtime, ticket_no: str) -> Any:
    """One ticket's row, or None."""
    async with rt.sm() as session:
        return await stored.ticket(session, ticket_no)


async def ticket_of_token(rt: Runtime, token: str) -> str | None:
    """The ticket a tracking token belongs to."""
    async with rt.sm() as session:
        return await stored.ticket_of_token(session, token)
