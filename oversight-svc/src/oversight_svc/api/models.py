"""What oversight answers, as typed models (the OpenAPI document's success schemas).

The routes build plain dicts (the read side and the handlers); these models describe them field by field, and
FastAPI checks each answer against its model. A case answers the keys it has: `informant` only to the roles that
may see it, `documents` and `letters` only for one case (lists are the short form).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from oversight_svc.domain.metrics import METRIC_NOTES
from oversight_svc.domain.rates import RATE_DEFINITIONS

# ---- cases ----


class LetterReply(BaseModel):
    """督办回复函: the addressed unit's answer."""

    content: str
    measures: list[str]
    late: bool = Field(description="answered after the due date (or after the case was raised)")


class Letter(BaseModel):
    """督办函: a supervision letter to a unit and its reply."""

    letter_id: str
    unit: str = Field(description="the addressed unit's code")
    requirements: str
    due_at: datetime = Field(description="the reply is due by then (end of the due day, local time)")
    sent_at: datetime
    replied_at: datetime | None
    reply: LetterReply | None
    overdue: bool = Field(description="raised: unanswered past its due date")


class CaseDocument(BaseModel):
    """The document of one step of a case (文书), in order."""

    doc_id: str
    seq: int
    kind: str = Field(description="the step: opened, register, investigate, send_letter, reply, return_visit, "
                                  "order_redo, letter_overdue, supervision_copy, conclude, publish")
    state_after: str
    body: dict[str, Any] = Field(description="the step's content (e.g. the letter's requirements, the result)")
    by: str = Field(description="who recorded it (the key's name, or oversight-svc)")
    role: str
    at: datetime


class Case(BaseModel):
    """A supervision case (督办案件) as the caller may see it.

    `informant` is answered only to the inspectors, the supervision office and the business-environment office;
    `documents` and `letters` only when one case is read or changed (a unit key sees its own letters, and the
    documents addressed to it)."""

    case_id: str
    title: str
    state: str = Field(description="opened, registered, investigating, letter_sent, replied, visited, redo, concluded")
    level: str = Field(description="normal, or raised when a letter went unanswered")
    sources: list[str] = Field(description="red_ticket, escalation, hotspot, manual (accumulated)")
    red: bool
    inspector: str | None
    summary: str | None
    units: list[str] = Field(description="the units responsible (codes)")
    ticket_nos: list[str]
    supervisors: list[str] = Field(description="department kinds supervising besides the inspectors")
    supervisor_units: list[str]
    hotspot_id: str | None
    opened_at: datetime
    registered_at: datetime | None
    concluded_at: datetime | None
    result: str | None
    solved: bool | None
    allowed_actions: list[str] = Field(description="the steps the case's state allows")
    informant: str | None = Field(None, description="PII: never answered to units, never published")
    documents: list[CaseDocument] = Field(default_factory=list)
    letters: list[Letter] = Field(default_factory=list)


# ---- return visits ----


class VisitRecorded(BaseModel):
    """A return visit just recorded; `redo` tells whether it ordered the unit to do it again."""

    visit_id: str
    ticket_no: str
    round: int
    unit: str | None
    resolved: str | None = Field(description="yes, partly, no (None when unreachable)")
    satisfaction: str
    cause: str | None
    redo: bool
    visited_at: datetime


class Visit(BaseModel):
    """A return visit of a ticket (回访记录)."""

    visit_id: str
    round: int
    unit: str | None
    resolved: str | None
    satisfaction: str
    cause: str | None
    redo: bool
    notes: str | None
    visited_at: datetime


class VisitDue(BaseModel):
    """A resolved round waiting for its return visit."""

    ticket_no: str
    round: int
    unit: str | None
    outcome: str | None
    resolved_at: datetime
    visit_due: datetime | None


# ---- accountability ----


class PersonOut(BaseModel):
    """The person held accountable."""

    name: str
    post: str | None


class AccountabilityRecord(BaseModel):
    """An accountability record (问责): proposed (an unanswered letter), decided or dismissed."""

    record_id: str
    status: str = Field(description="proposed, decided, dismissed")
    unit: str
    person: PersonOut | None
    measure: str | None
    reason_category: str | None
    reason: str | None
    case_ids: list[str]
    ticket_nos: list[str]
    proposed_at: datetime | None
    decided_by: str | None
    decided_at: datetime | None


# ---- hotspots, copies, disclosures ----


class HotspotOrder(BaseModel):
    """交办工单: a hotspot handed down to the department of its kind — the department named, the ticket, its status."""

    hotspot_id: str
    department_kind: str
    unit_level: int = Field(description="1 city, 2 district, 3 street, 4 community / 承办单位层级")
    title: str
    summary: str
    ticket_no: str | None = Field(description="intake's ticket (None while it is being registered) / 工单号")
    status: str = Field(description="the ticket's status as oversight knows it; `registering` before intake's event")
    unit: str | None = Field(description="the department triage dispatched it to / 承办部门")
    unit_name: str | None = None
    handed_down_at: datetime


