"""oversight's handlers: every command it is asked and every event it consumes, in one map each.

facts: ticket facts, rounds and rollups from intake's, triage's and sla's events, the calendar years;
cases: supervision cases (opened for red tickets and escalations, by hand, for hotspots) and their steps;
visits: return visits, accountability, hotspots;
suggestions: process-improvement suggestions to departments and their answers.
hand_downs: hotspots handed down as work orders, 回头看 (re-checks of closed tickets).
"""

from __future__ import annotations

from bancheng_shared.contracts.intake import TicketReceived
from bancheng_shared.contracts.sla import (
    AlertRaised,
    CalendarYearLoaded,
    ClockResumed,
    ClockStarted,
    DeadlineChanged,
    DeemedSigned,
    EscalatedToSupervision,
    ExtensionDecided,
    ReturnVisitDue,
    UrgeIssued,
)
from bancheng_shared.contracts.triage import (
    ResolutionSubmitted,
    ReturnDecided,
    ReturnRequested,
    TicketAnswered,
    TicketClosed,
    TicketDispatched,
    TicketReopened,
    TicketSigned,
    TicketTriaged,
    TierChanged,
    TierCopyIssued,
)
from bancheng_shared.messagebus import BatchEventHandler, CommandHandler, EventHandler
from oversight_svc.domain.commands import (
    AnswerSuggestion,
    CheckLetters,
    ConcludeCase,
    DecideAccountability,
    DetectHotspots,
    HandDownHotspot,
    Investigate,
    OpenCase,
    OpenHotspotCase,
    OrderRedo,
    PublishCase,
    RaiseSuggestion,
    RecordAccountability,
    RecordRecheck,
    RecordReturnVisit,
    RegisterCase,
    ReplyLetter,
    SendLetter,
    SetAssessmentScheme,
    VisitComplainant,
)
from oversight_svc.handlers import assessment, cases, facts, hand_downs, suggestions, visits

COMMANDS: dict[type, CommandHandler] = {
    OpenCase: cases.open_case,
    RegisterCase: cases.register,
    Investigate: cases.investigate,
    SendLetter: cases.send_letter,
    ReplyLetter: cases.reply_letter,
    VisitComplainant: cases.visit_complainant,
    OrderRedo: cases.order_redo,
    ConcludeCase: cases.conclude,
    PublishCase: cases.publish,
    CheckLetters: cases.check_letters,
    RecordReturnVisit: visits.record_visit,
    RecordAccountability: visits.record_accountability,
    DecideAccountability: visits.decide_accountability,
    DetectHotspots: visits.detect_hotspots,
    OpenHotspotCase: visits.open_hotspot_case,
    RaiseSuggestion: suggestions.raise_suggestion,
    AnswerSuggestion: suggestions.answer_suggestion,
    SetAssessmentScheme: assessment.set_scheme,
    HandDownHotspot: hand_downs.hand_down_hotspot,
    RecordRecheck: hand_downs.record_recheck,
}

EVENTS: dict[type, EventHandler] = {
    TicketReceived: facts.on_ticket_received,
    TicketTriaged: facts.on_triaged,
    TicketAnswered: facts.on_answered,
    TierChanged: cases.on_tier_changed,
    TicketDispatched: facts.on_dispatched,
    TicketSigned: facts.on_signed,
    ReturnRequested: facts.on_return_requested,
    ReturnDecided: facts.on_return_decided,
    ResolutionSubmitted: facts.on_resolution,
    TicketReopened: facts.on_reopened,
    TicketClosed: facts.on_closed,
    TierCopyIssued: cases.on_tier_copy,
    ClockStarted: facts.on_clock_started,
    AlertRaised: facts.on_alert,
    DeemedSigned: facts.on_deemed_signed,
    UrgeIssued: facts.on_urged,
    EscalatedToSupervision: cases.on_escalated,
    ExtensionDecided: facts.on_extension_decided,
    DeadlineChanged: facts.on_deadline_changed,
    ClockResumed: facts.on_clock_resumed,
    ReturnVisitDue: facts.on_visit_due,
    CalendarYearLoaded: facts.on_calendar_year,
}
# intake's tickets come one new ticket after another, triage's and sla's as each ticket's triage, dispatch, tier copy,
# clock and its first alert: a consumer batch's run of them is written together
RUNS: dict[type, BatchEventHandler] = {
    TicketReceived: facts.on_tickets_received,
    TicketTriaged: facts.on_facts, TicketDispatched: facts.on_facts, TierCopyIssued: facts.on_facts,
    ClockStarted: facts.on_facts, AlertRaised: facts.on_facts,
}
