"""intake use cases: register (or merge) a request, follow-ups, the operator and public views, lists."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.auth import PII_ROLES, Principal, Role
from bancheng_shared.contracts import make_event
from bancheng_shared.contracts.intake import FollowUpAdded, RepeatReceived, TicketReceived
from bancheng_shared.problems import Problem
from bancheng_shared.topics import INTAKE_TICKETS
from intake_svc import domain
from intake_svc.context import Intake
from intake_svc.merging import place_key
from intake_svc.models import FollowUpCreate, TicketCreate, TicketCreated
from intake_svc.pii import mask_id, mask_name, mask_phone
from intake_svc.similarity import similarity
from intake_svc.sms import queue_sms
from intake_svc.store import follow_ups, pii_access_log, repeats, submissions, tickets, timeline

SERVICE = "intake-svc"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# Statements of the accept path, built once: only the parameters change per request, so SQLAlchemy neither
# rebuilds clause objects nor regenerates cache keys for every request (that was most of its per-request cost).
_INSERT_TICKET = insert(tickets)
_INSERT_TIMELINE = insert(timeline)
_INSERT_SUBMISSION = insert(submissions)
_INSERT_REPEAT = insert(repeats)
# one read answers both the replay check and the ticket's status (no second read of the ticket)
_EXISTING = (
    select(submissions, tickets.c.status.label("t_status"), tickets.c.status_label.label("t_status_label"))
    .join(tickets, tickets.c.ticket_no == submissions.c.ticket_no)
    .where(or_(and_(submissions.c.caller == bindparam("caller"),
                    submissions.c.idempotency_key == bindparam("idem_key")),
               and_(submissions.c.channel == bindparam("channel"), submissions.c.source == bindparam("source"),
                    submissions.c.external_id == bindparam("external_id"))))
)
# the counter moves in the same statement that reads it back, so concurrent repeats do not lose a count
_BUMP_REPEATS = (
    update(tickets).where(tickets.c.ticket_no == bindparam("no"))
    .values(repeat_count=tickets.c.repeat_count + 1,
            updated_at=bindparam("now", type_=tickets.c.updated_at.type))
    .returning(tickets.c.repeat_count, tickets.c.status, tickets.c.status_label)
)
_REPEAT_QUERIES: dict[tuple[tuple[str, ...], int], tuple[Any, Any]] = {}


def _repeat_queries(closed: list[str], limit: int) -> tuple[Any, Any]:
    """The same-person and same-place candidate reads for these settings (built once per settings)."""
    key = (tuple(closed), limit)
    found = _REPEAT_QUERIES.get(key)
    if found is None:
        open_ = tickets.c.status.not_in(list(closed))
        # a None hash compares as NULL and matches nothing, so one statement serves phone, ID or both
        person = (
            select(tickets.c.ticket_no, tickets.c.content)
            .where(or_(tickets.c.phone_hash == bindparam("phone_hash"), tickets.c.id_hash == bindparam("id_hash")),
                   open_, tickets.c.received_at >= bindparam("since", type_=tickets.c.received_at.type))
            .order_by(tickets.c.received_at.desc()).limit(limit)
        )
        place = (
            select(tickets.c.ticket_no, tickets.c.content, tickets.c.phone_hash, tickets.c.id_hash)
            .where(tickets.c.ticket_no.in_(bindparam("nos", expanding=True)),
                   tickets.c.place_key == bindparam("place"), open_)
        )
        found = _REPEAT_QUERIES[key] = (person, place)
    return found


def field_problem(field: str, message: str, status: int = 422) -> Problem:
    """A validation problem naming one field."""
    return Problem(status, f"{field}: {message}", type_="validation", errors=[{"field": field, "message": message}])


@dataclass
class Match:
    """An open ticket a request repeats."""

    ticket_no: str
    similarity: float
    same_person: bool


async def _existing(session: AsyncSession, caller: str, idem_key: str | None, channel: str, source: str,
                    external_id: str | None) -> Any:
    """The earlier submission under this Idempotency-Key (first) or channel id, with its ticket's status."""
    if not (idem_key or external_id):
        return None
    # a None key compares as NULL and matches nothing, so one statement serves key, channel id or both
    rows = (await session.execute(_EXISTING, {"caller": caller, "idem_key": idem_key, "channel": channel,
                                              "source": source, "external_id": external_id})).all()
    for r in rows:
        if idem_key and r.caller == caller and r.idempotency_key == idem_key:
            return r
    return rows[0] if rows else None


