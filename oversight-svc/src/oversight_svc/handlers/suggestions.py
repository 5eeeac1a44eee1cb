"""Process-improvement suggestions: raised by the work team and the supervisors, answered by the department."""

from __future__ import annotations

from typing import Any

from bancheng_shared.unit_of_work import UnitOfWork
from oversight_svc import suggestion_queries
from oversight_svc.adapters import suggestions as stored
from oversight_svc.context import Oversight
from oversight_svc.domain import suggestions
from oversight_svc.domain.commands import AnswerSuggestion, RaiseSuggestion


async def raise_suggestion(cmd: RaiseSuggestion, uow: UnitOfWork, ox: Oversight) -> dict[str, Any]:
    """Store the suggestion due N working days on the calendar in force and publish SuggestionRaised."""
    async with uow:
        s, now = uow.session, uow.now()
        new = suggestions.raise_suggestion(
            source=cmd.source, source_ref=cmd.source_ref,
            source_known=await stored.source_known(s, cmd.source, cmd.source_ref), target=cmd.target, item=cmd.item,
            evidence=cmd.evidence, department=cmd.department,
            department_known=await stored.unit_known(s, cmd.department), who=cmd.actor, now=now,
            working_days=ox.settings.suggestion_answer_working_days, calendar=await ox.calendar.refresh(s), tz=ox.tz)
        await stored.add(s, new.row)
        uow.emit(new.event, ticket_no=new.suggestion_id)
        return suggestion_queries.view(await stored.load(s, new.suggestion_id), now)


async def answer_suggestion(cmd: AnswerSuggestion, uow: UnitOfWork, ox: Oversight) -> dict[str, Any]:
    """The department's answer, once; publishes SuggestionAnswered."""
    async with uow:
        s, now = uow.session, uow.now()
        row = await stored.load(s, cmd.suggestion_id, lock=True)
        out = suggestions.answer(row, who=cmd.actor, decision=cmd.decision, change=cmd.change,
                                 effective_date=cmd.effective_date, reason=cmd.reason, now=now)
        await stored.set_answer(s, cmd.suggestion_id, out.values)
        uow.emit(out.event, ticket_no=cmd.suggestion_id)
        return suggestion_queries.view(await stored.load(s, cmd.suggestion_id), now)
