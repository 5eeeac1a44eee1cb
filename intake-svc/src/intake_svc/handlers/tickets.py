"""Registering requests (single, batch, from platforms), the staff view of a ticket, follow-ups."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from bancheng_shared.contracts.intake import FollowUpAdded
from bancheng_shared.errors import Problem
from bancheng_shared.principal import Role
from bancheng_shared.unit_of_work import UnitOfWork
from intake_svc.adapters import platforms as registered
from intake_svc.adapters import remerge as merges
from intake_svc.adapters import tickets as stored
from intake_svc.context import Intake
from intake_svc.domain import access, pii, platforms, signing
from intake_svc.domain.commands import AddFollowUp, ReceivePlatformItem, RegisterBatch, RegisterTicket, ViewTicket
from intake_svc.models import PlatformItem, TicketBatchCreated, TicketCreated
from intake_svc.queries import summary

# who merged a repeat in by hand or took it out, and why (staff names, no complainant data)
_REPEAT_ACTS = ("source_ticket_no", "merged_by", "merge_reason", "unmerged_into", "unmerged_at", "unmerged_by",
                "unmerge_reason")
_POSSIBLE = ("similarity", "same_person", "state", "created_at", "decided_at", "decided_by", "reason")


async def register_ticket(cmd: RegisterTicket, uow: UnitOfWork, ctx: Intake) -> TicketCreated:
    """Register a request as a ticket, or merge it into the open ticket it repeats; once per key / channel id.

    The request joins the next group commit, whose own unit of work writes the whole group (`uow` is not entered).
    """
    reg = ctx.registrar.prepare(cmd.body, caller=cmd.actor, idempotency_key=cmd.idempotency_key,
                                correlation_id=cmd.correlation_id)
    return await ctx.registrar.register(reg)


async def register_batch(cmd: RegisterBatch, uow: UnitOfWork, ctx: Intake) -> TicketBatchCreated:
    """Register many requests in one transaction: all of them or none (each merged or created as one alone)."""
    key = cmd.idempotency_key
    regs = [
        # under one Idempotency-Key the whole batch replays: each item gets its own key from it
        ctx.registrar.prepare(item, caller=cmd.actor, idempotency_key=f"{key}#{i}" if key else None,
                              correlation_id=cmd.correlation_id, field=f"items[{i}].")
        for i, item in enumerate(cmd.items)
    ]
    answers = await ctx.registrar.register_all(regs)
    return TicketBatchCreated(
        items=answers, created=sum(not a.merged and not a.replayed for a in answers),
        merged=sum(a.merged and not a.replayed for a in answers), replayed=sum(a.replayed for a in answers),
    )


def _platform_item(raw: bytes) -> PlatformItem:
    try:
        return PlatformItem.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]} for e in exc.errors()]
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise Problem(400, "malformed JSON body", type_="malformed-json") from exc
        raise Problem(422, "; ".join(f"{e['field']}: {e['message']}" for e in errors), type_="validation",
                      errors=errors) from exc


async def receive_platform_item(cmd: ReceivePlatformItem, uow: UnitOfWork, ctx: Intake) -> TicketCreated:
    """Verify the signature, refuse stale or replayed ones, then register the item (idempotent on its id)."""
    async with uow.rt.sm() as session:
        row = await registered.platform(session, cmd.platform, active_only=True)
    secret = platforms.secret_of(cmd.platform, ctx.vault.decrypt(row.secret_enc, "platform") if row else None,
                                 ctx.settings.platform_secrets)
    max_skew = ctx.settings.platform_max_skew_s
    expected = signing.verify(secret, cmd.raw, cmd.timestamp, cmd.signature, now_s=uow.now().timestamp(),
                              max_skew_s=max_skew)
    item = _platform_item(cmd.raw)
    # the signature is recorded first and in its own transaction: a replay is refused even while the first
    # request is still being registered
    try:
        async with uow:
            now = uow.now()
            await registered.remember_signature(uow.session, expected, platform_name=cmd.platform, now=now,
                                                forget_before=signing.forget_before(now, max_skew))
    except IntegrityError as exc:
        raise signing.replayed() from exc
    try:
        reg = ctx.registrar.prepare(item.as_ticket(), caller=cmd.actor, idempotency_key=None,
                                    correlation_id=cmd.correlation_id, platform=cmd.platform)
        return await ctx.registrar.register(reg)
    except Exception:
        # the request failed: it wrote nothing, so its signature may be used again
        async with uow.rt.unit_of_work(cmd.correlation_id) as undo:
            await registered.forget_signature(undo.session, expected)
        raise


async def view_ticket(cmd: ViewTicket, uow: UnitOfWork, ctx: Intake) -> dict[str, Any]:
    """The whole ticket with its timeline, repeats and follow-ups; complainant data per role, full reads logged."""
    who, ticket_no, vault = cmd.actor, cmd.ticket_no, ctx.vault
    async with uow:
        s = uow.session
        row = await stored.ticket(s, ticket_no)
        if row is None:
            raise access.unknown_ticket(ticket_no)
        access.check_visible(who, ticket_no, row.unit)
        steps = await stored.steps(s, ticket_no)
        reps = await stored.repeats_of(s, ticket_no)
        ups = await stored.follow_ups_of(s, ticket_no)
        # a unit must not learn of other tickets: possible repeats name them
        possible = [] if who.role == Role.unit else await merges.possible_of(s, ticket_no)
        report = pii.is_report(row.category, row.category_hint)
        shown_as = pii.disclosure(who.role, anonymous=bool(row.anonymous), enterprise=bool(row.enterprise_name),
                                  report=report)
        revealed = shown_as in (pii.Disclosure.full, pii.Disclosure.masked)
        complainant, shown = pii.complainant_view(
            shown_as, anonymous=bool(row.anonymous),
            name=vault.decrypt(row.name_enc, "name") if revealed else None,
            phone=vault.decrypt(row.phone_enc, "phone") if revealed else None,
            id_number=vault.decrypt(row.id_enc, "id") if revealed else None,
            enterprise={"name": row.enterprise_name, "credit_code": row.credit_code} if row.enterprise_name else None)
        rep_views = []
        for r in reps:
            phone, in_full = pii.repeat_phone(who.role, vault.decrypt(r.phone_enc, "phone"), report=report)
            if in_full:
                shown.append(f"repeats[{r.seq}].phone")
            rep_views.append({"seq": r.seq, "channel": r.channel, "content": r.content,
                              "same_person": r.same_person, "similarity": r.similarity,
                              "received_at": r.received_at, "phone": phone, **{k: getattr(r, k) for k in _REPEAT_ACTS}})
        if shown:
            await stored.log_pii_access(s, at=uow.now(), key_id=who.key_id, key_name=who.name, role=who.role.value,
                                        ticket_no=ticket_no, fields=shown, route=cmd.route)
    data = summary(row)
    data.update(
        title=row.title, content=row.content, address=row.address, longitude=row.longitude, latitude=row.latitude,
        happened_at=row.happened_at, external_id=row.external_id, attachments=row.attachments or [],
        complainant=complainant, repeats=rep_views,
        possible_repeats=[{"ticket_no": p.candidate_no, **{k: getattr(p, k) for k in _POSSIBLE}} for p in possible],
        follow_ups=[{"content": u.content, "added_at": u.added_at} for u in ups],
        timeline=[{"at": st.at, "event": st.event_type, "label": st.label, "public": bool(st.public)}
                  for st in steps],
    )
    return data


async def add_follow_up(cmd: AddFollowUp, uow: UnitOfWork, ctx: Intake) -> dict[str, Any]:
    """The person adds to their own ticket (front ends must pass the person's proof; operators need none)."""
    ticket_no = cmd.ticket_no
    if access.needs_proof(cmd.actor):
        # the try counts as a failure before the proof is checked, and is given back when it holds
        held = await ctx.proofs.reserve(source=cmd.source, ticket_no=ticket_no, by_last4=bool(cmd.phone_last4))
        async with uow.rt.sm() as session:
            proven = await stored.proven(session, ctx.vault, ticket_no, phone_last4=cmd.phone_last4, token=cmd.token)
        if proven is None:
            raise access.no_proof_match()
        await ctx.proofs.release_now(held)
    async with uow:
        s = uow.session
        row = await stored.ticket(s, ticket_no)
        if row is None:
            raise access.unknown_ticket(ticket_no)
        access.check_visible(cmd.actor, ticket_no, row.unit)
        access.check_takes_follow_ups(ticket_no, row.status, row.status_label, ctx.settings.closed_statuses)
        now = uow.now()
        count = await stored.add_follow_up(s, ticket_no, content=cmd.content, added_by=cmd.actor.key_id, now=now)
        uow.emit(FollowUpAdded(content=cmd.content, added_at=now), ticket_no=ticket_no, occurred_at=now)
    return {"ticket_no": ticket_no, "follow_ups": count, "added_at": now}
