"""What a group of registrations may repeat: the merge keys it holds across replicas and the open tickets it reads."""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.domain.merging import OpenTicket

if TYPE_CHECKING:
    from intake_svc.adapters.registrar import Registration

# PostgreSQL advisory locks of merge keys: the two-integer key space (never meets the single-bigint locks, e.g. the
# outbox relay's), this namespace first
_MERGE_LOCK_NS = zlib.crc32(b"intake.merge") - (1 << 31)
# the first key of the array is the whole-space lock: shared by a group that locks its keys one by one, exclusive
# for a group with more keys than MERGE_LOCKS_MAX (a batch of hundreds), which then holds that one lock instead
_WHOLE = -(1 << 31)
_MERGE_LOCK = text(
    "SELECT count(CASE WHEN o = 1 AND CAST(:each AS boolean) THEN pg_advisory_xact_lock_shared(:ns, k)"
    " ELSE pg_advisory_xact_lock(:ns, k) END)"
    " FROM unnest(CAST(:keys AS integer[])) WITH ORDINALITY AS t(k, o)")
# PostgreSQL's lock table is shared (max_locks_per_transaction × max_connections entries): a batch of 500
# requests would otherwise hold 1,500 locks
MERGE_LOCKS_MAX = 64


async def merge_lock(session: AsyncSession, keys: list[str]) -> None:
    """Hold the merge keys (domain.merging.merge_keys) of a group until its transaction ends (PostgreSQL).

    The whole-space lock first, then the keys in ascending order (a row of the array each, in order), so two
    groups sharing keys never wait on each other in a cycle. A 32-bit hash of a key may collide with another
    key's: the two decisions then only wait for each other, never merge wrongly.
    """
    hashed = sorted({max(_WHOLE + 1, zlib.crc32(k.encode()) - (1 << 31)) for k in keys})
    if not hashed:
        return
    each = len(hashed) <= MERGE_LOCKS_MAX
    await session.execute(_MERGE_LOCK, {"ns": _MERGE_LOCK_NS, "each": each,
                                        "keys": [_WHOLE, *hashed] if each else [_WHOLE]})


class Candidates:
    """The open tickets a group may repeat, read in two statements for the whole group."""

    def __init__(self, per_person: int = 0) -> None:
        self.per_person = per_person  # the most recent of each phone and each ID number
        self.by_person: dict[str, list[OpenTicket]] = {}
        self.by_ticket_no: dict[str, OpenTicket] = {}
        self.fresh: list[OpenTicket] = []
        self.place_candidates: dict[int, list[str]] = {}
        # tickets of the group's places the index may not know yet (other replicas registered them), read under
        # the merge lock
        self.recent_at: dict[str, list[OpenTicket]] = {}

    def of_person(self, reg: Registration) -> list[OpenTicket]:
        """The same person's recent open tickets (phone first, then ID number), then the group's own."""
        if not (reg.phone_hash or reg.id_hash):
            return []
        mine: dict[str, OpenTicket] = {}
        for h in (reg.phone_hash, reg.id_hash):
            for t in self.by_person.get(h or "", [])[: self.per_person]:
                mine.setdefault(t.ticket_no, t)
        phone, idn = reg.phone_hash, reg.id_hash
        return [*mine.values(), *(t for t in self.fresh
                                  if (phone and t.phone_hash == phone) or (idn and t.id_hash == idn))]

    def at_place(self, reg: Registration) -> list[OpenTicket]:
        """The index's candidates of the request's place that are still open, then the group's own."""
        if reg.place is None:
            return []
        found = self.place_candidates.get(id(reg), [])
        known = [self.by_ticket_no[t] for t in found if t in self.by_ticket_no]
        seen = {t.ticket_no for t in known}
        return [*known, *(t for t in self.recent_at.get(reg.place, []) if t.ticket_no not in seen),
                *(t for t in self.fresh if t.place == reg.place)]
