"""The person's own lookup (no credential): the ticket number plus a proof — the last four digits of a phone
that asked (the complainant's or a repeat's) or the tracking token; wrong proof and unknown number answer the
same 404; how often a proof may be tried is domain.throttle."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

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
