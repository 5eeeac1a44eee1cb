"""并单: which open ticket a new request repeats.

A request repeats an open ticket when it is the same person (the keyed hash of the phone or the ID number)
about the same problem within `window_days`, or the same matter at the same place (the region code, else the
address) from anyone. "The same" means a similarity of at least `threshold` (domain.similarity). The same
person is asked first; the best score wins, the earliest candidate on a tie. Different people at different
places are different tickets, however alike their words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from intake_svc.domain.similarity import similarity


@dataclass(frozen=True)
class MergePolicy:
    """The numbers of the merge rule (settings: INTAKE_MERGE_*, INTAKE_CLOSED_STATUSES)."""

    enabled: bool = True
    threshold: float = 0.45
    window_days: int = 30
    closed_statuses: frozenset[str] = field(default_factory=lambda: frozenset({"closed", "answered", "transferred"}))

    def window_start(self, now: datetime) -> datetime:
        """The earliest receipt of the same person's ticket that a request may still repeat."""
        return now - timedelta(days=self.window_days)

    def is_open(self, status: str) -> bool:
        """A ticket takes repeats until it is closed, answered or transferred."""
        return status not in self.closed_statuses


class Asking(Protocol):
    """A new request as the rule reads it."""

    shingles: set[str]
    phone_hash: str | None
    id_hash: str | None
    place: str | None


@dataclass(slots=True)
class OpenTicket:
    """A ticket a request may repeat: stored, or created earlier in the same group."""

    ticket_no: str
    shingles: set[str]
    phone_hash: str | None
    id_hash: str | None
    place: str | None
    status: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Match:
    """The open ticket a request repeats."""

    ticket_no: str
    similarity: float
    same_person: bool


def place_key(region_code: str | None, address: str | None) -> str | None:
    """Where a matter is, for matching different people: the region code, else the normalised address."""
    if region_code:
        return f"r:{region_code}"
    if address:
        return "a:" + "".join(address.split()).lower()
    return None


def same_person(req: Asking, ticket: OpenTicket) -> bool:
    """The same phone or the same ID number (compared by their keyed hashes)."""
    return bool((req.phone_hash and ticket.phone_hash == req.phone_hash)
                or (req.id_hash and ticket.id_hash == req.id_hash))


def _best(req: Asking, tickets: Iterable[OpenTicket], threshold: float, person: bool) -> Match | None:
    best: Match | None = None
    for t in tickets:
        score = similarity(req.shingles, t.shingles)
        if score >= threshold and (best is None or score > best.similarity):
            best = Match(t.ticket_no, score, person or same_person(req, t))
    return best


def find_repeat(req: Asking, *, persons: Iterable[OpenTicket], places: Iterable[OpenTicket], now: datetime,
                policy: MergePolicy) -> Match | None:
    """The open ticket this request repeats, or None: a new ticket.

    `persons` are candidates that may be the same person's, `places` candidates that may be of the same place
    (the store narrows them; the rule decides).
    """
    if not policy.enabled:
        return None
    if req.phone_hash or req.id_hash:
        since = policy.window_start(now)
        mine = (t for t in persons
                if same_person(req, t) and policy.is_open(t.status) and t.received_at >= since)
        found = _best(req, mine, policy.threshold, person=True)
        if found is not None:
            return found
    if req.place is None:
        return None
    here = (t for t in places if t.place == req.place and policy.is_open(t.status))
    return _best(req, here, policy.threshold, person=False)
