"""Registering requests through group commit: one unit of work writes a whole group of registrations.

Each request of the group is still decided on its own and in order (domain.idempotency, domain.merging); a
request that repeats another one of the same group is merged into it as if they had come one by one. What is
shared is the I/O: one read of earlier submissions, the candidate tickets read for the whole group (one statement
on PostgreSQL), the rows of every table and the tickets' events written together (one statement on PostgreSQL,
UnitOfWork.write_with_events), one commit.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import bindparam, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.db import insert_statement, is_postgres, is_sqlite, upsert_statement
from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal
from bancheng_shared.runtime import Runtime
from bancheng_shared.unit_of_work import UnitOfWork
from intake_svc.adapters import search_index
from intake_svc.adapters.group_commit import GroupCommit
from intake_svc.adapters.merge_candidates import (
    AT_PLACES,
    OF_PERSON,
    Candidates,
    candidate_reads,
    candidates_at_once,
    merge_lock,
)
from intake_svc.adapters.merge_index import MergeIndex
from intake_svc.adapters.pii_vault import PiiVault
from intake_svc.adapters.tables import possible_repeats, repeats, sms_outbox, submissions, tickets, timeline
from intake_svc.domain import idempotency, merging, registration, sms
from intake_svc.domain.merging import MergePolicy, OpenTicket
from intake_svc.domain.pii import mask_phone
from intake_svc.domain.public_lookup import token_hash
from intake_svc.domain.similarity import matters, shingles
from intake_svc.domain.ticket_numbers import new_ticket_no
from intake_svc.domain.timeline import STATUS_LABELS, possible_repeat_label, received_label, repeat_label
from intake_svc.models import TicketCreate, TicketCreated

# failures of the database itself, not of one request: halving a group would only repeat them
_DATABASE_DOWN = (OperationalError, InterfaceError, OSError, TimeoutError)


def group_writers(setting: int, database_url: str) -> int:
    """How many groups are written at the same time: the setting on PostgreSQL, one on SQLite (one writer at a
    time, whatever the setting)."""
    return 1 if is_sqlite(database_url) else setting

@dataclass
class Registration:
    """One request made ready to write: validated, fingerprinted, its PII protected, its text shingled."""

    body: TicketCreate
    caller: Principal
    idempotency_key: str | None
    correlation_id: str | None
    platform: str | None
    fingerprint: str
    keys: list[idempotency.Key]
    phone: str | None
    phone_enc: str | None
    phone_hash: str | None
    id_number: str | None
    id_hash: str | None
    place: str | None
    shingles: set[str]
    matters: frozenset[str] = frozenset()
    # the MinHash signature and the merge index's band keys of it: computed for a whole group at once
    signature: np.ndarray | None = None
    band_keys: list[int] | None = None
    # the keyed hashes under every key of the PII ring (the first is phone_hash / id_hash): matched while rotating
    phone_hashes: tuple[str, ...] = ()
    id_hashes: tuple[str, ...] = ()

    @property
    def source(self) -> str:
        """Whose channel ids the request's `external_id` is one of: the platform it came from, else the caller's
        key (so no other caller can take an id first)."""
        return idempotency.channel_scope(caller=self.caller.key_id, platform=self.platform)


@dataclass
class _Group:
    """What one transaction writes."""

    ticket_rows: list[dict[str, Any]] = field(default_factory=list)
    timeline_rows: list[dict[str, Any]] = field(default_factory=list)
    submission_rows: list[dict[str, Any]] = field(default_factory=list)
    repeat_rows: list[dict[str, Any]] = field(default_factory=list)
    possible_rows: list[dict[str, Any]] = field(default_factory=list)
    sms_rows: list[dict[str, Any]] = field(default_factory=list)
    fresh_rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # tickets created in this group
    indexed: list[tuple[str, Registration]] = field(default_factory=list)


class Registrar:
    """Writes registrations: single requests through group commit, batches in one transaction."""

    def __init__(self, rt: Runtime, *, vault: PiiVault, index: MergeIndex, policy: MergePolicy,
                 candidates: int, records_only: bool, sms_signature: str, region_prefixes: Sequence[str],
                 tracking_url: Callable[[str, str], str], max_group: int, index_days: int = 90,
                 writers: int = 1) -> None:
        self.rt, self.vault, self.index, self.policy = rt, vault, index, policy
        self.index_days = index_days
        self.candidates = candidates
        self.records_only = records_only
        self.sms_signature = sms_signature
        self.region_prefixes = list(region_prefixes)
        self.tracking_url = tracking_url
        self.group_commit: GroupCommit[Registration, TicketCreated] = GroupCommit(
            self._write_waiting, lambda reg: reg.keys, max_group, writers)
        # statements built once: only the parameters change per group
        self._existing = (select(submissions, tickets.c.status.label("t_status"),
                                 tickets.c.status_label.label("t_status_label"))
                          .join(tickets, tickets.c.ticket_no == submissions.c.ticket_no))
        # the counters move in the same statement that reads them back, so concurrent repeats do not lose a count;
        # the repeat's number never goes down (an unmerge lowers the count only), so numbers are never reused
        self._bump_repeats = (update(tickets).where(tickets.c.ticket_no == bindparam("k_ticket_no"))
                              .values(repeat_count=tickets.c.repeat_count + 1, repeat_seq=tickets.c.repeat_seq + 1,
                                      updated_at=bindparam("now", type_=tickets.c.updated_at.type))
                              .returning(tickets.c.repeat_count, tickets.c.repeat_seq, tickets.c.status,
                                         tickets.c.status_label))
        # PostgreSQL: the three reads as one statement (one round trip a group); SQLite reads in the process
        self._all_candidates: Any = candidates_at_once(policy) if is_postgres(rt.engine) else None
        self._of_person, self._at_places = candidate_reads(policy)

    # ------------------------------------------------------------------ the way in

    def prepare(self, body: TicketCreate, *, caller: Principal, idempotency_key: str | None,
                correlation_id: str | None, platform: str | None = None, field: str = "") -> Registration:
        """Check what needs the settings, protect the PII and shingle the text (no I/O)."""
        loc = body.location
        registration.check_region(loc.region_code if loc else None, self.region_prefixes, field)
        c = body.complainant
        phone = c.phone if c else None
        idn = c.id_number if c else None
        phones, ids = self.vault.hashes(phone, "phone"), self.vault.hashes(idn, "id")
        return Registration(
            body=body, caller=caller, idempotency_key=idempotency_key, correlation_id=correlation_id,
            platform=platform, fingerprint=idempotency.fingerprint(body.model_dump(mode="json"), platform),
            keys=idempotency.keys_of(caller=caller.key_id, idempotency_key=idempotency_key,
                                     channel=body.channel.value,
                                     source=idempotency.channel_scope(caller=caller.key_id, platform=platform),
                                     external_id=body.external_id),
            phone=phone, phone_enc=self.vault.encrypt(phone, "phone"), phone_hash=phones[0] if phones else None,
            id_number=idn, id_hash=ids[0] if ids else None, phone_hashes=phones, id_hashes=ids,
            place=merging.place_key(loc.region_code if loc else None, loc.address if loc else None,
                                    loc.longitude if loc else None, loc.latitude if loc else None),
            matters=matters(body.content),
            shingles=shingles(body.content),  # the MinHash signature is computed with the group's
        )

    async def register(self, reg: Registration) -> TicketCreated:
        """Register one request with the next group (returns when its transaction has committed)."""
        return await self.group_commit.register(reg)

    async def register_all(self, regs: Sequence[Registration]) -> list[TicketCreated]:
        """Register a batch in one transaction: every request, or none of them (409 naming the item)."""
        for _attempt in range(3):
            try:
                return await self._write(regs, check_existing=True, positions=True)
            except IntegrityError:
                continue  # a concurrent request used one of the keys meanwhile: read them again
        raise Problem(409, "concurrent requests with the same keys are being registered; retry",
                      type_="idempotency-conflict")

    async def _write_one(self, reg: Registration) -> TicketCreated:
        """Write one request, answering a repeated key with the first answer (or 409 for a different body)."""
        for attempt in range(3):
            try:
                # the first try skips the read: the unique keys refuse a repeat, and the retry reads the first one
                return (await self._write([reg], check_existing=attempt > 0))[0]
            except IntegrityError:
                continue
        raise Problem(409, "a concurrent request with the same Idempotency-Key is being registered; retry",
                      type_="idempotency-conflict")

    async def _write_waiting(self, regs: list[Registration]) -> list[TicketCreated | Exception]:
        """Write a group from the queue; each request gets its own answer, never another request's failure.

        A request that fails the group's transaction (a key used before, a value the database refuses) is found by
        halving: each half is written again on its own, down to the one request that fails, alone. A failure of the
        database itself (unreachable, timed out) answers every request of the group with it.
        """
        if len(regs) == 1:
            try:
                return [await self._write_one(regs[0])]
            except Exception as exc:
                return [exc]
        try:
            return list(await self._write(regs, check_existing=False))
        except _DATABASE_DOWN as exc:
            return [exc] * len(regs)
        except Exception:
            mid = len(regs) // 2
            return [*(await self._write_waiting(regs[:mid])), *(await self._write_waiting(regs[mid:]))]

    # ------------------------------------------------------------------ one transaction

    async def _write(self, regs: Sequence[Registration], *, check_existing: bool,
                     positions: bool = False) -> list[TicketCreated]:
        """Write a group in one unit of work, all or nothing (IntegrityError when a key was used meanwhile).

        With `check_existing`, a request whose key was used before is answered with the first answer (409 for a
        different body, which fails the whole group), and so is a second request with a key used earlier in the
        group. `positions` names the item in those answers (a batch).
        """
        g = _Group()
        answers: list[TicketCreated | None] = [None] * len(regs)
        async with self.rt.unit_of_work() as uow:
            now = uow.now()
            found = await self._earlier(uow.session, regs) if check_existing else {}
            plan = idempotency.plan([r.keys for r in regs], [r.fingerprint for r in regs],
                                    {i: idempotency.Earlier(s.ticket_no, s.request_hash) for i, s in found.items()},
                                    positions=positions)
            for i in plan.replays:
                answers[i] = self._replayed(found[i])
            decided = await self._decide(uow, [regs[i] for i in plan.new], now, g)
            for i, created in zip(plan.new, decided, strict=True):
                answers[i] = created
            await self._save(uow, g)
        self._with_band_keys([reg for _, reg in g.indexed])
        for ticket_no, reg in g.indexed:
            self.index.add_keys(ticket_no, reg.band_keys)
            if reg.band_keys is not None:
                self.index.note_registered(ticket_no, now)
        out: list[TicketCreated] = []
        for i, answer in enumerate(answers):
            if answer is None:  # a later request of the group with the key of an earlier one
                first = answers[plan.repeats_of[i]]
                assert first is not None
                answer = first.model_copy(update={"replayed": True})
            out.append(answer)
        return out

    async def _earlier(self, session: AsyncSession, regs: Sequence[Registration]) -> dict[int, Any]:
        """The earlier submission of each request (by position) under its Idempotency-Key (first) or channel id."""
        by_key = sorted({(r.caller.key_id, r.idempotency_key) for r in regs if r.idempotency_key})
        by_channel = sorted({(r.body.channel.value, r.source, r.body.external_id) for r in regs
                             if r.body.external_id})
        if not (by_key or by_channel):
            return {}
        conds = []
        if by_key:
            conds.append(tuple_(submissions.c.caller, submissions.c.idempotency_key).in_(by_key))
        if by_channel:
            conds.append(tuple_(submissions.c.channel, submissions.c.source, submissions.c.external_id)
                         .in_(by_channel))
        seen: dict[idempotency.Key, Any] = {}
        for r in (await session.execute(self._existing.where(or_(*conds)))).all():
            for k in idempotency.keys_of(caller=r.caller, idempotency_key=r.idempotency_key, channel=r.channel,
                                         source=r.source, external_id=r.external_id):
                seen.setdefault(k, r)
        found: dict[int, Any] = {}
        for i, reg in enumerate(regs):
            hit = next((seen[k] for k in reg.keys if k in seen), None)
            if hit is not None:
                found[i] = hit
        return found

    def _replayed(self, sub: Any) -> TicketCreated:
        """The first answer again, for a repeated POST."""
        token = self.vault.decrypt(sub.token_enc, "token") or ""
        return TicketCreated(
            ticket_no=sub.ticket_no, status=sub.t_status, status_label=sub.t_status_label,
            received_at=sub.created_at, tracking_token=token,
            tracking_url=self.tracking_url(sub.ticket_no, token),
            replayed=True, merged=bool(sub.merged), repeat_count=sub.repeat_count, similarity=sub.similarity,
        )

    def _with_signatures(self, regs: Sequence[Registration]) -> None:
        """Give the requests their MinHash signatures, in one vectorised pass for the group."""
        todo = [r for r in regs if r.signature is None]
        if todo:
            for r, sig in zip(todo, self.index.hasher.signatures([r.shingles for r in todo]), strict=True):
                r.signature = sig

    def _with_band_keys(self, regs: Sequence[Registration]) -> None:
        """Give the requests with a place their band keys, in one pass (the query and the add share them)."""
        self._with_signatures(regs)
        todo = [r for r in regs if r.band_keys is None and r.place is not None]
        if todo:
            sigs = [r.signature for r in todo if r.signature is not None]
            for r, keys in zip(todo, self.index.band_keys(sigs, [r.place for r in todo]), strict=True):
                r.band_keys = keys

    def _open(self, r: Any, alias: dict[str, str]) -> OpenTicket:
        # a stored hash under an older key of the ring reads as the group's hash under the first key
        phone, idn = r.phone_hash, r.id_hash
        if alias:
            phone, idn = alias.get(phone, phone), alias.get(idn, idn)
        return OpenTicket(r.ticket_no, self.index.shingles_of(r.ticket_no, r.content), phone, idn,
                          r.place_key, r.status, r.received_at, matters(r.content))

    async def _candidates(self, session: AsyncSession, regs: Sequence[Registration], now: datetime) -> Candidates:
        c = Candidates(per_person=self.candidates * 2)
        shared = self._all_candidates is not None  # SQLite: one process, whose group commit writes a group at a time
        if shared:
            # replicas decide repeats of the same person or place one after another: the second one waits here
            # for the first one's commit, then reads its ticket below
            await merge_lock(session, [k for r in regs for k in merging.merge_keys(r)])
        phones = sorted({h for r in regs for h in r.phone_hashes})
        ids = sorted({h for r in regs for h in r.id_hashes})
        alias = {h: hs[0] for r in regs for hs in (r.phone_hashes, r.id_hashes) for h in hs[1:]}
        # the index is asked once per request: its answers serve the read here and the decision below
        self._with_band_keys(regs)
        c.place_candidates = {id(r): self.index.candidates_by_keys(r.band_keys, self.candidates) for r in regs}
        ticket_nos = sorted({t for found in c.place_candidates.values() for t in found})
        person = {"phones": phones, "ids": ids, "since": self.policy.window_start(now), "n": c.per_person}
        found: list[tuple[int, Any]] = []
        if shared:
            places = sorted({r.place for r in regs if r.place is not None})
            found = [(r.part, r) for r in (await session.execute(self._all_candidates, {
                **person, "ticket_nos": ticket_nos, "places": places, "places_n": self.candidates * 4,
                "places_since": self.index.unseen_since(self.index_days, now)})).all()]
        else:
            if phones or ids:
                found += [(OF_PERSON, r) for r in (await session.execute(self._of_person, person)).all()]
            if ticket_nos:
                found += [(AT_PLACES, r) for r in (await session.execute(self._at_places,
                                                                          {"ticket_nos": ticket_nos})).all()]
        for part, r in found:
            t = self._open(r, alias)
            if part == OF_PERSON:
                for h in (t.phone_hash, t.id_hash):
                    if h:
                        c.by_person.setdefault(h, []).append(t)
            elif part == AT_PLACES:
                c.by_ticket_no[t.ticket_no] = t
            else:
                c.recent_at.setdefault(r.place_key, []).append(t)
        return c

    async def _decide(self, uow: UnitOfWork, regs: Sequence[Registration], now: datetime,
                      g: _Group) -> list[TicketCreated]:
        """Create or merge each request of the group in order, collecting the rows to write; emit its event."""
        self._with_signatures(regs)  # stored with every ticket, merging on or off
        enabled = self.policy.enabled
        cands = await self._candidates(uow.session, regs, now) if enabled else Candidates()
        answers: list[TicketCreated] = []
        numbers: set[str] = set()
        for reg in regs:
            persons, places = (cands.of_person(reg), cands.at_place(reg)) if enabled else ([], [])
            match = merging.find_repeat(reg, persons=persons, places=places, now=now,
                                        policy=self.policy) if enabled else None
            token = secrets.token_urlsafe(18)
            if match is None:
                ticket_no = new_ticket_no(now)
                while ticket_no in numbers:  # one time for the whole group: only the random part tells them apart
                    ticket_no = new_ticket_no(now)
                numbers.add(ticket_no)
                row = self._create(uow, reg, ticket_no, now, g)
                if enabled:
                    self._possible(ticket_no, merging.find_possible(reg, persons=persons, places=places, now=now,
                                                                    policy=self.policy), now, g)
                cands.fresh.append(OpenTicket(ticket_no, reg.shingles, reg.phone_hash, reg.id_hash, reg.place,
                                              row["status"], now, reg.matters))
                status, label, count = row["status"], row["status_label"], 0
            else:
                ticket_no = match.ticket_no
                status, label, count = await self._merge(uow, reg, match, now, g, token_hash(token))
            similarity = round(match.similarity, 4) if match else None
            g.submission_rows.append(dict(
                caller=reg.caller.key_id, idempotency_key=reg.idempotency_key, channel=reg.body.channel.value,
                source=reg.source, external_id=reg.body.external_id, request_hash=reg.fingerprint,
                ticket_no=ticket_no, merged=match is not None, similarity=similarity, repeat_count=count,
                token_hash=token_hash(token), token_enc=self.vault.encrypt(token, "token"), created_at=now,
            ))
            self._receipt(reg, ticket_no, f"sub:{ticket_no}:{token[:12]}", match is not None, now, g)
            answers.append(TicketCreated(
                ticket_no=ticket_no, status=status, status_label=label, received_at=now, tracking_token=token,
                tracking_url=self.tracking_url(ticket_no, token), replayed=False,
                merged=match is not None, repeat_count=count, similarity=similarity,
            ))
        return answers

    async def create_split(self, uow: UnitOfWork, body: TicketCreate, *, caller: Principal, submitted_by: str | None,
                           platform: str | None, now: datetime,
                           routing: dict[str, Any] | None = None) -> tuple[str, Callable[[], None]]:
        """Register a request taken out of a ticket (or handed down: `routing` for its TicketReceived) as a fresh
        submission would be (its number, row, first step, TicketReceived) in the caller's unit of work, never
        merged; returns the number and what to run after commit (the merge index learns it once it is stored)."""
        reg = self.prepare(body, caller=caller, idempotency_key=None, correlation_id=None, platform=platform)
        self._with_signatures([reg])
        g = _Group()
        ticket_no = new_ticket_no(now)
        row = self._create(uow, reg, ticket_no, now, g, routing)
        row["submitted_by"] = submitted_by or caller.key_id
        self._receipt(reg, ticket_no, f"split:{ticket_no}", False, now, g)  # the person learns the new number
        await self._save(uow, g)
        self._with_band_keys([reg])

        def index() -> None:
            self.index.add_keys(ticket_no, reg.band_keys)
            if reg.band_keys is not None:
                self.index.note_registered(ticket_no, now)
        return ticket_no, index

    def _create(self, uow: UnitOfWork, reg: Registration, ticket_no: str, now: datetime,
                g: _Group, routing: dict[str, Any] | None = None) -> dict[str, Any]:
        v = self.vault
        body, c, loc = reg.body, reg.body.complainant, reg.body.location
        anonymous = registration.is_anonymous(body)
        row = dict(
            ticket_no=ticket_no, channel=body.channel.value, platform=reg.platform, external_id=body.external_id,
            submitted_by=reg.caller.key_id, title=body.title, content=body.content,
            category_hint=body.category.value if body.category else None,
            region_code=loc.region_code if loc else None, address=loc.address if loc else None,
            longitude=loc.longitude if loc else None, latitude=loc.latitude if loc else None,
            happened_at=body.happened_at, received_at=now, anonymous=anonymous,
            name_enc=v.encrypt(c.name if c else None, "name"), phone_enc=reg.phone_enc,
            phone_hash=reg.phone_hash, id_enc=v.encrypt(reg.id_number, "id"), id_hash=reg.id_hash,
            name_hash=search_index.name_hash(v, c.name if c else None),
            enterprise_name=body.enterprise.name if body.enterprise else None,
            credit_code=body.enterprise.credit_code if body.enterprise else None,
            attachments=[a.model_dump(mode="json") for a in body.attachments] or None,
            minhash=reg.signature.tobytes() if reg.signature is not None else None, place_key=reg.place,
            repeat_count=0, repeat_seq=0, merged_into=None, status="received", status_label=STATUS_LABELS["received"],
            category=None, updated_at=now,
        )
        g.ticket_rows.append(row)
        g.fresh_rows[ticket_no] = row
        g.timeline_rows.append(dict(ticket_no=ticket_no, at=now, event_type="TicketReceived", public=1,
                                    label=received_label(body.channel.value)))
        uow.emit(registration.received(body, platform=reg.platform, anonymous=anonymous, now=now, routing=routing),
                 ticket_no=ticket_no, correlation_id=reg.correlation_id, occurred_at=now)
        g.indexed.append((ticket_no, reg))
        return row

    def _receipt(self, reg: Registration, ticket_no: str, dedupe_key: str, merged: bool, now: datetime,
                 g: _Group) -> None:
        """The text with the ticket number to the person who asked (when there is a phone)."""
        if reg.phone:
            g.sms_rows.append(dict(
                kind=sms.receipt_kind(merged=merged), dedupe_key=dedupe_key, ticket_no=ticket_no, unit_code=None,
                recipient_enc=reg.phone_enc, recipient_masked=mask_phone(reg.phone),
                text=sms.receipt_text(self.sms_signature, ticket_no, merged=merged),
                status=sms.initial_status(records_only=self.records_only), attempts=0, created_at=now,
            ))

    def _possible(self, ticket_no: str, found: list[merging.Match], now: datetime, g: _Group) -> None:
        """Record the tickets a new one may repeat (疑似重复), for an operator to confirm or reject."""
        for m in found:
            g.possible_rows.append(dict(ticket_no=ticket_no, candidate_no=m.ticket_no,
                                        similarity=round(m.similarity, 4), same_person=m.same_person, state="open",
                                        created_at=now, decided_at=None, decided_by=None, reason=None))
            g.timeline_rows.append(dict(ticket_no=ticket_no, at=now, event_type="PossibleRepeat", public=0,
                                        label=possible_repeat_label(m.ticket_no, m.similarity, m.same_person)))

    async def _merge(self, uow: UnitOfWork, reg: Registration, match: merging.Match, now: datetime,
                     g: _Group, token: str) -> tuple[str, str, int]:
        fresh = g.fresh_rows.get(match.ticket_no)
        if fresh is not None:
            # merged into a ticket of this same group: its row is not written yet, so count on the row itself
            fresh["repeat_count"] += 1
            fresh["repeat_seq"] += 1
            count, seq = fresh["repeat_count"], fresh["repeat_seq"]
            status, label = fresh["status"], fresh["status_label"]
        else:
            t = (await uow.session.execute(self._bump_repeats, {"k_ticket_no": match.ticket_no, "now": now})).one()
            count, seq, status, label = t.repeat_count, t.repeat_seq, t.status, t.status_label
        body = reg.body
        g.repeat_rows.append(dict(
            ticket_no=match.ticket_no, seq=seq, channel=body.channel.value, content=body.content,
            same_person=match.same_person, similarity=round(match.similarity, 4), phone_enc=reg.phone_enc,
            phone_hash=reg.phone_hash, region_code=body.location.region_code if body.location else None,
            received_at=now,
            # kept whole so that an unmerge registers the request as it came (encrypted: it names the person)
            body_enc=self.vault.encrypt(body.model_dump_json(exclude_defaults=True), "request"), token_hash=token,
            submitted_by=reg.caller.key_id, platform=reg.platform,
        ))
        g.timeline_rows.append(dict(ticket_no=match.ticket_no, at=now, event_type="RepeatReceived", public=1,
                                    label=repeat_label(match.same_person, count)))
        uow.emit(registration.repeated(body, match, count, now), ticket_no=match.ticket_no,
                 correlation_id=reg.correlation_id, occurred_at=now)
        return status, label, count

    async def _save(self, uow: UnitOfWork, g: _Group) -> None:
        """Write the group's rows and its events: one statement on PostgreSQL (UnitOfWork.write_with_events)."""
        await uow.write_with_events([
            *((insert_statement(table), rows) for table, rows in (
                (tickets, g.ticket_rows), (timeline, g.timeline_rows), (submissions, g.submission_rows),
                (repeats, g.repeat_rows), (possible_repeats, g.possible_rows))),
            (insert_statement(search_index.ticket_search), [search_index.row_of(r) for r in g.ticket_rows]),
            (upsert_statement(uow.session, sms_outbox, ["dedupe_key"]), g.sms_rows)])
        # a repeat's text is found through its ticket from this commit on
        await search_index.refresh(uow.session, {r["ticket_no"] for r in g.repeat_rows})