class Recheck(BaseModel):
    """回头看: a closed ticket sampled for a re-check visit, and its answers once made."""

    ticket_no: str
    round: int
    unit: str | None
    dispatch_day: date | None = Field(description="the period its counts go to (the round's dispatch day)")
    closed_at: datetime
    due_at: datetime
    done_at: datetime | None
    resolved: str | None
    satisfaction: str | None
    relapsed: bool | None = Field(description="the problem came back (the person says it is not, or partly, solved)")
    redo: bool | None = Field(None, description="a redo was ordered (RedoOrdered) / 发回重办")
    notes: str | None


class Hotspot(BaseModel):
    """高频共性问题: similar tickets of one kind in several places, with the case opened for it."""

    hotspot_id: str
    kind: str
    category: str | None
    title: str
    ticket_nos: list[str]
    places: list[str]
    common_terms: list[str]
    case_id: str | None = None
    order: HotspotOrder | None = Field(None, description="the work order it was handed down as / 交办工单")


class CopyTicket(BaseModel):
    """The copied ticket as oversight knows it."""

    title: str | None
    region_code: str | None
    lead_unit: str | None
    status: str | None


class TierCopy(BaseModel):
    """A copy triage sent under the tier rules (archive, joint scheduling, supervision)."""

    copy_id: str
    ticket_no: str
    round: int
    purpose: str
    tier: str
    to_kinds: list[str]
    to_units: list[str]
    reason: str | None
    issued_at: datetime
    case_id: str | None
    ticket: CopyTicket


class Disclosure(BaseModel):
    """督查回声: a published outcome, without personal data (no phone or ID numbers, e-mails or names)."""

    case_id: str
    title: str
    summary: str
    outcome: str
    units: list[str] = Field(description="the units by name")
    concluded_on: date | None
    published_at: datetime


# ---- process improvement ----


class SuggestionAnswer(BaseModel):
    """The department's answer to a suggestion."""

    decision: str = Field(description="adopted, not_adopted")
    change: str | None = Field(description="adopted: the change made / 采纳后的改进措施")
    effective_date: date | None = Field(description="adopted: when the change takes effect / 施行日期")
    reason: str | None = Field(description="not adopted: the reason / 不予采纳的理由")
    answered_at: datetime
    answered_by: str
    late: bool = Field(description="answered after the due time")


class Suggestion(BaseModel):
    """改进建议: a step or a certificate that can go, with the evidence, to a department, and its answer."""

    suggestion_id: str
    source: str = Field(description="ticket, window_visit, case")
    source_ref: str = Field(description="the ticket number, the window visit's reference, or the case id")
    target: str = Field(description="what can go: step (环节), certificate (证明材料), other")
    item: str = Field(description="the step or the certificate that can go")
    evidence: str
    department: str = Field(description="the addressed department's unit code")
    status: str = Field(description="raised, adopted, not_adopted")
    overdue: bool = Field(description="raised and unanswered past its due time, as of this read (derived)")
    raised_by: str
    raised_role: str
    raised_at: datetime
    due_at: datetime = Field(description="the answer is due by then (end of the Nth working day, local time)")
    answer: SuggestionAnswer | None
    allowed_actions: list[str] = Field(description="the actions the state allows (answer while raised)")


class SuggestionCounts(BaseModel):
    """Of the suggestions raised in the period: how many are open, overdue, answered, adopted."""

    raised: int
    open: int = Field(description="not answered yet")
    overdue: int = Field(description="not answered and past the due time, now")
    answered: int
    answered_late: int
    adopted: int
    not_adopted: int
    adoption_rate: float | None = Field(description="adopted / answered")


class DepartmentSuggestions(SuggestionCounts):
    """One department's suggestion figures."""

    department: str
    name: str | None


class SuggestionFigures(BaseModel):
    """改进建议统计: the suggestions raised in the period, in all and per department (counted as of now)."""

    totals: SuggestionCounts
    by_department: list[DepartmentSuggestions]


# ---- statistics ----

_COUNTERS: dict[str, Any] = {m: (int, Field(description=note)) for m, note in METRIC_NOTES.items()}
_RATES: dict[str, Any] = {
    "response_rate": (float | None, Field(description=RATE_DEFINITIONS["response_rate"])),
    "resolution_rate": (float | None, Field(description=RATE_DEFINITIONS["resolution_rate"])),
    "satisfaction_rate": (float | None, Field(description=RATE_DEFINITIONS["satisfaction_rate"])),
    "self_reported_resolution_rate": (float | None, Field(description="self_resolved / resolved")),
    "claimed_denied_rate": (float | None, Field(description=RATE_DEFINITIONS["claimed_resolution_rate"])),
    "closes_without_solving": (bool, Field(description="flagged: claimed_denied_rate at or over the threshold")),
}

