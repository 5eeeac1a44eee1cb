"""并单 by hand: merge a ticket into another, take a merged request back out as its own ticket, reject a possible
repeat. Each in one unit of work: the rows, the timeline lines and the events commit together or not at all."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.contracts.intake import RepeatReceived, RepeatUnmerged, TicketMerged
from bancheng_shared.unit_of_work import UnitOfWork
from intake_svc.adapters import remerge as store
from intake_svc.adapters import tickets as stored
from intake_svc.context import Intake
from intake_svc.domain import access, remerge
from intake_svc.domain.commands import MergeTicket, RejectPossibleRepeat, UnmergeRequest
from intake_svc.domain.timeline import (
    merged_away_label,
    merged_in_label,
    merged_public_label,
    rejected_label,
    repeat_label,
    split_label,
    unmerged_label,
)
from intake_svc.models import TicketCreate


async def merge_ticket(cmd: MergeTicket, uow: UnitOfWork, ctx: Intake) -> dict[str, Any]:
    """Merge ticket `ticket_no` into `into` as an automatic merge would (a repeat counted, RepeatReceived), and
    stop it being worked on its own (status `merged`, TicketMerged); both timelines name who and why."""
    policy = ctx.registrar.policy
    by, reason = cmd.actor.name, cmd.reason
    async with uow:
        s, now = uow.session, uow.now()
        rows = await store.lock_tickets(s, [cmd.ticket_no, cmd.into])
        for no in (cmd.ticket_no, cmd.into):
            if no not in rows:
                raise access.unknown_ticket(no)
        src, dst = rows[cmd.ticket_no], rows[cmd.into]
        remerge.check_merge(store.state_of(src), store.state_of(dst), policy)
        same = remerge.same_person(src.phone_hash, src.id_hash, dst.phone_hash, dst.id_hash)
        score = remerge.merge_score(src.content, dst.content, same)
        if not await store.merge_away(s, src.ticket_no, dst.ticket_no, now):
            raise remerge.changed_meanwhile(src.ticket_no)
        counted = await store.add_repeat(s, dst.ticket_no, policy.not_open, now)
        if counted is None:
            raise remerge.changed_meanwhile(dst.ticket_no)
        count, seq = counted.repeat_count, counted.repeat_seq
        await store.insert_repeat(
            s, ticket_no=dst.ticket_no, seq=seq, channel=src.channel, content=src.content, same_person=same,
            similarity=score, phone_enc=src.phone_enc, phone_hash=src.phone_hash, region_code=src.region_code,
            received_at=src.received_at, submitted_by=src.submitted_by, platform=src.platform,
            source_ticket_no=src.ticket_no, merged_by=by, merge_reason=reason)
        await store.settle_possible(s, src.ticket_no, confirmed=dst.ticket_no, by=by, reason=reason, now=now)
        await store.add_steps(s, [
            dict(ticket_no=src.ticket_no, at=now, event_type="TicketMerged", public=1,
                 label=merged_public_label(dst.ticket_no)),
            dict(ticket_no=src.ticket_no, at=now, event_type="TicketMerged",
                 label=merged_away_label(dst.ticket_no, by, reason)),
            dict(ticket_no=dst.ticket_no, at=now, event_type="RepeatReceived", public=1,
                 label=repeat_label(same, count)),
            dict(ticket_no=dst.ticket_no, at=now, event_type="RepeatReceived",
                 label=merged_in_label(src.ticket_no, seq, by, reason)),
        ])
        # the same contract as an automatic merge (triage counts it), then the fact that src stops on its own
        uow.emit(RepeatReceived(repeat_count=count, content=src.content, same_person=same, channel=src.channel,
                                received_at=src.received_at, similarity=score), ticket_no=dst.ticket_no)
        uow.emit(TicketMerged(into_ticket_no=dst.ticket_no, reason=reason, by=by, merged_at=now, similarity=score),
                 ticket_no=src.ticket_no)
    return {"ticket_no": src.ticket_no, "into": dst.ticket_no, "seq": seq, "repeat_count": count,
            "same_person": same, "similarity": score, "merged_at": now}


async def _request_of(s: AsyncSession, ctx: Intake, rep: Any) -> TicketCreate:
    """The merged request as it came: kept whole (automatic merges), else the ticket merged in, else (repeats kept
    before the whole request was) what the repeat row holds."""
    v = ctx.vault
    if rep.body_enc:
        return TicketCreate.model_validate_json(v.decrypt(rep.body_enc, "request") or "")
    if rep.source_ticket_no and (t := await stored.ticket(s, rep.source_ticket_no)) is not None:
        return TicketCreate.model_validate(remerge.request_of(
            channel=t.channel, content=t.content, title=t.title, category=t.category_hint,
            name=v.decrypt(t.name_enc, "name"), phone=v.decrypt(t.phone_enc, "phone"),
            id_number=v.decrypt(t.id_enc, "id"), anonymous=bool(t.anonymous), enterprise_name=t.enterprise_name,
            credit_code=t.credit_code, region_code=t.region_code, address=t.address, longitude=t.longitude,
            latitude=t.latitude, external_id=t.external_id, happened_at=t.happened_at, attachments=t.attachments))
    return TicketCreate.model_validate(remerge.request_of(
        channel=rep.channel, content=rep.content, phone=v.decrypt(rep.phone_enc, "phone"),
        region_code=rep.region_code))


async def unmerge_request(cmd: UnmergeRequest, uow: UnitOfWork, ctx: Intake) -> dict[str, Any]:
    """Take a merged request out of a ticket as its own: registered as a fresh submission would be (a new number,
    TicketReceived: its own work order and clock), the ticket's count lowered; once (409 the second time)."""
    no, by, reason = cmd.ticket_no, cmd.actor.name, cmd.reason
    async with uow:
        s, now = uow.session, uow.now()
        if not await store.lock_tickets(s, [no]):
            raise access.unknown_ticket(no)
        rep = await store.repeat(s, no, cmd.seq)
        remerge.check_unmerge(store.repeat_state(rep), no, cmd.seq)
        body = await _request_of(s, ctx, rep)
        new_no, index_it = await ctx.registrar.create_split(uow, body, caller=cmd.actor, submitted_by=rep.submitted_by,
                                                            platform=rep.platform, now=now)
        if not await store.mark_unmerged(s, rep.id, into=new_no, by=by, reason=reason, now=now):
            raise remerge.unmerged_twice(no, cmd.seq)
        count = await store.lower_count(s, no, now)
        await store.follow_request(s, token_hash=rep.token_hash, source_ticket_no=rep.source_ticket_no, to=new_no)
        await store.add_steps(s, [
            dict(ticket_no=no, at=now, event_type="RepeatUnmerged", label=unmerged_label(cmd.seq, new_no, by, reason)),
            dict(ticket_no=new_no, at=now, event_type="RepeatUnmerged", label=split_label(no, by, reason)),
        ])
        uow.emit(RepeatUnmerged(seq=cmd.seq, new_ticket_no=new_no, repeat_count=count, reason=reason, by=by,
                                unmerged_at=now), ticket_no=no)
        uow.after_commit(index_it)
    return {"ticket_no": new_no, "from_ticket_no": no, "seq": cmd.seq, "repeat_count": count, "status": "received",
            "unmerged_at": now}


async def reject_possible_repeat(cmd: RejectPossibleRepeat, uow: UnitOfWork, ctx: Intake) -> dict[str, Any]:
    """An operator finds a possible repeat is another matter: it is closed as rejected, the timeline says who and
    why."""
    no, by, reason = cmd.ticket_no, cmd.actor.name, cmd.reason
    async with uow:
        s, now = uow.session, uow.now()
        if not await store.lock_tickets(s, [no]):
            raise access.unknown_ticket(no)
        remerge.check_reject(await store.possible_state(s, no, cmd.candidate_no), no, cmd.candidate_no)
        if not await store.reject_possible(s, no, cmd.candidate_no, by=by, reason=reason, now=now):
            remerge.check_reject(await store.possible_state(s, no, cmd.candidate_no), no, cmd.candidate_no)
        await store.add_steps(s, [dict(ticket_no=no, at=now, event_type="PossibleRepeatRejected",
                                       label=rejected_label(cmd.candidate_no, by, reason))])
    return {"ticket_no": no, "candidate_no": cmd.candidate_no, "state": "rejected", "decided_at": now}
