"""The person's own lookup (no credential): the ticket number plus a proof — the last four digits of a phone
that asked (the complainant's or a repeat's) or the tracking token; wrong proof and unknown number answer the
same 404; too many failures per ticket within a window answer 429."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

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


@dataclass
class FailedLookups:
    """Failed lookups per ticket number in this process: at most `max_failures` within `window_s`, then 429."""

    max_failures: int = 10
    window_s: float = 600.0
    max_tickets: int = 100_000  # a flood of numbers is forgotten rather than kept
    _failures: dict[str, list[float]] = field(default_factory=dict)

    def check(self, ticket_no: str, now: float) -> None:
        """Refuse (429) a ticket number that failed too often lately."""
        fails = [t for t in self._failures.get(ticket_no, []) if now - t < self.window_s]
        self._failures[ticket_no] = fails
        if len(fails) >= self.max_failures:
            raise Problem(429, "too many failed lookups of this ticket number; try again later", type_="throttled")

    def failed(self, ticket_no: str, now: float) -> Problem:
        """Count a failure; the 404 to answer."""
        if len(self._failures) > self.max_tickets:
            self._failures.clear()
        self._failures.setdefault(ticket_no, []).append(now)
        return not_found()
