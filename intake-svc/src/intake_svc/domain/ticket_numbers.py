"""The ticket number: sortable, readable on the phone, unique across replicas without asking anyone."""

from __future__ import annotations

import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

CN = ZoneInfo("Asia/Shanghai")
_B32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I L O U
RANDOM_BITS = 20


def new_ticket_no(now: datetime, rnd: int | None = None) -> str:
    """BC + Shanghai time to the millisecond + 4 characters of 20 random bits (`rnd` fixes them, for tests).

    Numbers sort in the order of receipt; two replicas in the same millisecond differ in the random part (a
    collision is refused by the primary key and retried).
    """
    local = now.astimezone(CN)
    bits = secrets.randbits(RANDOM_BITS) if rnd is None else rnd
    suffix = "".join(_B32[(bits >> s) & 31] for s in (15, 10, 5, 0))
    return f"BC{local:%Y%m%d%H%M%S}{local.microsecond // 1000:03d}{suffix}"


def looks_like_ticket_no(text: str) -> bool:
    """What a list cursor may carry: a number this service issued (BC…, at most 40 characters)."""
    return text.startswith("BC") and len(text) <= 40
