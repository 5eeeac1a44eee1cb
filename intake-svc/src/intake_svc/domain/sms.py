"""What intake texts: the receipt to the person who asked, the unit's reply and the rulings that change what the
person waits for, the `reported` alert to the unit (报到短信); how a failed message is retried."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bancheng_shared import schedule
from bancheng_shared.contracts import sla, triage
from bancheng_shared.contracts.envelope import EventPayload
from intake_svc.domain.pii import mask_phone

CN = ZoneInfo("Asia/Shanghai")
REPLY_SMS_MAX = 300  # characters of a reply in a text; the whole reply is on the public tracking page
OUTCOME_LABELS = {"resolved": "已办结", "partially_resolved": "已部分解决", "unresolvable": "经核实暂无法解决"}
LOOK_UP = "详情可凭工单号和手机后四位查询。"


def receipt_text(signature: str, ticket_no: str, *, merged: bool) -> str:
    """The person's receipt: the ticket number to look it up with (or the open ticket it was merged into)."""
    what = f"您反映的问题已并入工单{ticket_no}一并办理" if merged else f"您的诉求已受理，工单号{ticket_no}"
    return f"{signature}{what}，可凭工单号和手机后四位查询进度。"


def receipt_kind(*, merged: bool) -> str:
    """The SMS outbox's kind of a receipt."""
    return "repeat_merged" if merged else "ticket_registered"


def alert_text(signature: str, ticket_no: str, unit: str, unit_name: str | None) -> str:
    """`reported`: the ticket was delivered to the unit, which must sign for it (the unit's name when known)."""
    return (f"{signature}工单{ticket_no}已交办贵单位（{unit}" + (f" {unit_name}" if unit_name else "")
            + "），请及时签收办理。")


def _cut(text: str, limit: int = REPLY_SMS_MAX) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _local_day(at: datetime) -> str:
    d = at.astimezone(CN)
    return f"{d.year}年{d.month}月{d.day}日"


def person_notice(ticket_no: str, event: EventPayload) -> tuple[str, str] | None:
    """The (kind, text without signature) an event texts to the person who asked, or None: the unit's reply, a
    direct answer, an approved return (another unit takes it over) or an approved extension (a later deadline)."""
    if isinstance(event, triage.ResolutionSubmitted):
        done = OUTCOME_LABELS.get(event.outcome, "已办结")
        return "reply", f"您的工单{ticket_no}承办单位{done}，答复：{_cut(event.reply)}。{LOOK_UP}"
    if isinstance(event, triage.TicketAnswered):
        return "answered", f"您的工单{ticket_no}已答复：{_cut(event.answer)}。{LOOK_UP}"
    if isinstance(event, triage.ReturnDecided) and event.approved:
        return "return_approved", (f"您的工单{ticket_no}经审核改由其他单位承办，办理时限重新计算，请耐心等待。"
                                   f"{LOOK_UP}")
    if isinstance(event, sla.ExtensionDecided) and event.approved:
        until = f"，办理时限延至{_local_day(event.resolve_due)}" if event.resolve_due else ""
        return "extension_approved", (f"您的工单{ticket_no}承办单位申请延期{event.days}个工作日已获批准{until}。"
                                      f"{LOOK_UP}")
    return None


def redact(text: str, phone: str | None) -> str:
    """A gateway's error as logged and shown: the recipient's number never appears in full."""
    if phone and phone in text:
        return text.replace(phone, mask_phone(phone) or "")
    return text


def initial_status(*, records_only: bool) -> str:
    """A message waits for the gateway (`pending`), or is only recorded when no gateway is configured."""
    return "recorded" if records_only else "pending"


NO_RECIPIENT = "no_recipient"
NO_RECIPIENT_REASON = "承办单位在组织目录中没有可接收短信的号码 / the unit has no SMS-capable contact in the directory"


def unit_status(initial: str, *, has_number: bool) -> tuple[str, str | None]:
    """A unit's message (status, reason): as any other when its number is known; parked as `no_recipient` when not
    (never handed to the gateway, so never retried; released when a dispatch brings the unit's number)."""
    return (initial, None) if has_number else (NO_RECIPIENT, NO_RECIPIENT_REASON)


def retry_delay_s(attempts: int, *, base_s: float, max_s: float) -> float:
    """The longest wait after the `attempts`-th failure: base · 2^(attempts-1) seconds, at most `max_s`."""
    return schedule.backoff_s(attempts, base_s, max_s)


def after_send(*, attempts: int, error: str | None, now: datetime, max_attempts: int = 5, base_s: float = 30.0,
               max_s: float = 3600.0, jitter: float = 1.0) -> dict[str, Any]:
    """A message's new state after its `attempts`-th handover to the gateway: sent; pending again after a backoff
    (with equal jitter: `jitter` in [0, 1] of the second half of the wait); failed (parked, shown in /v1/sms)
    after `max_attempts` failures."""
    if error is None:
        return {"status": "sent", "sent_at": now, "attempts": attempts, "next_attempt_at": None}
    if attempts >= max_attempts:
        return {"attempts": attempts, "last_error": error, "status": "failed", "next_attempt_at": None}
    wait = schedule.jittered_s(attempts, base_s, max_s, jitter)
    return {"attempts": attempts, "last_error": error, "status": "pending",
            "next_attempt_at": now + timedelta(seconds=wait)}
