"""The in-process merge index: which stored tickets of the same place look like a new request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.similarity import LshIndex, MinHasher, place_seed, shingles
from intake_svc.store import tickets


def place_key(region_code: str | None, address: str | None) -> str | None:
    """Where a matter is, for matching different people: the region code, else the normalised address."""
    if region_code:
        return f"r:{region_code}"
    if address:
        return "a:" + "".join(address.split()).lower()
    return None


class MergeIndex:
    """LSH over the MinHash signatures of recent tickets, with the ticket numbers behind the integer ids.

    Every replica keeps its own index: built from the database at start and refreshed from it in the
    background, so tickets other replicas registered become candidates within `refresh_s`.
    """

    def __init__(self, num_perm: int = 64, bands: int = 32, shingle_cache_size: int = 100_000) -> None:
        self.hasher = MinHasher(num_perm)
        self.lsh = LshIndex(num_perm, bands)
        self.ticket_nos: list[str] = []
        self._ids: dict[str, int] = {}
        self.watermark: datetime | None = None
        # shingle sets of stored contents (a ticket's content never changes): the exact check of a candidate
        # that comes up again costs a dict lookup instead of normalising and shingling its text anew
        self._shingles: dict[str, set[str]] = {}
        self.shingle_cache_size = shingle_cache_size

    def shingles_of(self, ticket_no: str, content: str) -> set[str]:
        """The shingles of a stored ticket's content (cached, bounded)."""
        sh = self._shingles.get(ticket_no)
        if sh is None:
            if len(self._shingles) >= self.shingle_cache_size:
                # drop the oldest entry (dicts keep insertion order): a FIFO bound is enough here
                del self._shingles[next(iter(self._shingles))]
            sh = self._shingles[ticket_no] = shingles(content)
        return sh

    def signature(self, text: str) -> tuple[set[str], np.ndarray]:
        """The shingles and MinHash signature of a text."""
        sh = shingles(text)
        return sh, self.hasher.signature(sh)

    def add(self, ticket_no: str, sig: np.ndarray, place: str | None) -> None:
        """Index a ticket (once) under its place."""
        if place is None or ticket_no in self._ids:
            return
        self._ids[ticket_no] = len(self.ticket_nos)
        self.ticket_nos.append(ticket_no)
        self.lsh.add(self._ids[ticket_no], sig, place)

    def add_bulk(self, rows: list[tuple[str, bytes, str]]) -> None:
        """Index many (ticket_no, signature bytes, place) at once."""
        fresh = [r for r in rows if r[0] not in self._ids]
        if not fresh:
            return
        if len(fresh) < 1000:
            # a refresh's few rows go to the recent adds: merging them into the big array would copy it
            for ticket_no, sig, place in fresh:
                self.add(ticket_no, np.frombuffer(sig, dtype=np.uint32), place)
            return
        start = len(self.ticket_nos)
        for n, (ticket_no, _sig, _place) in enumerate(fresh):
            self._ids[ticket_no] = start + n
            self.ticket_nos.append(ticket_no)
        sigs = np.frombuffer(b"".join(r[1] for r in fresh), dtype=np.uint32).reshape(len(fresh), -1)
        seeds = np.fromiter((place_seed(r[2]) for r in fresh), dtype=np.uint64, count=len(fresh))
        self.lsh.add_many(np.arange(start, start + len(fresh)), sigs, seeds)

    def candidates(self, sig: np.ndarray, place: str | None, limit: int) -> list[str]:
        """Ticket numbers of the same place most likely to be the same matter."""
        if place is None:
            return []
        return [self.ticket_nos[i] for i in self.lsh.query(sig, place, limit)]

    async def refresh(self, session: AsyncSession, index_days: int) -> int:
        """Load tickets received since the last refresh (with an overlap for late commits); returns how many."""
        now = datetime.now(UTC)
        since = now - timedelta(days=index_days) if self.watermark is None else self.watermark - timedelta(seconds=30)
        rows = (
            await session.execute(
                select(tickets.c.ticket_no, tickets.c.minhash, tickets.c.place_key)
                .where(tickets.c.received_at >= since, tickets.c.place_key.is_not(None),
                       tickets.c.minhash.is_not(None))
            )
        ).all()
        self.watermark = now
        before = len(self.ticket_nos)
        self.add_bulk([(r.ticket_no, r.minhash, r.place_key) for r in rows])
        return len(self.ticket_nos) - before
