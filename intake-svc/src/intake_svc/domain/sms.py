"""What intake texts: the receipt to the person who asked, and the `reported` alert to the unit (报到短信)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


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


def initial_status(*, records_only: bool) -> str:
    """A message waits for the gateway (`pending`), or is only recorded when no gateway is configured."""
    return "recorded" if records_only else "pending"


def after_send(*, attempts: int, error: str | None, now: datetime, max_attempts: int = 5) -> dict[str, Any]:
    """A message's new state after its `attempts`-th handover to the gateway: sent, or pending until it failed
    `max_attempts` times."""
    if error is None:
        return {"status": "sent", "sent_at": now, "attempts": attempts}
    return {"attempts": attempts, "last_error": error, "status": "failed" if attempts >= max_attempts else "pending"}
