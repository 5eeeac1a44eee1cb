"""并单: which open ticket a new request repeats.

A request repeats an open ticket when it is the same person (the keyed hash of the phone or the ID number)
about the same problem within `window_days` (the shorter text's shingles contained in the other's at least
`person_threshold`: a repeat is often a shorter rewording), or the same matter at the same exact place from
anyone (the normalised address down to the building, else a coordinate cell of about `cell_m` metres; never a
region code alone, a street holds thousands of unrelated matters) with a similarity of at least `threshold`.
The same person is asked first; the best score wins, the earliest candidate on a tie. Different people at
different places are different tickets, however alike their words.

An uncertain pair does not merge: the same person's containment between `person_possible_threshold` and
`person_threshold`, or the same exact place's similarity between `possible_threshold` and `threshold` with no
matter of the vocabulary against it, is a possible repeat (疑似重复) that an operator confirms or rejects.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from intake_svc.domain.similarity import containment, similarity


@dataclass(frozen=True)
class MergePolicy:
    """The numbers of the merge rule (settings: INTAKE_MERGE_*, INTAKE_CLOSED_STATUSES)."""

    enabled: bool = True
    threshold: float = 0.45
    person_threshold: float = 0.33
    window_days: int = 30
    closed_statuses: frozenset[str] = field(default_factory=lambda: frozenset({"closed", "answered", "transferred"}))
    # uncertain pairs: suggested to an operator, never merged (chosen on the corpus's "tune" pool)
    possible_threshold: float = 0.30
    person_possible_threshold: float = 0.20
    possible_max: int = 3

    def window_start(self, now: datetime) -> datetime:
        """The earliest receipt of the same person's ticket that a request may still repeat."""
        return now - timedelta(days=self.window_days)

    def is_open(self, status: str) -> bool:
        """A ticket takes repeats until it is closed, answered, transferred or merged into another."""
        return status not in self.closed_statuses and status != MERGED

    @property
    def not_open(self) -> list[str]:
        """The statuses of tickets that take no repeats (the store filters candidates on them)."""
        return sorted(self.closed_statuses | {MERGED})


class Asking(Protocol):
    """A new request as the rule reads it."""

    shingles: set[str]
    matters: frozenset[str]
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
    matters: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Match:
    """The open ticket a request repeats."""

    ticket_no: str
    similarity: float
    same_person: bool


# the status of a ticket an operator merged into another (并单): it is worked as a repeat of that ticket only
MERGED = "merged"

_CN_DIGITS = {c: str(i) for i, c in enumerate("零一二三四五六七八九")}
# room, unit and floor are below the building: neighbours in one building raise one matter together
_BELOW_BUILDING = re.compile(r"(\d+单元|\d+层|\d+楼(?!栋)|\d+室|\d+户|\d+号房)+$")
_PUNCT = re.compile(r"[^0-9a-z\u4e00-\u9fff]")
# a building spelt 幢 / 号楼 / 座 / 栋 is the same building
_BUILDING = re.compile(r"(\d+)(?:号楼|幢|座|栋)")
# about 50 m of latitude; a point cell, so two reports of one site a few metres apart meet
CELL_DEG = 0.0005


def _digits(text: str) -> str:
    """Chinese numerals up to 99 written as digits (三栋 → 3栋, 十二号 → 12号)."""
    def one(m: re.Match[str]) -> str:
        t = m.group(0)
        if "十" not in t:
            return "".join(_CN_DIGITS[c] for c in t)
        tens, _, units = t.partition("十")
        return str(int(_CN_DIGITS.get(tens, "1")) * 10 + int(_CN_DIGITS.get(units, "0") if units else 0))
    return re.sub(r"[零一二三四五六七八九十]+(?=[号栋幢座单元层楼室弄巷])", one, text)


def normalize_address(address: str) -> str:
    """An address down to its building: NFKC, no spaces or punctuation, digits, one spelling of 栋, no room."""
    t = _PUNCT.sub("", unicodedata.normalize("NFKC", address).lower())
    t = _BUILDING.sub(r"\1栋", _digits(t))
    return _BELOW_BUILDING.sub("", t)


