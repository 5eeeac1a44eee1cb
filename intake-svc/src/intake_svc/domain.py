"""intake rules: ticket numbers, status words, and how each event shows on the timeline (pure)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from bancheng_shared.contracts import EventEnvelope

CN = ZoneInfo("Asia/Shanghai")
_B32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I L O U

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
}
CHANNEL_LABELS = {
    "hotline": "12345热线", "mailbox": "县长信箱", "window": "办不成事反映窗口", "web": "网站", "app": "移动端",
    "platform": "上级平台交办",
}
ALERT_LABELS = {"reported": "已报到", "warning": "预警", "urgent": "紧急", "alarm": "警报"}
TIER_LABELS = {"green": "绿灯", "yellow": "黄灯", "red": "红灯"}
CATEGORY_LABELS = {"consult": "咨询", "complaint": "投诉", "report": "举报", "suggestion": "建议", "help": "求助",
                   "praise": "表扬"}


def new_ticket_no(now: datetime) -> str:
    """A sortable, human-readable number unique across replicas: BC + local time to the ms + 4 random chars."""
    local = now.astimezone(CN)
    rnd = secrets.randbits(20)
    suffix = "".join(_B32[(rnd >> s) & 31] for s in (15, 10, 5, 0))
    return f"BC{local:%Y%m%d%H%M%S}{local.microsecond // 1000:03d}{suffix}"


def token_hash(token: str) -> str:
    """How a tracking token is stored (only its hash)."""
    return hashlib.sha256(token.encode()).hexdigest()


def request_hash(body: dict[str, Any]) -> str:
    """Fingerprint of a request body: same body → same hash (idempotent replays)."""
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True)
class TimelineStep:
    """How one event changes the read model and what the timeline shows."""

    label: str
    public: bool
    status: str | None = None
    changes: dict[str, Any] | None = None


def step_for(env: EventEnvelope) -> TimelineStep | None:
    """The timeline step of an event, or None when it does not show."""
    p = env.payload
    match env.type:
        case "TicketTriaged":
            return TimelineStep(
                f"已分类：{CATEGORY_LABELS.get(p['category'], p['category'])}，"
                f"{TIER_LABELS.get(p['tier'], p['tier'])}，{p['response_level']} 级响应", False, "triaged",
                {"tier": p["tier"], "category": p["category"]},
            )
        case "TicketDispatched":
            return TimelineStep(
                f"已交办至 {p['lead_unit_name']}", True, "dispatched",
                {"unit": p["lead_unit"], "unit_name": p["lead_unit_name"], "tier": p["tier"]},
            )
        case "ClockStarted":
            due = p.get("resolve_due")
            return TimelineStep(
                f"办理时限：{p['working_days']} 个工作日" + (f"，截止 {due}" if due else "（日历未覆盖，待定）"),
                True, None, {"deadline": due},
            )
        case "AlertRaised":
            return TimelineStep(f"预警：{ALERT_LABELS.get(p['level'], p['level'])}", False, None,
                                {"alert_level": p["level"]})
        case "TicketSigned":
            return TimelineStep("承办单位已签收" + ("（逾期视为签收）" if p.get("deemed") else ""), True, "signed")
        case "DeemedSigned":
            return TimelineStep("逾期视为签收", False, None)
        case "ReturnRequested":
            return TimelineStep("承办单位申请退回", False, "return_requested")
        case "ReturnDecided":
            return TimelineStep("退回申请" + ("已批准，重新交办" if p["approved"] else "被驳回"), False, None)
        case "ResolutionSubmitted":
            return TimelineStep("承办单位已办结，等待回访", True, "resolved")
        case "TicketAnswered":
            return TimelineStep("已直接答复", True, "answered")
        case "TicketTransferred":
            return TimelineStep("已按程序转办", True, "transferred")
        case "TicketReopened":
            return TimelineStep("发回重办", True, "reopened")
        case "TicketClosed":
            return TimelineStep("已办结归档", True, "closed")
        case "ReturnVisitRecorded":
            return TimelineStep("已回访", True, None)
        case "CaseOpened":
            return TimelineStep("纳入督办", False, None)
        case "UrgeIssued":
            return TimelineStep("已催办", False, None)
        case "EscalatedToSupervision":
            return TimelineStep("已转督办", False, None)
        case "ProgressReported":
            return TimelineStep("承办单位报告了办理进展", True, None)
        case "TierChanged":
            return TimelineStep(f"调整为{TIER_LABELS.get(p['new_tier'], p['new_tier'])}：{p['reason']}", False, None,
                                {"tier": p["new_tier"]})
        case "ClockFlagged":
            return TimelineStep("办理时限待定（工作日历未覆盖）", False, None)
        case "CaseConcluded":
            return TimelineStep("督办已办结", False, None)
        case "RedoOrdered":
            return TimelineStep("回访不满意，要求重新办理", True, None)
    return None
