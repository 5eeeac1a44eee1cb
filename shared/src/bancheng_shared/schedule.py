"""Pure timing rules of effects and jobs (no I/O): the wait before a retry (exponential backoff, capped, with
equal jitter) and the period a periodic job's run belongs to."""

from __future__ import annotations

from datetime import datetime


def backoff_s(attempts: int, base: float, cap: float) -> float:
    """The ceiling of the wait before the next try after `attempts` failures: base · 2^(attempts-1), capped."""
    return float(min(cap, base * (2 ** min(max(0, attempts - 1), 62))))


def jittered_s(attempts: int, base: float, cap: float, jitter: float) -> float:
    """The wait with equal jitter: half the ceiling plus `jitter` (in [0, 1]) of the other half."""
    ceiling = backoff_s(attempts, base, cap)
    return ceiling / 2 + ceiling / 2 * min(1.0, max(0.0, jitter))


def period_of(now: datetime, every_s: float) -> datetime:
    """The start of the period of `every_s` seconds (counted from the Unix epoch) that `now` falls in."""
    every = max(1e-3, every_s)
    epoch = now.timestamp()
    return datetime.fromtimestamp(epoch - epoch % every, tz=now.tzinfo)
