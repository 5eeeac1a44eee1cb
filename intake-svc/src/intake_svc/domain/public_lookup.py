"""The person's own lookup (no credential): the ticket number plus a proof — the last four digits of a phone
that asked (the complainant's or a repeat's) or the tracking token; wrong proof and unknown number answer the
same 404; how often a proof may be tried is domain.throttle."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

from bancheng_shared.errors import Problem


def token_hash(token: str) -> str:
    """How a tracking token is stored (only its hash)."""
    return hashlib.sha256(token.encode()).hexdigest()


def phone_proves(phones: Iterable[str | None], last4: str) -> bool:
    """The last four digits match a phone that asked about this ticket (compared in constant time)."""
    return any(p and secrets.compare_digest(p[-4:], last4) for p in phones)


def not_found() -> Problem:
    """One answer for "no such ticket" and "wrong proof": the lookup must not confirm that a number exists."""
    return Problem(404, "no ticket matches this number and proof (last four phone digits or tracking token)",
                   type_="unknown-ticket")


def reply_of(detail: Any) -> str | None:
    """The reply a step carries (the unit's reply, a direct answer), or None."""
    reply = detail.get("reply") if isinstance(detail, dict) else None
    return reply if isinstance(reply, str) else None


def public_view(row: Any, steps: Sequence[Any]) -> dict[str, Any]:
    """What the person sees: status, public steps (each with its reply) and the latest reply; nobody's data."""
    shown = [{"at": s.at, "label": s.label, "reply": reply_of(s.detail)} for s in steps]
    replies = [s["reply"] for s in shown if s["reply"]]
    return {"ticket_no": row.ticket_no, "status": row.status, "status_label": row.status_label,
            "received_at": row.received_at, "reply": replies[-1] if replies else None, "steps": shown}