async def _find_repeat(ctx: Intake, session: AsyncSession, sh: set[str], sig: Any, place: str | None,
                       phone_hash: str | None, id_hash: str | None, now: datetime) -> Match | None:
    """The open ticket this request repeats: same person within the window, or same place (any person)."""
    s = ctx.settings
    person_q, place_q = _repeat_queries(s.closed_statuses, s.merge_candidates * 2)
    best: Match | None = None
    if phone_hash or id_hash:
        rows: Any = (
            await session.execute(person_q, {"phone_hash": phone_hash, "id_hash": id_hash,
                                             "since": now - timedelta(days=s.merge_window_days)})
        ).all()
        for r in rows:
            score = similarity(sh, ctx.index.shingles_of(r.ticket_no, r.content))
            if score >= s.merge_threshold and (best is None or score > best.similarity):
                best = Match(r.ticket_no, score, True)
    if best is None and place is not None:
        nos = ctx.index.candidates(sig, place, s.merge_candidates)
        if nos:
            rows = (await session.execute(place_q, {"nos": nos, "place": place})).all()
            for r in rows:
                score = similarity(sh, ctx.index.shingles_of(r.ticket_no, r.content))
                if score >= s.merge_threshold and (best is None or score > best.similarity):
                    same = bool((phone_hash and r.phone_hash == phone_hash) or (id_hash and r.id_hash == id_hash))
                    best = Match(r.ticket_no, score, same)
    return best


def _answer(ctx: Intake, sub: Any, replayed: bool) -> TicketCreated:
    token = ctx.vault.decrypt(sub.token_enc, "token") or ""
    return TicketCreated(
        ticket_no=sub.ticket_no, status=sub.t_status, status_label=sub.t_status_label,
        received_at=sub.created_at, tracking_token=token,
        tracking_url=f"{ctx.base_url}/v1/public/tickets/{sub.ticket_no}?token={token}",
        replayed=replayed, merged=bool(sub.merged), repeat_count=sub.repeat_count,
        similarity=sub.similarity,
    )


async def register_ticket(
    ctx: Intake, body: TicketCreate, *, caller: Principal, idempotency_key: str | None, correlation_id: str,
    platform: str | None = None,
) -> TicketCreated:
    """Register a request as a ticket, or merge it into the open ticket it repeats; once per key / channel id."""
    s = ctx.settings
    if body.location and body.location.region_code and s.region_prefixes and not any(
        body.location.region_code.startswith(p) for p in s.region_prefixes
    ):
        raise field_problem("location.region_code", "not a region of this platform's directory")
    dump = body.model_dump(mode="json")
    fingerprint = domain.request_hash({"body": dump, "platform": platform})
    c = body.complainant
    phone = c.phone if c else None
    idn = c.id_number if c else None
    phone_hash = ctx.vault.hash(phone, "phone")
    id_hash = ctx.vault.hash(idn, "id")
    # one ciphertext of the phone serves the ticket (or repeat) and the SMS recipient
    phone_enc = ctx.vault.encrypt(phone, "phone")
    region = body.location.region_code if body.location else None
    address = body.location.address if body.location else None
    place = place_key(region, address)
    sh, sig = ctx.index.signature(body.content)
    source = platform or ""
    for attempt in range(3):
        now = datetime.now(UTC)
        try:
            async with ctx.rt.sm() as session, session.begin():
                # The unique constraints on submissions guard the keys: a first attempt skips the read and a
                # repeat POST fails on insert (rolling everything back), then the retry reads the first answer.
                found = None
                if attempt:
                    found = await _existing(session, caller.key_id, idempotency_key, body.channel.value, source,
                                            body.external_id)
                if found is not None:
                    if found.request_hash != fingerprint:
                        raise Problem(409, "this Idempotency-Key or channel id was used with a different body",
                                      type_="idempotency-conflict", ticket_no=found.ticket_no)
                    return _answer(ctx, found, True)
                match = None
                if s.merge_enabled:
                    match = await _find_repeat(ctx, session, sh, sig, place, phone_hash, id_hash, now)
                token = secrets.token_urlsafe(18)
                if match is not None:
                    answer = await _merge(ctx, session, body, match, now, phone_enc, phone_hash, correlation_id)
                    ticket_no = match.ticket_no
                else:
                    ticket_no = domain.new_ticket_no(now)
                    answer = await _create(ctx, session, body, ticket_no, now, caller, platform, place, sig,
                                           phone, phone_enc, phone_hash, idn, id_hash, correlation_id)
                await session.execute(_INSERT_SUBMISSION, dict(
                    caller=caller.key_id, idempotency_key=idempotency_key, channel=body.channel.value, source=source,
                    external_id=body.external_id, request_hash=fingerprint, ticket_no=ticket_no,
                    merged=match is not None, similarity=round(match.similarity, 4) if match else None,
                    repeat_count=answer["repeat_count"], token_hash=_token_hash(token),
                    token_enc=ctx.vault.encrypt(token, "token"), created_at=now,
                ))
                if phone:
                    what = (f"您反映的问题已并入工单{ticket_no}一并办理" if match
                            else f"您的诉求已受理，工单号{ticket_no}")
                    text = f"{s.sms_signature}{what}，可凭工单号和手机后四位查询进度。"
                    await queue_sms(session, ctx.sms, kind="repeat_merged" if match else "ticket_registered",
                                    dedupe_key=f"sub:{ticket_no}:{token[:12]}", ticket_no=ticket_no, text=text,
                                    recipient_enc=phone_enc,
                                    recipient_masked=mask_phone(phone))
            ctx.rt.relay.wake()
            if match is None:
                ctx.index.add(ticket_no, sig, place)
            return TicketCreated(
                ticket_no=ticket_no, status=answer["status"], status_label=answer["status_label"], received_at=now,
                tracking_token=token, tracking_url=f"{ctx.base_url}/v1/public/tickets/{ticket_no}?token={token}",
                replayed=False, merged=match is not None, repeat_count=answer["repeat_count"],
                similarity=round(match.similarity, 4) if match else None,
            )
        except IntegrityError:
            # a concurrent request with the same key won the race (or a ticket number collided): look again
            continue
    raise Problem(409, "a concurrent request with the same Idempotency-Key is being registered; retry",
                  type_="idempotency-conflict")