def place_key(region_code: str | None, address: str | None, longitude: float | None = None,
              latitude: float | None = None) -> str | None:
    """Where a matter is exactly, for matching different people: the building address, else a small cell.

    A region code alone is no place (a street holds thousands of matters); it only scopes an address.
    """
    if address and (norm := normalize_address(address)):
        return f"a:{region_code or ''}:{norm}"
    if longitude is not None and latitude is not None:
        return f"g:{round(longitude / CELL_DEG)}:{round(latitude / CELL_DEG)}"
    return None


def merge_keys(req: Asking) -> list[str]:
    """What a request may be merged by: its person (phone, ID number) and its exact place. Two requests that may
    repeat each other share one of these keys, so serialising the decisions per key serialises every pair that
    could merge (and no other)."""
    keys = [f"p:{req.phone_hash}" if req.phone_hash else "", f"i:{req.id_hash}" if req.id_hash else "",
            f"a:{req.place}" if req.place else ""]
    return [k for k in keys if k]


def same_person(req: Asking, ticket: OpenTicket) -> bool:
    """The same phone or the same ID number (compared by their keyed hashes)."""
    return bool((req.phone_hash and ticket.phone_hash == req.phone_hash)
                or (req.id_hash and ticket.id_hash == req.id_hash))


def person_score(req: Asking, ticket: OpenTicket) -> float:
    """How surely the same person's request restates this ticket: containment, 0 when they name other matters.

    A short rewording keeps little of the long text but names the matter; two texts that name matters and no
    common one are different problems of the same person (the roof leaks, and the lift is broken).
    """
    if req.matters and ticket.matters and not (req.matters & ticket.matters):
        return 0.0
    return containment(req.shingles, ticket.shingles)


def place_score(req: Asking, ticket: OpenTicket) -> float:
    """How alike a stranger's request at the same place reads, 0 when both name matters and none in common."""
    if req.matters and ticket.matters and not (req.matters & ticket.matters):
        return 0.0
    return similarity(req.shingles, ticket.shingles)


def _best(req: Asking, tickets: Iterable[OpenTicket], threshold: float, person: bool) -> Match | None:
    best: Match | None = None
    for t in tickets:
        # the same person's shorter rewording: how much of the shorter text the other holds
        score = person_score(req, t) if person else similarity(req.shingles, t.shingles)
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
        found = _best(req, mine, policy.person_threshold, person=True)
        if found is not None:
            return found
    if req.place is None:
        return None
    here = (t for t in places if t.place == req.place and policy.is_open(t.status))
    return _best(req, here, policy.threshold, person=False)


def find_possible(req: Asking, *, persons: Iterable[OpenTicket], places: Iterable[OpenTicket], now: datetime,
                  policy: MergePolicy) -> list[Match]:
    """The open tickets this request may repeat but not surely (ask when `find_repeat` found none): best first,
    at most `possible_max`, each ticket once (the same person's score wins over the place's)."""
    if not policy.enabled:
        return []
    found: dict[str, Match] = {}
    if req.phone_hash or req.id_hash:
        since = policy.window_start(now)
        for t in persons:
            if same_person(req, t) and policy.is_open(t.status) and t.received_at >= since:
                score = person_score(req, t)
                if policy.person_possible_threshold <= score < policy.person_threshold:
                    found.setdefault(t.ticket_no, Match(t.ticket_no, score, True))
    if req.place is not None:
        for t in places:
            if t.place == req.place and policy.is_open(t.status) and t.ticket_no not in found:
                score = place_score(req, t)
                if policy.possible_threshold <= score < policy.threshold:
                    found[t.ticket_no] = Match(t.ticket_no, score, same_person(req, t))
    ranked = sorted(found.values(), key=lambda m: (not m.same_person, -m.similarity))
    return ranked[: policy.possible_max]
