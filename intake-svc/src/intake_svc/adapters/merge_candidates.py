"""What a group of registrations may repeat: the merge keys it holds across replicas, the open tickets it reads and
the statements that read them."""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

from sqlalchemy import ARRAY, String, bindparam, func, literal_column, or_, select, text, true, union, union_all
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
    """The open tickets a group may repeat, read for the whole group at once (candidate_reads, candidates_at_once)."""

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


CANDIDATE_COLUMNS = (tickets.c.ticket_no, tickets.c.content, tickets.c.phone_hash, tickets.c.id_hash,
                      tickets.c.place_key, tickets.c.status, tickets.c.received_at)


def candidate_reads(policy: MergePolicy) -> tuple[Any, Any]:
    """The reads of a group's candidates on SQLite: the recent open tickets of its people (phones `phones`, ID
    numbers `ids`, since `since`, the latest `n` of each) and its index candidates still open (`ticket_nos`). (One
    process writes the database: the index knows every ticket of a place, so there is no read of places.)"""
    cols, open_ = CANDIDATE_COLUMNS, tickets.c.status.not_in(policy.not_open)
    since = bindparam("since", type_=tickets.c.received_at.type)

    def among(col: Any, name: str) -> Any:
        return col.in_(bindparam(name, expanding=True))
    return (select(*cols).where(or_(among(tickets.c.phone_hash, "phones"), among(tickets.c.id_hash, "ids")),
                                open_, tickets.c.received_at >= since).order_by(tickets.c.received_at.desc()),
            select(*cols).where(among(tickets.c.ticket_no, "ticket_nos"), open_))


# what each row of candidates_at_once is: a person's, an index candidate, a place's latest
OF_PERSON, AT_PLACES, RECENT_AT_PLACES = 1, 2, 3


def candidates_at_once(policy: MergePolicy) -> Any:
    """The three reads of candidate_reads as one statement on PostgreSQL (one round trip a group), each row tagged
    with its read (`part`: OF_PERSON, AT_PLACES, RECENT_AT_PLACES), in each read's order. Parameters: `phones`,
    `ids`, `since`, `n` for the people; `ticket_nos`; `places`, `places_since`, `places_n` for the places. An
    empty list reads nothing.

    Each list is one array parameter and each of its keys is read by itself (`LATERAL`, the key's index): the
    statement is the same for any group, so it stays prepared, and no cached plan made while the table was small
    turns into a scan of it as it grows (see bancheng_shared.db.keys_found).
    """
    cols, open_ = CANDIDATE_COLUMNS, tickets.c.status.not_in(policy.not_open)

    def each(col: Any, name: str, *where: Any, limit: Any) -> Any:
        keys = func.unnest(bindparam(name, type_=ARRAY(String))).table_valued("key").render_derived()
        found = (select(*cols).where(col == keys.c.key, open_, *where)
                 .order_by(tickets.c.received_at.desc()).limit(limit).lateral())
        return select(*found.c).select_from(keys).join(found, true())

    def since(name: str) -> Any:
        return tickets.c.received_at >= bindparam(name, type_=tickets.c.received_at.type)

    person = union(each(tickets.c.phone_hash, "phones", since("since"), limit=bindparam("n")),
                   each(tickets.c.id_hash, "ids", since("since"), limit=bindparam("n"))).subquery()
    indexed = each(tickets.c.ticket_no, "ticket_nos", limit=1).subquery()
    places = each(tickets.c.place_key, "places", since("places_since"), limit=bindparam("places_n")).subquery()
    latest_places = select(places).order_by(places.c.received_at.desc()).limit(bindparam("places_n")).subquery()
    every = union_all(*(select(literal_column(str(n)).label("part"), *sub.c) for n, sub in (
        (OF_PERSON, person), (AT_PLACES, indexed), (RECENT_AT_PLACES, latest_places)))).subquery()
    return select(every).order_by(every.c.part, every.c.received_at.desc())
