"""The in-process merge index: which stored tickets of the same place look like a new request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import func, select
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
        # tickets of the refresh overlap known to be indexed, with when they were received (or seen)
        self._recent_nos: dict[str, datetime] = {}
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
        if place is not None:
            self.add_keys(ticket_no, self.lsh.band_keys(sig[None, :], [place])[0])

    def band_keys(self, sigs: list[np.ndarray], places: list[str | None]) -> list[list[int] | None]:
        """The LSH band keys of many requests at once (None where there is no place to match on)."""
        at = [i for i, p in enumerate(places) if p is not None]
        out: list[list[int] | None] = [None] * len(places)
        if at:
            keys = self.lsh.band_keys(np.stack([sigs[i] for i in at]), [places[i] or "" for i in at])
            for i, k in zip(at, keys, strict=True):
                out[i] = k
        return out

    def add_keys(self, ticket_no: str, keys: list[int] | None) -> None:
        """Index a ticket (once) under its band keys (None: no place, not indexed)."""
        if keys is None or ticket_no in self._ids:
            return
        self._ids[ticket_no] = len(self.ticket_nos)
        self.ticket_nos.append(ticket_no)
        self.lsh.add_keys(self._ids[ticket_no], keys)

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
        return self.candidates_by_keys(self.lsh.band_keys(sig[None, :], [place])[0], limit)

    def candidates_by_keys(self, keys: list[int] | None, limit: int) -> list[str]:
        """Like `candidates`, from band keys already computed (None: no place, no candidates)."""
        if keys is None:
            return []
        nos = self.ticket_nos
        return [nos[i] for i in self.lsh.query_keys(keys, limit)]

    async def refresh(self, session: AsyncSession, index_days: int, overlap_s: float = 30.0) -> int:
        """Load tickets received since the last refresh (with an overlap for late commits); returns how many.

        The overlap is read again on every refresh. A count of it comes first: when every ticket in it is
        indexed already (this replica registered them, or an earlier refresh loaded them), nothing more is
        read; otherwise the numbers come next and the signatures only of tickets not indexed yet.
        """
        now = datetime.now(UTC)
        since = now - timedelta(days=index_days) if self.watermark is None else self.watermark - timedelta(
            seconds=overlap_s)
        indexed = (tickets.c.received_at >= since, tickets.c.place_key.is_not(None), tickets.c.minhash.is_not(None))
        before = len(self.ticket_nos)
        if self.watermark is None:
            rows = (await session.execute(
                select(tickets.c.ticket_no, tickets.c.minhash, tickets.c.place_key).where(*indexed))).all()
            self.add_bulk([(r.ticket_no, r.minhash, r.place_key) for r in rows])
        else:
            self._forget_recent(since)
            stored = int((await session.execute(select(func.count()).select_from(tickets).where(*indexed)))
                         .scalar_one())
            if stored != len(self._recent_nos):
                seen = {r.ticket_no: r.received_at for r in (await session.execute(
                    select(tickets.c.ticket_no, tickets.c.received_at).where(*indexed))).all()}
                new = [no for no in seen if no not in self._ids]
                for start in range(0, len(new), 500):
                    rows = (await session.execute(
                        select(tickets.c.ticket_no, tickets.c.minhash, tickets.c.place_key)
                        .where(tickets.c.ticket_no.in_(new[start : start + 500])))).all()
                    self.add_bulk([(r.ticket_no, r.minhash, r.place_key) for r in rows])
                # the overlap as it is indexed now (a row committed meanwhile makes the next count differ)
                self._recent_nos = seen
        self.watermark = now
        return len(self.ticket_nos) - before

    def note_registered(self, ticket_no: str, at: datetime) -> None:
        """Remember a ticket this replica registered and indexed (so a refresh need not read it again)."""
        self._recent_nos[ticket_no] = at

    def _forget_recent(self, since: datetime) -> None:
        for no in [no for no, at in self._recent_nos.items() if at < since]:
            del self._recent_nos[no]
