"""Route dependencies as `Annotated` aliases: the bus, the context, the runtime, the caller by role."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from pydantic import AfterValidator, BaseModel, ConfigDict

from bancheng_shared.app import CorrelationId, RuntimeDep
from bancheng_shared.auth import Principal, Role, require
from bancheng_shared.contracts.limits import TicketNo
from bancheng_shared.messagebus import MessageBus
from oversight_svc.context import Oversight

__all__ = [
    "AccountabilityReader",
    "Admin",
    "AssessmentReader",
    "Body",
    "Bus",
    "CaseReader",
    "CaseWriter",
    "CopyReader",
    "CorrelationId",
    "Ctx",
    "Id",
    "LedgerReader",
    "Moment",
    "Offset",
    "Publisher",
    "ReportReader",
    "RuntimeDep",
    "StatsReader",
    "SuggestionRaiser",
    "SuggestionReader",
    "UnitKey",
    "VisitReader",
    "Visitor",
]

# DESIGN.md's users: discipline inspection, the supervision office and the business-environment office supervise
# red and overdue tickets (they work cases, letters, visits and accountability); leaders read statistics and
# reports; a unit key sees its own figures and the cases naming it and answers the letters addressed to it; the work
# team makes the return visits; the public reads the disclosure feed (no key)
CASE_WRITERS = (Role.inspector, Role.supervision_office, Role.business_environment)
CASE_READERS = (*CASE_WRITERS, Role.unit)
STATS_ROLES = (Role.leader, *CASE_WRITERS, Role.work_team, Role.unit)
VISITORS = (Role.work_team, Role.inspector, Role.supervision_office)
REPORT_ROLES = (Role.leader, *CASE_WRITERS, Role.work_team)
# the ledgers (台账): leaders, the work team and the supervising offices; a unit key its own unit's rows
LEDGER_ROLES = (Role.leader, Role.work_team, *CASE_WRITERS, Role.unit)
COPY_READERS = (Role.business_environment, Role.supervision_office, Role.inspector, Role.leader)
# process improvement: those who see a procedure from the window or a case raise a suggestion (the work team, the
# supervisors); the department answers with its own unit key and reads only its own; leaders read
SUGGESTION_RAISERS = (Role.work_team, Role.supervision_office, Role.business_environment, Role.inspector)
# the yearly assessment: leaders, the supervision office, the business-environment office, the work team; a unit key
# its own row; only an admin sets the scheme
ASSESSMENT_READERS = (Role.leader, Role.supervision_office, Role.business_environment, Role.work_team, Role.unit)

OFFSET_MAX = 10_000_000  # far beyond any list oversight keeps; a bigger offset is a 422, not a database overflow

# oversight's ids (CASE-…, LTR-…, ACC-…, RV-…, HS-…) are identifiers as short as a ticket number: the same limit
Id = TicketNo
Offset = Annotated[int, Query(ge=0, le=OFFSET_MAX, description=f"rows to skip (at most {OFFSET_MAX:,})")]


_EARLIEST, _LATEST = datetime(1, 1, 2, tzinfo=UTC), datetime(9999, 12, 30, tzinfo=UTC)


def _within_reach(at: datetime) -> datetime:
    """A time that UTC and every local time zone can hold (a day inside year 1 … 9999 either side)."""
    if at.tzinfo is not None:
        try:
            utc = at.astimezone(UTC)
        except OverflowError:
            raise ValueError("out of range: the time cannot be converted to UTC") from None
        if not _EARLIEST <= utc <= _LATEST:
            raise ValueError(f"out of range: {utc.isoformat()} is too close to year 1 or 9999")
    return at


# a timestamp in a request body (an offset that pushes it past year 1 or 9999 is a 422 naming the field)
Moment = Annotated[datetime, AfterValidator(_within_reach)]


async def bus_of(request: Request) -> MessageBus[Oversight]:
    """The service's message bus (set up in main)."""
    bus: MessageBus[Oversight] = request.app.state.bus
    return bus


async def context_of(request: Request) -> Oversight:
    """The service's context (settings, calendar, policy)."""
    ox: Oversight = request.app.state.bus.ctx
    return ox


class Body(BaseModel):
    """Request bodies refuse unknown fields."""

    model_config = ConfigDict(extra="forbid")


Bus = Annotated[MessageBus[Oversight], Depends(bus_of)]
Ctx = Annotated[Oversight, Depends(context_of)]
StatsReader = Annotated[Principal, Depends(require(*STATS_ROLES))]
ReportReader = Annotated[Principal, Depends(require(*REPORT_ROLES))]
CopyReader = Annotated[Principal, Depends(require(*COPY_READERS))]
CaseReader = Annotated[Principal, Depends(require(*CASE_READERS))]
CaseWriter = Annotated[Principal, Depends(require(*CASE_WRITERS))]
Publisher = Annotated[Principal, Depends(require(*CASE_WRITERS))]
UnitKey = Annotated[Principal, Depends(require(Role.unit))]
Visitor = Annotated[Principal, Depends(require(*VISITORS))]
VisitReader = Annotated[Principal, Depends(require(*VISITORS, Role.business_environment, Role.unit, Role.leader))]
LedgerReader = Annotated[Principal, Depends(require(*LEDGER_ROLES))]
AccountabilityReader = Annotated[Principal, Depends(require(*CASE_READERS, Role.leader))]
SuggestionRaiser = Annotated[Principal, Depends(require(*SUGGESTION_RAISERS))]
SuggestionReader = Annotated[Principal, Depends(require(*SUGGESTION_RAISERS, Role.unit, Role.leader))]
AssessmentReader = Annotated[Principal, Depends(require(*ASSESSMENT_READERS))]
Admin = Annotated[Principal, Depends(require(Role.admin))]
