"""Signed requests, both ways: `X-Bancheng-Signature: sha256=HMAC-SHA256(secret, timestamp + "." + body)` with
`X-Bancheng-Timestamp` in unix seconds. Platforms sign what they hand in; intake signs its callbacks. A stale
timestamp (more than `max_skew_s` off), a wrong signature or a seen one is refused."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from bancheng_shared.errors import Problem


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 hex over `timestamp.body`."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _bad(detail: str) -> Problem:
    return Problem(401, detail, type_="bad-signature")


def verify(secret: str, body: bytes, timestamp: str | None, signature: str | None, *, now_s: float,
           max_skew_s: int) -> str:
    """Check a signed request (401 when it fails); returns the signature expected, to refuse it when seen again."""
    if not timestamp or not timestamp.isdigit():
        raise _bad("X-Bancheng-Timestamp header missing or not unix seconds")
    if not signature:
        raise _bad("X-Bancheng-Signature header missing")
    skew = abs(now_s - int(timestamp))
    if skew > max_skew_s:
        raise Problem(401, f"timestamp is {int(skew)} s off; at most {max_skew_s} s allowed", type_="stale-timestamp")
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(signature.removeprefix("sha256=").strip().lower(), expected):
        raise _bad("signature does not match the body and timestamp")
    return expected


def replayed() -> Problem:
    """409: the same signature came again."""
    return Problem(409, "this signature was already used (replay refused); sign again with a new timestamp",
                   type_="replayed-signature")


def forget_before(now: datetime, max_skew_s: int) -> datetime:
    """Seen signatures older than this can never be accepted again (their timestamps are stale): forget them."""
    return now - timedelta(seconds=2 * max_skew_s)
