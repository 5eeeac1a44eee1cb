"""The ticket timeline that a person or an operator reads: how each event about a ticket shows, in Chinese,
and how it moves the ticket's status, unit, tier, deadline and alert level."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bancheng_shared.contracts import oversight, sla, triage
from bancheng_shared.contracts.envelope import EventEnvelope, EventPayload
from bancheng_shared.contracts.intake import (
    FollowUpAdded,
    RepeatReceived,
    RepeatUnmerged,
    TicketMerged,
    TicketReceived,
)
from bancheng_shared.contracts.limits import NAME_MAX, REASON_MAX
from intake_svc.domain.sms import person_notice

# a step's label: a fixed text around at most one published value (a unit's name, a reason), so this fits them all;
# a longer value (a producer past the limits) is cut rather than failing the consumer's batch
LABEL_MAX = max(NAME_MAX, REASON_MAX) + 100

STATUS_LABELS = {
    "received": "已受理",
    "triaged": "已分类",
    "dispatched": "已交办",
    "transferred": "已转办",
    "answered": "已答复",
    "signed": "办理中",
    "return_requested": "申请退回",
    "resolved": "已办结",
    "reopened": "重新办理",
    "closed": "已办结归档",
    "merged": "已并单",
}
CHANNEL_LABELS = {
    "hotline": "12345热线", "mailbox": "县长信箱", "window": "办不成事反映窗口", "web": "网站", "app": "移动端",
    "platform": "上级平台交办", "hotspot": "高频共性问题交办",
}
ALERT_LABELS = {"reported": "已报到", "warning": "预警", "urgent": "紧急", "alarm": "警报"}
TIER_LABELS = {"green": "绿灯", "yellow": "黄灯", "red": "红灯"}
CATEGORY_LABELS = {"consult": "咨询", "complaint": "投诉", "report": "举报", "suggestion": "建议", "help": "求助",
                   "praise": "表扬"}

# Every event intake follows (the timeline, callbacks to subscribers, the SMS of the alert ladder): the contracts
# of the four topics about a ticket. Not `CalendarYearLoaded`: sla publishes it keyed `calendar-<year>`, it is about
# the working-day calendar, not a ticket (no step, no callback, no SMS). Nor oversight's `SuggestionRaised` /
# `SuggestionAnswered`: keyed by the suggestion id, they are about a department's procedure, not a ticket.
# Not `HotspotHandedDown` either: keyed by the hotspot, it asks intake for a new ticket (handlers.hand_down), whose
# own TicketReceived starts its timeline.
FOLLOWED: tuple[type[EventPayload], ...] = (
    # intake.tickets: intake writes their steps when it registers them; subscribers still get them
    TicketReceived, RepeatReceived, FollowUpAdded, TicketMerged, RepeatUnmerged,
    # triage.work-orders
    triage.TicketTriaged, triage.TicketDispatched, triage.TicketTransferred, triage.TicketAnswered,
    triage.TicketSigned, triage.ReturnRequested, triage.ReturnDecided, triage.ProgressReported,
    triage.ResolutionSubmitted, triage.TicketReopened, triage.TicketClosed, triage.TierChanged,
    triage.TierCopyIssued,
    # sla.clocks
    sla.ClockStarted, sla.AlertRaised, sla.DeemedSigned, sla.UrgeIssued, sla.EscalatedToSupervision,
    sla.ClockFlagged, sla.DeadlineChanged, sla.ClockStopped, sla.ReturnVisitDue, sla.ClockPaused,
    sla.ClockResumed, sla.ExtensionRequested, sla.ExtensionDecided,
    # oversight.cases
    oversight.CaseOpened, oversight.CaseStepRecorded, oversight.CaseRaised, oversight.CaseConcluded,
    oversight.ReturnVisitRecorded, oversight.RedoOrdered, oversight.AccountabilityDecided,
)
FOLLOWED_TYPES = frozenset(m.__event_type__ for m in FOLLOWED)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class TimelineStep:
    """How one event shows on the timeline and what it changes on the ticket."""

    label: str
    public: bool
    status: str | None = None
    changes: dict[str, Any] | None = None
    detail: dict[str, Any] | None = None  # e.g. {"reply": …}: the unit's reply, shown on the public page


def received_label(channel: str) -> str:
    """The first step of every ticket."""
    return f"已受理（{CHANNEL_LABELS.get(channel, channel)}）"


def repeat_label(same_person: bool, count: int) -> str:
    """The step of a repeat merged into the ticket."""
    who = "同一诉求人" if same_person else "其他群众"
    return f"收到重复诉求（{who}，第 {count} 次，已并单）"


FOLLOW_UP_LABEL = "诉求人补充了材料"


def possible_repeat_label(candidate_no: str, similarity: float, same_person: bool) -> str:
    """The staff step of a possible repeat (疑似重复), not merged: an operator decides."""
    who = "同一诉求人" if same_person else "同一地点"
    return f"疑似重复：可能与工单 {candidate_no} 为同一诉求（{who}，相似度 {similarity:.2f}），待话务员确认"


def _by(who: str, reason: str) -> str:
    return f"（操作人：{who}；原因：{reason}）"


def merged_away_label(into: str, who: str, reason: str) -> str:
    """The step on a ticket an operator merged into another."""
    return f"已并入工单 {into}，作为重复诉求办理{_by(who, reason)}"[:LABEL_MAX]


def merged_public_label(into: str) -> str:
    """The step the person sees on a ticket merged into another."""
    return f"已与工单 {into} 合并办理（并单）"


def merged_in_label(source: str, seq: int, who: str, reason: str) -> str:
    """The step on the ticket another was merged into."""
    return f"工单 {source} 并入本工单（第 {seq} 次重复诉求，人工并单）{_by(who, reason)}"[:LABEL_MAX]


def unmerged_label(seq: int, new_ticket_no: str, who: str, reason: str) -> str:
    """The step on the ticket a merged request was taken out of."""
    return f"撤销并单：第 {seq} 次重复诉求另立工单 {new_ticket_no}{_by(who, reason)}"[:LABEL_MAX]


def split_label(from_ticket_no: str, who: str, reason: str) -> str:
    """The step on the ticket an unmerged request became."""
    return f"由工单 {from_ticket_no} 撤销并单后单独立案{_by(who, reason)}"[:LABEL_MAX]


def rejected_label(candidate_no: str, who: str, reason: str) -> str:
    """The step on a ticket whose possible repeat an operator rejected."""
    return f"经核实与工单 {candidate_no} 不是同一诉求{_by(who, reason)}"[:LABEL_MAX]


def _json_time(at: datetime) -> str:
    # as the event carries the time on the wire (pydantic's JSON: UTC written `Z`)
    text = at.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _triaged(e: triage.TicketTriaged) -> TimelineStep:
    return TimelineStep(f"已分类：{CATEGORY_LABELS.get(e.category, e.category)}，"
                        f"{TIER_LABELS.get(e.tier, e.tier)}，{e.response_level} 级响应", False, "triaged",
                        {"tier": e.tier.value, "category": e.category.value})


def _dispatched(e: triage.TicketDispatched) -> TimelineStep:
    return TimelineStep(f"已交办至 {e.lead_unit_name}", True, "dispatched",
                        {"unit": e.lead_unit, "unit_name": e.lead_unit_name, "tier": e.tier.value})


def _clock_started(e: sla.ClockStarted) -> TimelineStep:
    due = e.resolve_due
    until = f"，截止 {_json_time(due)}" if due else "（日历未覆盖，待定）"
    return TimelineStep(f"办理时限：{e.working_days} 个工作日{until}", True, None, {"deadline": due})


def _alert(e: sla.AlertRaised) -> TimelineStep:
    return TimelineStep(f"预警：{ALERT_LABELS.get(e.level, e.level)}", False, None, {"alert_level": e.level.value})


def _signed(e: triage.TicketSigned) -> TimelineStep:
    if e.via == "transfer":  # the 信访 / 政法 organ acknowledged the transfer: the ticket stays transferred
        return TimelineStep("接收机关已签收转办事项", True, None)
    return TimelineStep("承办单位已签收" + ("（逾期视为签收）" if e.deemed else ""), True, "signed")


def _flagged(e: sla.ClockFlagged) -> TimelineStep:
    if e.years_missing:
        return TimelineStep("办理时限待定（工作日历未覆盖）", False, None)
    return TimelineStep(f"办理时限待定：{e.reason}", False, None)  # e.g. no receiving organ for a transfer


def _return_decided(e: triage.ReturnDecided) -> TimelineStep:
    # approved: another unit takes the matter over, which the person waits for; rejected: nothing changes for them
    if e.approved:
        return TimelineStep("原承办单位退回申请已批准，重新交办", True, None)
    return TimelineStep("退回申请被驳回", False, None)


def _resolved(e: triage.ResolutionSubmitted) -> TimelineStep:
    return TimelineStep("承办单位已办结，等待回访", True, "resolved", None,
                        {"reply": e.reply, "outcome": e.outcome.value})


def _answered(e: triage.TicketAnswered) -> TimelineStep:
    return TimelineStep("已直接答复", True, "answered", None, {"reply": e.answer})


def _extension_decided(e: sla.ExtensionDecided) -> TimelineStep:
    if not e.approved:
        return TimelineStep("延期申请未获批准", False, None)
    until = f"，截止 {_json_time(e.resolve_due)}" if e.resolve_due else ""
    return TimelineStep(f"延期已批准：办理时限延长 {e.days} 个工作日{until}", True, None,
                        {"deadline": e.resolve_due} if e.resolve_due else None)


def _tier_changed(e: triage.TierChanged) -> TimelineStep:
    return TimelineStep(f"调整为{TIER_LABELS.get(e.new_tier, e.new_tier)}：{e.reason}", False, None,
                        {"tier": e.new_tier.value})


def _fixed(label: str, public: bool, status: str | None = None) -> Callable[[Any], TimelineStep]:
    step = TimelineStep(label, public, status)
    return lambda _e: step


# The events that show on the timeline; the others (intake's own, bookkeeping such as TierCopyIssued) do not.
STEPS: dict[type[EventPayload], Callable[[Any], TimelineStep]] = {
    triage.TicketTriaged: _triaged,
    triage.TicketDispatched: _dispatched,
    sla.ClockStarted: _clock_started,
    sla.AlertRaised: _alert,
    triage.TicketSigned: _signed,
    sla.DeemedSigned: _fixed("逾期视为签收", False),
    triage.ReturnRequested: _fixed("承办单位申请退回", False, "return_requested"),
    triage.ReturnDecided: _return_decided,
    triage.ResolutionSubmitted: _resolved,
    triage.TicketAnswered: _answered,
    sla.ExtensionDecided: _extension_decided,
    triage.TicketTransferred: _fixed("已按程序转办", True, "transferred"),
    triage.TicketReopened: _fixed("发回重办", True, "reopened"),
    triage.TicketClosed: _fixed("已办结归档", True, "closed"),
    oversight.ReturnVisitRecorded: _fixed("已回访", True),
    oversight.CaseOpened: _fixed("纳入督办", False),
    sla.UrgeIssued: _fixed("已催办", False),
    sla.EscalatedToSupervision: _fixed("已转督办", False),
    triage.ProgressReported: _fixed("承办单位报告了办理进展", True),
    triage.TierChanged: _tier_changed,
    sla.ClockFlagged: _flagged,
    oversight.CaseConcluded: _fixed("督办已办结", False),
    oversight.RedoOrdered: _fixed("回访不满意，要求重新办理", True),
}


def step_for(event: EventPayload) -> TimelineStep | None:
    """The timeline step of an event, or None when it does not show."""
    fn = STEPS.get(type(event))
    return fn(event) if fn is not None else None


@dataclass(frozen=True, slots=True)
class AlertNotice:
    """A `reported` alert to text to the unit; `unit_name` as the ticket has it at this event (None: as stored)."""

    ticket_no: str
    event_id: str
    unit: str
    unit_name: str | None


@dataclass(frozen=True, slots=True)
class PersonNotice:
    """A text to the person who asked (domain.sms.person_notice): the reply, or a ruling that changes their wait."""

    ticket_no: str
    event_id: str
    kind: str
    text: str  # without the signature


@dataclass
class Projection:
    """What a run of events does to the read model, with the effect of applying them one by one."""

    steps: list[dict[str, Any]] = field(default_factory=list)  # timeline lines, in order
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)  # ticket_no -> its columns' final values
    alerts: list[AlertNotice] = field(default_factory=list)
    notices: list[PersonNotice] = field(default_factory=list)
    # (ticket_no, unit_code) -> the unit's SMS number as the last dispatch to it carried it (None: it has none)
    contacts: dict[tuple[str, str], str | None] = field(default_factory=dict)


def project(events: Iterable[tuple[EventEnvelope, EventPayload]]) -> Projection:
    """The timeline lines, ticket changes, `reported` alerts, texts to the person and the units' SMS numbers of events
    about tickets, in their order."""
    out = Projection()
    for env, event in events:
        ticket_no = env.ticket_no
        fn = STEPS.get(type(event))
        if fn is not None:
            step = fn(event)
            out.steps.append({"ticket_no": ticket_no, "at": env.occurred_at, "event_type": env.type,
                              "label": step.label[:LABEL_MAX], "public": 1 if step.public else 0,
                              "detail": step.detail})
            values = out.changes.setdefault(ticket_no, {})
            if step.changes:
                values.update(step.changes)
                if isinstance(values.get("unit_name"), str):
                    values["unit_name"] = values["unit_name"][:NAME_MAX]
            if step.status:
                values["status"] = step.status
                values["status_label"] = STATUS_LABELS.get(step.status, step.status)
        if isinstance(event, triage.TicketDispatched):
            for unit in (event.lead_unit, *event.co_units):
                out.contacts[(ticket_no, unit)] = event.unit_contacts.get(unit)
        if isinstance(event, sla.AlertRaised) and event.level == "reported":
            # the unit's name as it stands at this event: set earlier in the run, or as stored before it
            name = out.changes.get(ticket_no, {}).get("unit_name")
            out.alerts.append(AlertNotice(ticket_no, str(env.event_id), event.unit, name))
        notice = person_notice(ticket_no, event)
        if notice is not None:
            out.notices.append(PersonNotice(ticket_no, str(env.event_id), *notice))
    return out
