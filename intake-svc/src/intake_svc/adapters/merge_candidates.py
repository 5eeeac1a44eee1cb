"""What a group of registrations may repeat: the merge keys it holds across replicas, the open tickets it reads and
the statements that read them."""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

from sqlalchemy import ARRAY, String, bindparam, func, or_, select, text, true, union
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.adapters.tables import tickets
from intake_svc.domain.merging import MergePolicy, OpenTicket

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


_CANDIDATE_COLUMNS = (tickets.c.ticket_no, tickets.c.content, tickets.c.phone_hash, tickets.c.id_hash,
                      tickets.c.place_key, tickets.c.status, tickets.c.received_at)


def candidate_reads(policy: MergePolicy, *, postgres: bool) -> tuple[Any, Any, Any]:
    """The three reads of a group's candidates: the recent open tickets of its people (phones `phones`, ID numbers
    `ids`, since `since`, the latest `n` of each), its index candidates still open (`ticket_nos`), and the latest `n`
    open tickets of its places (`places`, since `since`).

    On PostgreSQL each list is one array parameter and each of its keys is read by itself (`LATERAL`, the key's
    index): the statements are the same for any group, so they stay prepared, and no cached plan made while the
    table was small turns into a scan of it as it grows (see bancheng_shared.db.keys_found).
    """
    cols, open_ = _CANDIDATE_COLUMNS, tickets.c.status.not_in(policy.not_open)
    since = bindparam("since", type_=tickets.c.received_at.type)
    latest = tickets.c.received_at.desc()
    if not postgres:
        def among(col: Any, name: str) -> Any:
            return col.in_(bindparam(name, expanding=True))
        return (select(*cols).where(or_(among(tickets.c.phone_hash, "phones"), among(tickets.c.id_hash, "ids")),
                                    open_, tickets.c.received_at >= since).order_by(latest),
                select(*cols).where(among(tickets.c.ticket_no, "ticket_nos"), open_),
                select(*cols).where(among(tickets.c.place_key, "places"), open_, tickets.c.received_at >= since)
                .order_by(latest).limit(bindparam("n")))

    def each(col: Any, name: str, *where: Any, limit: Any) -> Any:
        keys = func.unnest(bindparam(name, type_=ARRAY(String))).table_valued("key").render_derived()
        found = select(*cols).where(col == keys.c.key, open_, *where).order_by(latest).limit(limit).lateral()
        return select(*found.c).select_from(keys).join(found, true())

    n: Any = bindparam("n")
    person = union(each(tickets.c.phone_hash, "phones", tickets.c.received_at >= since, limit=n),
                   each(tickets.c.id_hash, "ids", tickets.c.received_at >= since, limit=n)).subquery()
    places = each(tickets.c.place_key, "places", tickets.c.received_at >= since, limit=n).subquery()
    return (select(person).order_by(person.c.received_at.desc()),
            each(tickets.c.ticket_no, "ticket_nos", limit=1),
            select(places).order_by(places.c.received_at.desc()).limit(n))