async def _create(ctx: Intake, session: AsyncSession, body: TicketCreate, ticket_no: str, now: datetime,
                  caller: Principal, platform: str | None, place: str | None, sig: Any, phone: str | None,
                  phone_enc: str | None, phone_hash: str | None, idn: str | None, id_hash: str | None,
                  correlation_id: str) -> dict[str, Any]:
    v = ctx.vault
    c = body.complainant
    loc = body.location
    status = "received"
    await session.execute(_INSERT_TICKET, dict(
        ticket_no=ticket_no, channel=body.channel.value, platform=platform, external_id=body.external_id,
        submitted_by=caller.key_id, title=body.title, content=body.content,
        category_hint=body.category.value if body.category else None,
        region_code=loc.region_code if loc else None, address=loc.address if loc else None,
        longitude=loc.longitude if loc else None, latitude=loc.latitude if loc else None,
        happened_at=body.happened_at, received_at=now,
        anonymous=c is None or c.anonymous or not (c.name or phone or idn),
        name_enc=v.encrypt(c.name if c else None, "name"), phone_enc=phone_enc,
        phone_hash=phone_hash, id_enc=v.encrypt(idn, "id"), id_hash=id_hash,
        enterprise_name=body.enterprise.name if body.enterprise else None,
        credit_code=body.enterprise.credit_code if body.enterprise else None,
        attachments=[a.model_dump(mode="json") for a in body.attachments] or None,
        minhash=sig.tobytes(), place_key=place, repeat_count=0,
        status=status, status_label=domain.STATUS_LABELS[status], category=None, updated_at=now,
    ))
    label = f"已受理（{domain.CHANNEL_LABELS.get(body.channel.value, body.channel.value)}）"
    await session.execute(_INSERT_TIMELINE, dict(ticket_no=ticket_no, at=now, event_type="TicketReceived",
                                                 label=label, public=1))
    event = make_event(
        TicketReceived(
            channel=body.channel, content=body.content, title=body.title, category_hint=body.category,
            region_code=loc.region_code if loc else None, address=loc.address if loc else None,
            longitude=loc.longitude if loc else None, latitude=loc.latitude if loc else None,
            received_at=now, happened_at=body.happened_at,
            anonymous=c is None or c.anonymous or not (c.name or phone or idn),
            enterprise_name=body.enterprise.name if body.enterprise else None, platform=platform,
            external_id=body.external_id, attachment_count=len(body.attachments),
        ),
        ticket_id=ticket_no, producer=SERVICE, correlation_id=correlation_id, occurred_at=now,
    )
    await ctx.rt.publish(session, [event], INTAKE_TICKETS)
    return {"status": status, "status_label": domain.STATUS_LABELS[status], "repeat_count": 0}


async def _merge(ctx: Intake, session: AsyncSession, body: TicketCreate, match: Match, now: datetime,
                 phone_enc: str | None, phone_hash: str | None, correlation_id: str) -> dict[str, Any]:
    t = (await session.execute(_BUMP_REPEATS, {"no": match.ticket_no, "now": now})).one()
    await session.execute(_INSERT_REPEAT, dict(
        ticket_no=match.ticket_no, seq=t.repeat_count, channel=body.channel.value, content=body.content,
        same_person=match.same_person, similarity=round(match.similarity, 4),
        phone_enc=phone_enc, phone_hash=phone_hash,
        region_code=body.location.region_code if body.location else None, received_at=now,
    ))
    who = "同一诉求人" if match.same_person else "其他群众"
    await session.execute(_INSERT_TIMELINE, dict(
        ticket_no=match.ticket_no, at=now, event_type="RepeatReceived", public=1,
        label=f"收到重复诉求（{who}，第 {t.repeat_count} 次，已并单）",
    ))
    event = make_event(
        RepeatReceived(repeat_count=t.repeat_count, content=body.content, same_person=match.same_person,
                       channel=body.channel, received_at=now, similarity=round(match.similarity, 4)),
        ticket_id=match.ticket_no, producer=SERVICE, correlation_id=correlation_id, occurred_at=now,
    )
    await ctx.rt.publish(session, [event], INTAKE_TICKETS)
    return {"status": t.status, "status_label": t.status_label, "repeat_count": t.repeat_count}


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
                                     .where(submissions.c.token_hash == _token_hash(token)))).first()
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
                                     .where(submissions.c.token_hash == _token_hash(token)))).first()
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