UnitStats = create_model(  # type: ignore[call-overload]
    "UnitStats", __doc__="一个单位某期间的计数与三率 / A unit's counters and rates over the period.",
    unit=(str, ...), name=(str | None, None), region_code=(str | None, None), level=(int | None, None),
    region_name=(str | None, Field(None, description="区划名称（报告中）/ the region's name (in reports)")),
    **_COUNTERS, **_RATES)
Totals = create_model(  # type: ignore[call-overload]
    "Totals", __doc__="合计 / The counters and rates of all the units in the period.",
    **_COUNTERS, tickets_received=(int, Field(description="tickets received in the period (by place)")), **_RATES)
RegionStats = create_model(  # type: ignore[call-overload]
    "RegionStats", __doc__="一个区划的合计 / The counters and rates of a region's units.",
    region_code=(str, ...), units=(int, ...),
    region_name=(str | None, Field(None, description="区划名称（报告中）/ the region's name (in reports)")),
    **_COUNTERS, **_RATES)


class RankedUnit(BaseModel):
    """A ranked unit: its rate and the rate's denominator, named after them (e.g. `satisfaction_rate` and
    `visited`)."""

    model_config = ConfigDict(extra="allow")

    unit: str
    name: str | None


class Ranking(BaseModel):
    """Best and worst units by one rate, among those with the minimum sample in its denominator."""

    rate: str
    min_sample: int
    eligible: int
    not_ranked: int
    best: list[RankedUnit]
    worst: list[RankedUnit]


class Rankings(BaseModel):
    """The three rates' rankings."""

    response_rate: Ranking
    resolution_rate: Ranking
    satisfaction_rate: Ranking


class FlaggedUnit(BaseModel):
    """A unit that closes without solving: the people deny the results it reports as resolved."""

    unit: str
    name: str | None
    claimed_visited: int
    claimed_denied: int
    claimed_denied_rate: float | None
    self_reported_resolution_rate: float | None
    resolution_rate: float | None


class RedTrack(BaseModel):
    """Red-track figures (红灯件): investigated, solved, concluded, people held accountable, measures by kind."""

    red_tickets_investigated: int
    problems_solved: int
    cases_concluded: int
    people_held_accountable: int
    accountability_measures: dict[str, int]


class Overview(BaseModel):
    """Totals, per-region figures, rankings, units that close without solving, red-track figures, definitions."""

    model_config = ConfigDict(populate_by_name=True)

    start: date = Field(alias="from")
    end: date = Field(alias="to")
    region: str | None
    units: int = Field(description="units with figures in the period")
    totals: Totals  # type: ignore[valid-type]
    by_region: list[RegionStats]  # type: ignore[valid-type]
    rankings: Rankings
    closes_without_solving: list[FlaggedUnit]
    red_track: RedTrack
    definitions: dict[str, str]
    suggestions: SuggestionFigures | None = Field(None, description="改进建议 / process-improvement suggestions")


class OverdueRound(BaseModel):
    """A round that went overdue in the period (reports)."""

    ticket_no: str
    round: int
    unit: str | None
    unit_name: str | None = None
    region_code: str | None
    region_name: str | None = None
    title: str | None
    resolve_due: datetime
    resolved_at: datetime | None
    status: str | None


class ReportChange(BaseModel):
    """The change from the previous period of the same kind (环比): counts as differences (+12), the three rates in
    percentage points (+2.3); a rate counted in neither period has none."""

    model_config = ConfigDict(populate_by_name=True)

    start: date = Field(alias="from", description="the previous period's first day")
    end: date = Field(alias="to", description="the previous period's last day")
    totals: dict[str, int | float | None]
    by_region: dict[str, dict[str, int | float | None]] = Field(description="region code → its changes")


class ReportData(BaseModel):
    """A periodic report's data (`format=json`): the overview, the unit table, the overdue list, hotspots."""

    model_config = ConfigDict(populate_by_name=True)

    period: str
    start: date = Field(alias="from")
    end: date = Field(alias="to")
    region: str | None
    region_name: str | None = None
    generated_at: datetime
    overview: Overview
    units: list[UnitStats]  # type: ignore[valid-type]
    overdue: list[OverdueRound]
    hotspots: list[Hotspot]
    suggestions: SuggestionFigures | None = Field(None, description="改进建议 / process-improvement suggestions")
    change: ReportChange | None = Field(None, description="none for a period before the years kept")
