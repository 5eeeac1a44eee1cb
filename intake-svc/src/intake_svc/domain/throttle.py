"""How often a proof of "this is my ticket" may be tried (the last four phone digits or the tracking token, in the
public lookup and in follow-ups): a guesser is stopped, the person who asked is not locked out.

Two counters, kept in the database (shared by replicas, surviving restarts):
- per source (the client's address): at most `source_max_failures` failed proofs per `window_s`; then the source
  is refused (429) for a block that doubles each time it is blocked again (up to `backoff_max_s`);
- per ticket (from every source): once `ticket_slow_after` proofs of the ticket failed within `ticket_window_s`,
  every source gets one try at a time on it (a failure blocks that source at once), and after
  `ticket_max_failures` the last four digits are not tried any more in that window (the token still is).
A correct proof from a source that is not itself blocked always gets in.

A try is counted as a failure BEFORE it is checked (`reserve`, committed first), and given back when the proof
holds (`release`): concurrent guesses cannot all slip through between the check and the count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bancheng_shared.errors import Problem

SOURCE = "source"
TICKET = "ticket"


@dataclass(frozen=True)
class ThrottlePolicy:
    """The numbers (settings `public_lookup_*`)."""

    source_max_failures: int = 10
    window_s: float = 600.0
    backoff_max_s: float = 86_400.0
    ticket_slow_after: int = 10
    ticket_max_failures: int = 100
    ticket_window_s: float = 86_400.0


@dataclass(frozen=True)
class Counter:
    """Failed proofs of one subject (a source or a ticket) in its current window, and its block."""

    failures: int = 0  # failures, and tries being checked right now
    window_start: datetime | None = None
    blocked_until: datetime | None = None
    strikes: int = 0  # blocks in a row: each doubles the next


@dataclass(frozen=True)
class Verdict:
    """A try let through or refused: the counters to store either way, and what to give back when the proof holds."""

    source: Counter
    ticket: Counter | None
    refused: Problem | None = None
    source_held: int = 0
    ticket_held: int = 0


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


def throttled(retry_after_s: int, what: str) -> Problem:
    """429, with the seconds to wait (the Retry-After header)."""
    return Problem(429, f"too many failed attempts {what}; try again in {retry_after_s} s", type_="throttled",
                   retry_after=retry_after_s)


def _rolled(c: Counter, now: datetime, window_s: float, backoff_max_s: float) -> Counter:
    """The counter as of `now`: a window that ended starts again (a block's strikes are forgotten a day later)."""
    if c.blocked_until is not None and now < c.blocked_until:
        return c
    if c.window_start is not None and (now - c.window_start).total_seconds() < window_s:
        return c
    strikes = c.strikes
    if c.blocked_until is None or (now - c.blocked_until).total_seconds() > backoff_max_s:
        strikes = 0
    return Counter(0, now, c.blocked_until, strikes)


def reserve(source: Counter, ticket: Counter | None, *, now: datetime, policy: ThrottlePolicy,
            by_last4: bool) -> Verdict:
    """Let one try through, counting it as a failure already, or refuse it (`refused`: 429 with `retry_after`).

    Refused: a blocked source; a source at its limit (blocked from now on, for a window doubled per earlier block);
    the last four digits of a ticket that failed `ticket_max_failures` times in its window. `ticket` is None when the
    try names no ticket (a tracking token alone); a subject never counted before is `Counter()`.
    """
    p = policy
    src = _rolled(source, now, p.window_s, p.backoff_max_s)
    if src.blocked_until is not None and now < src.blocked_until:
        return Verdict(src, None, throttled(_seconds(src.blocked_until - now), "from this address"))
    if src.failures >= p.source_max_failures:
        until = now + timedelta(seconds=min(p.window_s * 2 ** src.strikes, p.backoff_max_s))
        return Verdict(Counter(0, until, until, src.strikes + 1), None,
                       throttled(_seconds(until - now), "from this address"))
    if ticket is None:
        return Verdict(replace(src, failures=src.failures + 1), None, source_held=1)
    tck = _rolled(ticket, now, p.ticket_window_s, p.ticket_window_s)
    if by_last4 and tck.failures >= p.ticket_max_failures:
        assert tck.window_start is not None
        ends = tck.window_start + timedelta(seconds=p.ticket_window_s)
        return Verdict(src, tck, throttled(_seconds(ends - now), "for this ticket number; the tracking token "
                                           "still opens it"))
    # a ticket many sources failed on: each source gets one try at a time (its failure blocks it at its next)
    held = p.source_max_failures - src.failures if tck.failures >= p.ticket_slow_after else 1
    return Verdict(replace(src, failures=src.failures + held), replace(tck, failures=tck.failures + 1),
                   source_held=held, ticket_held=1)


def release(c: Counter, held: int) -> Counter:
    """The proof held: give back what the try held (never below zero)."""
    return replace(c, failures=max(0, c.failures - held))
