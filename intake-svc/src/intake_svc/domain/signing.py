"""Signed requests, both ways (pure).

In: platforms sign what they hand in with `X-Bancheng-Signature: sha256=HMAC-SHA256(secret, timestamp + "." + body)`
and `X-Bancheng-Timestamp` in unix seconds. A stale timestamp (more than `max_skew_s` off), a wrong signature, a
header that is not plain ASCII or a seen signature is refused (401 / 409), never a 500.

Out: intake signs each callback the Standard Webhooks way (https://www.standardwebhooks.com): `webhook-id` (the
event id, the same on every retry and replay), `webhook-timestamp` (unix seconds) and `webhook-signature:
v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one `v1,…` per valid secret separated by spaces (the new and the
old secret while a rotation overlaps). The HMAC key is the secret's UTF-8 bytes, or, for a `whsec_<base64>`
secret, the decoded bytes (as the Standard Webhooks libraries read it). The older `X-Bancheng-Signature` (hex over
`timestamp.body`, the current secret) is still sent for receivers written against it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime, timedelta

from bancheng_shared.errors import Problem

WHSEC = "whsec_"
MAX_TIMESTAMP_DIGITS = 12


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 hex over `timestamp.body` (the X-Bancheng-Signature scheme)."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def webhook_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks signature: a `whsec_` secret's base64 payload, else the UTF-8 bytes."""
    if secret.startswith(WHSEC):
        try:
            key = base64.b64decode(secret[len(WHSEC):] + "==")
        except (binascii.Error, ValueError):
            key = b""
        if key:
            return key
    return secret.encode()


def standard_signature(secrets: Sequence[str], msg_id: str, timestamp: str, body: bytes) -> str:
    """`webhook-signature`: `v1,<base64>` per secret, space-separated (the newest first)."""
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    return " ".join("v1," + base64.b64encode(hmac.new(webhook_key(s), signed, hashlib.sha256).digest()).decode()
                    for s in secrets)


def callback_headers(secrets: Sequence[str], *, msg_id: str, timestamp: str, body: bytes) -> dict[str, str]:
    """The signature headers of one callback: Standard Webhooks, and the older X-Bancheng ones (current secret)."""
    return {"webhook-id": msg_id, "webhook-timestamp": timestamp,
            "webhook-signature": standard_signature(secrets, msg_id, timestamp, body),
            "X-Bancheng-Timestamp": timestamp, "X-Bancheng-Signature": f"sha256={sign(secrets[0], timestamp, body)}"}


def _bad(detail: str) -> Problem:
    return Problem(401, detail, type_="bad-signature")


def verify(secret: str, body: bytes, timestamp: str | None, signature: str | None, *, now_s: float,
           max_skew_s: int) -> str:
    """Check a signed request (401 when it fails); returns the signature expected, to refuse it when seen again."""
    if not timestamp or not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > MAX_TIMESTAMP_DIGITS:
        raise _bad("X-Bancheng-Timestamp header missing or not unix seconds")
    if not signature:
        raise _bad("X-Bancheng-Signature header missing")
    if not signature.isascii():
        raise _bad("X-Bancheng-Signature header is not ASCII: send sha256=<hex>")
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
