"""What callers (inspectors, the supervision office, the work team) and oversight's own jobs ask it to do."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from bancheng_shared.contracts.vocab import AccountabilityMeasure, ResolvedAnswer, Satisfaction
from bancheng_shared.messagebus import Command
from bancheng_shared.principal import Principal


@dataclass(frozen=True, kw_only=True)
class OpenCase(Command):
    """Open a supervision case by hand."""

    actor: Principal
    title: str
    summary: str | None = None
    ticket_nos: list[str] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    red: bool = False
    informant: str | None = None
    inspector: str | None = None


@dataclass(frozen=True, kw_only=True)
class CaseCommand(Command):
    """A step of a case's track, asked by a caller."""

    actor: Principal
    case_id: str


@dataclass(frozen=True, kw_only=True)
class RegisterCase(CaseCommand):
    """登记备案, naming the inspector in charge."""

    inspector: str | None = None
    notes: str | None = None


@dataclass(frozen=True, kw_only=True)
class Investigate(CaseCommand):
    """调查核实: notes and findings."""

    notes: str
    findings: str | None = None


@dataclass(frozen=True, kw_only=True)
class SendLetter(CaseCommand):
    """督办函 to a unit, due by a date or N working days."""

    unit: str
    requirements: str
    due_date: date | None = None
    working_days: int | None = None


@dataclass(frozen=True, kw_only=True)
class ReplyLetter(CaseCommand):
    """督办回复函 of the addressed unit."""

    letter_id: str
    content: str
    measures: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class VisitComplainant(CaseCommand):
    """The inspectors' return visit: is the rectification sufficient?"""

    resolved: ResolvedAnswer
    satisfaction: Satisfaction
    rectification: str
    method: str = "phone"
    notes: str | None = None


@dataclass(frozen=True, kw_only=True)
class OrderRedo(CaseCommand):
    """Rectification insufficient: the case's tickets go back to their units."""

    reason: str


@dataclass(frozen=True, kw_only=True)
class ConcludeCase(CaseCommand):
    """Conclude with the result feedback sheet."""

    result: str
    solved: bool
    findings: str | None = None


@dataclass(frozen=True, kw_only=True)
class PublishCase(CaseCommand):
    """Publish a concluded case (督查回声)."""

    title: str
    summary: str
    outcome: str | None = None


@dataclass(frozen=True, kw_only=True)
class RecordReturnVisit(Command):
    """The return visit of a ticket's result."""

    actor: Principal
    ticket_no: str
    resolved: ResolvedAnswer | None = None
    satisfaction: Satisfaction
    cause: str | None = None
    notes: str | None = None
    case_id: str | None = None
    visited_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class RecordAccountability(Command):
    """A measure decided for a person of a unit."""

    actor: Principal
    unit: str
    person_name: str
    person_post: str
    measure: AccountabilityMeasure
    reason_category: str
    reason: str | None = None
    case_ids: list[str] = field(default_factory=list)
    ticket_nos: list[str] = field(default_factory=list)
    decided_by: str | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class DecideAccountability(Command):
    """Decide (or dismiss) a proposed accountability record."""

    actor: Principal
    record_id: str
    person: tuple[str, str] | None = None  # (name, post)
    measure: AccountabilityMeasure | None = None
    reason_category: str | None = None
    reason: str | None = None
    decided_by: str | None = None
    dismiss: bool = False


@dataclass(frozen=True, kw_only=True)
class DetectHotspots(Command):
    """Mine hotspots in a window (kept, so that a case can be opened for one)."""

    start: date | None = None
    end: date | None = None
    min_places: int | None = None
    kind: str | None = None


@dataclass(frozen=True, kw_only=True)
class OpenHotspotCase(Command):
    """Open a supervision case for a hotspot."""

    actor: Principal
    hotspot_id: str
    title: str | None = None
    summary: str | None = None
    units: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class CheckLetters(Command):
    """Raise the cases whose letters are unanswered past their due date (a job; `now` for tests). As the periodic
    job: `period` is the period `claimed_by` (this replica) holds, marked done in the same transaction."""

    now: datetime | None = None
    period: str | None = None
    claimed_by: str | None = None


@dataclass(frozen=True, kw_only=True)
class RaiseSuggestion(Command):
    """A step or a certificate that can go, with the evidence, to a department (改进建议)."""

    actor: Principal
    source: str
    source_ref: str
    target: str
    item: str
    evidence: str
    department: str


@dataclass(frozen=True, kw_only=True)
class AnswerSuggestion(Command):
    """The addressed department's answer: adopted with the change, or not adopted with the reason."""

    actor: Principal
    suggestion_id: str
    decision: str
    change: str | None = None
    effective_date: date | None = None
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class SetAssessmentScheme(Command):
    """A new version of a year's assessment scheme: the measures' weights, deductions, minimum sample, and why."""

    actor: Principal
    year: int
    weights: dict[str, float]
    deductions: dict[str, float]
    min_sample: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class HandDownHotspot(Command):
    """Hand a hotspot down as a work order to the department of its kind (at `level`, default the setting's)."""

    actor: Principal
    hotspot_id: str
    level: int | None = None


@dataclass(frozen=True, kw_only=True)
class RecordRecheck(Command):
    """The re-check visit (回头看) of a closed ticket: did the problem stay solved, is the person satisfied."""

    actor: Principal
    ticket_no: str
    resolved: ResolvedAnswer | None = None
    satisfaction: Satisfaction
    cause: str | None = None
    notes: str | None = None
    visited_at: datetime | None = None
