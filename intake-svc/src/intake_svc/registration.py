"""Registering requests: merge detection and the writes of new tickets and repeats, with group commit.

Requests that arrive while a transaction is being written wait for the next one and are written together:
one read of the candidate tickets, one multi-row insert per table and one commit for the whole group. A
request that arrives alone is written at once (no added wait). Each request is still decided on its own;
a request that repeats another one of the same group is merged into it as if they had come one by one.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import structlog
from sqlalchemy import bindparam, insert, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.auth import Principal
from bancheng_shared.contracts import make_event
from bancheng_shared.contracts.envelope import EventEnvelope
from bancheng_shared.contracts.intake import RepeatReceived, TicketReceived
from bancheng_shared.db import upsert_statement
from bancheng_shared.problems import Problem
from bancheng_shared.topics import INTAKE_TICKETS
from intake_svc import domain
from intake_svc.models import TicketCreate, TicketCreated
from intake_svc.pii import mask_phone
from intake_svc.similarity import similarity
from intake_svc.store import repeats, sms_outbox, submissions, tickets, timeline

if TYPE_CHECKING:
    from intake_svc.context import Intake

SERVICE = "intake-svc"
log = structlog.get_logger("intake.registration")


@dataclass
class Registration:
    """One request made ready to write: validated, fingerprinted, its PII protected, its text signed."""

    body: TicketCreate
    caller: Principal
    idempotency_key: str | None
    correlation_id: str
    platform: str | None
    fingerprint: str
    phone: str | None
    phone_enc: str | None
    phone_hash: str | None
    id_number: str | None
    id_hash: str | None
    place: str | None
    shingles: set[str]
    # the MinHash signature and the merge index's band keys of it: computed for a whole group at once
    signature: np.ndarray | None = None
    band_keys: list[int] | None = None

    @property
    def source(self) -> str:
        """The platform the request came from ('' for our own channels)."""
        return self.platform or ""


@dataclass
class Match:
    """An open ticket a request repeats."""

    ticket_no: str
    similarity: float
    same_person: bool


@dataclass
class _Open:
    """An open ticket the group may merge into: read from the store or created earlier in the same group."""

    ticket_no: str
    shingles: set[str]
    phone_hash: str | None
    id_hash: str | None
    place: str | None
    fresh: dict[str, Any] | None = None  # the row to insert, when created in this group


@dataclass
class _Group:
    """What one transaction writes."""

    ticket_rows: list[dict[str, Any]] = field(default_factory=list)
    timeline_rows: list[dict[str, Any]] = field(default_factory=list)
    submission_rows: list[dict[str, Any]] = field(default_factory=list)
    repeat_rows: list[dict[str, Any]] = field(default_factory=list)
    sms_rows: list[dict[str, Any]] = field(default_factory=list)
    events: list[EventEnvelope] = field(default_factory=list)
    indexed: list[tuple[str, Registration]] = field(default_factory=list)


# Statements built once: only the parameters change per group.
_EXISTING_MANY = (
    select(submissions, tickets.c.status.label("t_status"), tickets.c.status_label.label("t_status_label"))
    .join(tickets, tickets.c.ticket_no == submissions.c.ticket_no)
)
# the counter moves in the same statement that reads it back, so concurrent repeats do not lose a count
_BUMP_REPEATS = (
    update(tickets).where(tickets.c.ticket_no == bindparam("no"))
    .values(repeat_count=tickets.c.repeat_count + 1,
            updated_at=bindparam("now", type_=tickets.c.updated_at.type))
    .returning(tickets.c.repeat_count, tickets.c.status, tickets.c.status_label)
)
_CANDIDATES: dict[tuple[str, ...], tuple[Any, Any]] = {}


def _candidate_queries(closed: Sequence[str]) -> tuple[Any, Any]:
    """The same-person and same-place reads of a whole group (built once per setting of closed statuses)."""
    key = tuple(closed)
    found = _CANDIDATES.get(key)
    if found is None:
        open_ = tickets.c.status.not_in(list(closed))
        cols = (tickets.c.ticket_no, tickets.c.content, tickets.c.phone_hash, tickets.c.id_hash, tickets.c.place_key)
        person = (
            select(*cols)
            .where(or_(tickets.c.phone_hash.in_(bindparam("phones", expanding=True)),
                       tickets.c.id_hash.in_(bindparam("ids", expanding=True))),
                   open_, tickets.c.received_at >= bindparam("since", type_=tickets.c.received_at.type))
            .order_by(tickets.c.received_at.desc())
        )
        place = select(*cols).where(tickets.c.ticket_no.in_(bindparam("nos", expanding=True)), open_)
        found = _CANDIDATES[key] = (person, place)
    return found


def _keys_of(reg: Registration) -> list[tuple[str, ...]]:
    keys: list[tuple[str, ...]] = []
    if reg.idempotency_key:
        keys.append(("key", reg.caller.key_id, reg.idempotency_key))
    if reg.body.external_id:
        keys.append(("channel", reg.body.channel.value, reg.source, reg.body.external_id))
    return keys


async def existing_submissions(session: AsyncSession, regs: Sequence[Registration]) -> dict[int, Any]:
    """The earlier submission of each request (by position) under its Idempotency-Key (first) or channel id."""
    by_key = sorted({(r.caller.key_id, r.idempotency_key) for r in regs if r.idempotency_key})
    by_channel = sorted({(r.body.channel.value, r.source, r.body.external_id) for r in regs if r.body.external_id})
    if not (by_key or by_channel):
        return {}
    conds = []
    if by_key:
        conds.append(tuple_(submissions.c.caller, submissions.c.idempotency_key).in_(by_key))
    if by_channel:
        conds.append(tuple_(submissions.c.channel, submissions.c.source, submissions.c.external_id).in_(by_channel))
    rows = (await session.execute(_EXISTING_MANY.where(or_(*conds)))).all()
    seen: dict[tuple[str, ...], Any] = {}
    for r in rows:
        if r.idempotency_key:
            seen.setdefault(("key", r.caller, r.idempotency_key), r)
        if r.external_id:
            seen.setdefault(("channel", r.channel, r.source, r.external_id), r)
    found: dict[int, Any] = {}
    for i, reg in enumerate(regs):
        hit = next((seen[k] for k in _keys_of(reg) if k in seen), None)
        if hit is not None:
            found[i] = hit
    return found


def replayed_answer(ctx: Intake, sub: Any) -> TicketCreated:
    """The first answer again, for a repeated POST."""
    token = ctx.vault.decrypt(sub.token_enc, "token") or ""
    return TicketCreated(
        ticket_no=sub.ticket_no, status=sub.t_status, status_label=sub.t_status_label,
        received_at=sub.created_at, tracking_token=token,
        tracking_url=f"{ctx.base_url}/v1/public/tickets/{sub.ticket_no}?token={token}",
        replayed=True, merged=bool(sub.merged), repeat_count=sub.repeat_count,
        similarity=sub.similarity,
    )


def _best(reg: Registration, opens: Sequence[_Open], threshold: float, ctx: Intake,
          person: bool) -> Match | None:
    best: Match | None = None
    for o in opens:
        score = similarity(reg.shingles, o.shingles)
        if score >= threshold and (best is None or score > best.similarity):
            same = person or bool((reg.phone_hash and o.phone_hash == reg.phone_hash)
                                  or (reg.id_hash and o.id_hash == reg.id_hash))
            best = Match(o.ticket_no, score, same)
    return best


def _with_signatures(ctx: Intake, regs: Sequence[Registration]) -> None:
    """Give the requests their MinHash signatures, in one vectorised pass for the group."""
    todo = [r for r in regs if r.signature is None]
    if todo:
        for r, sig in zip(todo, ctx.index.hasher.signatures([r.shingles for r in todo]), strict=True):
            r.signature = sig


def _with_band_keys(ctx: Intake, regs: Sequence[Registration]) -> None:
    """Give the requests with a place their band keys, in one vectorised pass (the query and the add share them)."""
    _with_signatures(ctx, regs)
    todo = [r for r in regs if r.band_keys is None and r.place is not None]
    if todo:
        sigs = [r.signature for r in todo if r.signature is not None]
        for r, keys in zip(todo, ctx.index.band_keys(sigs, [r.place for r in todo]), strict=True):
            r.band_keys = keys


class _Candidates:
    """The open tickets a group may merge into, read in two statements for the whole group."""

    def __init__(self) -> None:
        self.by_person: dict[str, list[_Open]] = {}
        self.by_no: dict[str, _Open] = {}
        self.fresh: list[_Open] = []
        self.place_nos: dict[int, list[str]] = {}

    @classmethod
    async def read(cls, ctx: Intake, session: AsyncSession, regs: Sequence[Registration],
                   now: datetime) -> _Candidates:
        s = ctx.settings
        person_q, place_q = _candidate_queries(s.closed_statuses)
        c = cls()
        phones = sorted({r.phone_hash for r in regs if r.phone_hash})
        ids = sorted({r.id_hash for r in regs if r.id_hash})
        if phones or ids:
            rows = (await session.execute(person_q, {"phones": phones, "ids": ids,
                                                     "since": now - timedelta(days=s.merge_window_days)})).all()
            for r in rows:
                o = _Open(r.ticket_no, ctx.index.shingles_of(r.ticket_no, r.content), r.phone_hash, r.id_hash,
                          r.place_key)
                for h in (r.phone_hash, r.id_hash):
                    if h:
                        c.by_person.setdefault(h, []).append(o)
        # the index is asked once per request: its answers serve the read here and the match below
        _with_band_keys(ctx, regs)
        c.place_nos = {id(r): ctx.index.candidates_by_keys(r.band_keys, s.merge_candidates) for r in regs}
        nos = sorted({no for found in c.place_nos.values() for no in found})
        if nos:
            for r in (await session.execute(place_q, {"nos": nos})).all():
                c.by_no[r.ticket_no] = _Open(r.ticket_no, ctx.index.shingles_of(r.ticket_no, r.content),
                                             r.phone_hash, r.id_hash, r.place_key)
        return c

    def match(self, ctx: Intake, reg: Registration) -> Match | None:
        """Same person within the window first, else the same matter at the same place (any person)."""
        s = ctx.settings
        if reg.phone_hash or reg.id_hash:
            mine: dict[str, _Open] = {}
            for h in (reg.phone_hash, reg.id_hash):
                for o in self.by_person.get(h or "", [])[: s.merge_candidates * 2]:
                    mine.setdefault(o.ticket_no, o)
            mine.update({o.ticket_no: o for o in self.fresh
                         if (reg.phone_hash and o.phone_hash == reg.phone_hash)
                         or (reg.id_hash and o.id_hash == reg.id_hash)})
            found = _best(reg, list(mine.values()), s.merge_threshold, ctx, person=True)
            if found is not None:
                return found
        if reg.place is None:
            return None
        nos = self.place_nos.get(id(reg), [])
        opens = [self.by_no[no] for no in nos if no in self.by_no and self.by_no[no].place == reg.place]
        opens += [o for o in self.fresh if o.place == reg.place]
        return _best(reg, opens, s.merge_threshold, ctx, person=False)


async def _decide(ctx: Intake, session: AsyncSession, regs: Sequence[Registration], now: datetime,
                  g: _Group) -> list[TicketCreated]:
    """Create or merge each request of the group in order, collecting the rows and events to write."""
    s = ctx.settings
    _with_signatures(ctx, regs)  # stored with every ticket, merging on or off
    cands = await _Candidates.read(ctx, session, regs, now) if s.merge_enabled else _Candidates()
    answers: list[TicketCreated] = []
    numbers: set[str] = set()
    for reg in regs:
        match = cands.match(ctx, reg) if s.merge_enabled else None
        token = secrets.token_urlsafe(18)
        if match is None:
            ticket_no = domain.new_ticket_no(now)
            while ticket_no in numbers:  # one time for the whole group: only the random part tells them apart
                ticket_no = domain.new_ticket_no(now)
            numbers.add(ticket_no)
            row = _create(ctx, reg, ticket_no, now, g)
            cands.fresh.append(_Open(ticket_no, reg.shingles, reg.phone_hash, reg.id_hash, reg.place, fresh=row))
            status, label, count = row["status"], row["status_label"], 0
        else:
            ticket_no = match.ticket_no
            status, label, count = await _merge(ctx, session, reg, match, now, g, cands)
        g.submission_rows.append(dict(
            caller=reg.caller.key_id, idempotency_key=reg.idempotency_key, channel=reg.body.channel.value,
            source=reg.source, external_id=reg.body.external_id, request_hash=reg.fingerprint, ticket_no=ticket_no,
            merged=match is not None, similarity=round(match.similarity, 4) if match else None,
            repeat_count=count, token_hash=domain.token_hash(token), token_enc=ctx.vault.encrypt(token, "token"),
            created_at=now,
        ))
        if reg.phone:
            what = f"您反映的问题已并入工单{ticket_no}一并办理" if match else f"您的诉求已受理，工单号{ticket_no}"
            g.sms_rows.append(dict(
                kind="repeat_merged" if match else "ticket_registered", dedupe_key=f"sub:{ticket_no}:{token[:12]}",
                ticket_no=ticket_no, unit_code=None, recipient_enc=reg.phone_enc,
                recipient_masked=mask_phone(reg.phone),
                text=f"{s.sms_signature}{what}，可凭工单号和手机后四位查询进度。",
                status="recorded" if ctx.sms.records_only else "pending", attempts=0, created_at=now,
            ))
        answers.append(TicketCreated(
            ticket_no=ticket_no, status=status, status_label=label, received_at=now, tracking_token=token,
            tracking_url=f"{ctx.base_url}/v1/public/tickets/{ticket_no}?token={token}", replayed=False,
            merged=match is not None, repeat_count=count,
            similarity=round(match.similarity, 4) if match else None,
        ))
    return answers


def _create(ctx: Intake, reg: Registration, ticket_no: str, now: datetime, g: _Group) -> dict[str, Any]:
    v = ctx.vault
    body, c, loc = reg.body, reg.body.complainant, reg.body.location
    anonymous = c is None or c.anonymous or not (c.name or reg.phone or reg.id_number)
    status = "received"
    row = dict(
        ticket_no=ticket_no, channel=body.channel.value, platform=reg.platform, external_id=body.external_id,
        submitted_by=reg.caller.key_id, title=body.title, content=body.content,
        category_hint=body.category.value if body.category else None,
        region_code=loc.region_code if loc else None, address=loc.address if loc else None,
        longitude=loc.longitude if loc else None, latitude=loc.latitude if loc else None,
        happened_at=body.happened_at, received_at=now, anonymous=anonymous,
        name_enc=v.encrypt(c.name if c else None, "name"), phone_enc=reg.phone_enc,
        phone_hash=reg.phone_hash, id_enc=v.encrypt(reg.id_number, "id"), id_hash=reg.id_hash,
        enterprise_name=body.enterprise.name if body.enterprise else None,
        credit_code=body.enterprise.credit_code if body.enterprise else None,
        attachments=[a.model_dump(mode="json") for a in body.attachments] or None,
        minhash=reg.signature.tobytes() if reg.signature is not None else None, place_key=reg.place,
        repeat_count=0,
        status=status, status_label=domain.STATUS_LABELS[status], category=None, updated_at=now,
    )
    g.ticket_rows.append(row)
    g.timeline_rows.append(dict(ticket_no=ticket_no, at=now, event_type="TicketReceived", public=1,
                                label=f"已受理（{domain.CHANNEL_LABELS.get(body.channel.value, body.channel.value)}）"))
    g.events.append(make_event(
        TicketReceived(
            channel=body.channel, content=body.content, title=body.title, category_hint=body.category,
            region_code=row["region_code"], address=row["address"], longitude=row["longitude"],
            latitude=row["latitude"], received_at=now, happened_at=body.happened_at, anonymous=anonymous,
            enterprise_name=row["enterprise_name"], platform=reg.platform, external_id=body.external_id,
            attachment_count=len(body.attachments),
        ),
        ticket_id=ticket_no, producer=SERVICE, correlation_id=reg.correlation_id, occurred_at=now,
    ))
    g.indexed.append((ticket_no, reg))
    return row


async def _merge(ctx: Intake, session: AsyncSession, reg: Registration, match: Match, now: datetime, g: _Group,
                 cands: _Candidates) -> tuple[str, str, int]:
    fresh = next((o.fresh for o in cands.fresh if o.ticket_no == match.ticket_no), None)
    if fresh is not None:
        # merged into a ticket of this same group: its row is not written yet, so count on the row itself
        fresh["repeat_count"] += 1
        count, status, label = fresh["repeat_count"], fresh["status"], fresh["status_label"]
    else:
        t = (await session.execute(_BUMP_REPEATS, {"no": match.ticket_no, "now": now})).one()
        count, status, label = t.repeat_count, t.status, t.status_label
    body = reg.body
    g.repeat_rows.append(dict(
        ticket_no=match.ticket_no, seq=count, channel=body.channel.value, content=body.content,
        same_person=match.same_person, similarity=round(match.similarity, 4), phone_enc=reg.phone_enc,
        phone_hash=reg.phone_hash, region_code=body.location.region_code if body.location else None,
        received_at=now,
    ))
    who = "同一诉求人" if match.same_person else "其他群众"
    g.timeline_rows.append(dict(ticket_no=match.ticket_no, at=now, event_type="RepeatReceived", public=1,
                                label=f"收到重复诉求（{who}，第 {count} 次，已并单）"))
    g.events.append(make_event(
        RepeatReceived(repeat_count=count, content=body.content, same_person=match.same_person,
                       channel=body.channel, received_at=now, similarity=round(match.similarity, 4)),
        ticket_id=match.ticket_no, producer=SERVICE, correlation_id=reg.correlation_id, occurred_at=now,
    ))
    return status, label, count


async def _write(session: AsyncSession, ctx: Intake, g: _Group) -> None:
    for table, rows in ((tickets, g.ticket_rows), (timeline, g.timeline_rows), (submissions, g.submission_rows),
                        (repeats, g.repeat_rows)):
        if rows:
            await session.execute(insert(table), rows)
    if g.sms_rows:
        await session.execute(upsert_statement(session, sms_outbox, ["dedupe_key"]),
                              g.sms_rows)
    await ctx.rt.publish(session, g.events, INTAKE_TICKETS)


def _conflict(i: int | None, ticket_no: str | None) -> Problem:
    where = f"items[{i}]: " if i is not None else ""
    if ticket_no is None:
        return Problem(409, f"{where}the same Idempotency-Key or channel id comes twice with different bodies",
                       type_="idempotency-conflict")
    return Problem(409, f"{where}this Idempotency-Key or channel id was used with a different body",
                   type_="idempotency-conflict", ticket_no=ticket_no)


async def _register_group(ctx: Intake, regs: Sequence[Registration], *, check_existing: bool,
                          positions: bool = False) -> list[TicketCreated]:
    """Write a group in one transaction, all or nothing (IntegrityError when a key was used meanwhile).

    With `check_existing`, a request whose key was used before is answered with the first answer (409 for
    a different body, which fails the whole group); so is a second request with a key used earlier in
    the group. `positions` names the item in those answers (a batch).
    """
    g = _Group()
    now = datetime.now(UTC)
    answers: list[TicketCreated | None] = [None] * len(regs)
    async with ctx.rt.sm() as session, session.begin():
        found = await existing_submissions(session, regs) if check_existing else {}
        first_of: dict[tuple[str, ...], int] = {}
        later: list[tuple[int, int]] = []
        todo: list[int] = []
        for i, reg in enumerate(regs):
            sub = found.get(i)
            if sub is not None:
                if sub.request_hash != reg.fingerprint:
                    raise _conflict(i if positions else None, sub.ticket_no)
                answers[i] = replayed_answer(ctx, sub)
                continue
            first = next((first_of[k] for k in _keys_of(reg) if k in first_of), None)
            if first is not None:
                if regs[first].fingerprint != reg.fingerprint:
                    raise _conflict(i if positions else None, None)
                later.append((i, first))
                continue
            first_of.update(dict.fromkeys(_keys_of(reg), i))
            todo.append(i)
        for i, answer in zip(todo, await _decide(ctx, session, [regs[i] for i in todo], now, g), strict=True):
            answers[i] = answer
        await _write(session, ctx, g)
    ctx.rt.relay.wake()
    _with_band_keys(ctx, [reg for _, reg in g.indexed])
    for ticket_no, reg in g.indexed:
        ctx.index.add_keys(ticket_no, reg.band_keys)
        if reg.band_keys is not None:
            ctx.index.note_registered(ticket_no, now)
    out: list[TicketCreated] = []
    for i, a in enumerate(answers):
        if a is None:
            first = next(f for j, f in later if j == i)
            a = answers[first]
            assert a is not None
            a = a.model_copy(update={"replayed": True})
        out.append(a)
    return out


async def register_all(ctx: Intake, regs: Sequence[Registration]) -> list[TicketCreated]:
    """Register a batch in one transaction: every request, or none of them (409 naming the item)."""
    for _attempt in range(3):
        try:
            return await _register_group(ctx, regs, check_existing=True, positions=True)
        except IntegrityError:
            continue  # a concurrent request used one of the keys meanwhile: read them again
    raise Problem(409, "concurrent requests with the same keys are being registered; retry",
                  type_="idempotency-conflict")


async def _register_one(ctx: Intake, reg: Registration) -> TicketCreated:
    """Write one request, answering a repeated key with the first answer (or 409 for a different body)."""
    for attempt in range(3):
        try:
            # the first try skips the read: the unique keys refuse a repeat, and the retry reads the first answer
            return (await _register_group(ctx, [reg], check_existing=attempt > 0))[0]
        except IntegrityError:
            continue
    raise Problem(409, "a concurrent request with the same Idempotency-Key is being registered; retry",
                  type_="idempotency-conflict")


_Waiting = tuple[Registration, "asyncio.Future[TicketCreated]"]


class GroupCommit:
    """Registrations that arrive while a transaction is being written share the next one."""

    def __init__(self, ctx: Intake, max_group: int = 64) -> None:
        self.ctx = ctx
        self.max_group = max_group
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None
        self.groups = 0
        self.registered = 0

    async def register(self, reg: Registration) -> TicketCreated:
        """Register one request (returns when its transaction has committed)."""
        fut: asyncio.Future[TicketCreated] = asyncio.get_running_loop().create_future()
        self._waiting.append((reg, fut))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        # a caller that goes away does not cancel the others' transaction: it only stops waiting
        fut.add_done_callback(_retrieve)
        return await asyncio.shield(fut)

    async def _drain(self) -> None:
        while self._waiting:
            group: list[_Waiting] = []
            deferred: list[_Waiting] = []
            keys: set[tuple[str, ...]] = set()
            for item in self._waiting[: self.max_group]:
                # a key seen earlier in the group waits for the next one, which then answers it as a replay
                mine = _keys_of(item[0])
                (deferred if keys.intersection(mine) else group).append(item)
                keys.update(mine)
            self._waiting = deferred + self._waiting[self.max_group:]
            regs = [r for r, _ in group]
            try:
                if len(group) == 1:
                    results: list[TicketCreated | BaseException] = [await _register_one(self.ctx, regs[0])]
                else:
                    try:
                        results = list(await _register_group(self.ctx, regs, check_existing=False))
                    except IntegrityError:
                        # a key of the group was used before: write them one by one to answer each right
                        results = []
                        for reg in regs:
                            try:
                                results.append(await _register_one(self.ctx, reg))
                            except Exception as exc:
                                results.append(exc)
                self.groups += 1
                self.registered += len(group)
            except BaseException as exc:
                # the database failed or the service is stopping: every request of the group gets the error
                for _, fut in group:
                    if not fut.done():
                        fut.set_exception(exc if isinstance(exc, Exception) else asyncio.CancelledError())
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, fut), res in zip(group, results, strict=True):
                if fut.done():
                    continue
                if isinstance(res, BaseException):
                    fut.set_exception(res)
                else:
                    fut.set_result(res)


def _retrieve(fut: asyncio.Future[Any]) -> None:
    # the error reached the caller, or the caller went away: either way it is not "never retrieved"
    if not fut.cancelled():
        fut.exception()
