"""The in-process merge index (a cache passed in at start): which stored tickets of the same place look like a
new request. MinHash signatures of the shingles (domain.similarity) and LSH over them, keyed by place.

The index only proposes candidates; domain.merging decides with the exact similarity of the two texts, so an
index that is a little stale or lossy never merges wrongly.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.adapters.tables import tickets
from intake_svc.domain.similarity import shingles

_MERSENNE = np.uint64((1 << 61) - 1)
_MAX32 = np.uint64(0xFFFFFFFF)
_SHIFT61 = np.uint64(61)
# a refresh reads again the tickets received this long before the last one (a transaction that started earlier may
# commit after it)
REFRESH_OVERLAP_S = 30.0


def _mod_mersenne(x: np.ndarray) -> np.ndarray:
    """x mod 2^61 - 1 for uint64 x, by the Mersenne identity: bit operations, 3x cheaper than numpy's %."""
    y = (x & _MERSENNE) + (x >> _SHIFT61)
    y -= _MERSENNE * (y >= _MERSENNE)
    return y


@dataclass(frozen=True)
class MinHasher:
    """MinHash over 32-bit shingle hashes with fixed seeds (signatures are stable across processes)."""

    num_perm: int = 64
    seed: int = 12345
    a: np.ndarray = field(init=False, repr=False)
    b: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        rng = np.random.RandomState(self.seed)
        object.__setattr__(self, "a", rng.randint(1, (1 << 61) - 1, size=self.num_perm, dtype=np.uint64))
        object.__setattr__(self, "b", rng.randint(0, (1 << 61) - 1, size=self.num_perm, dtype=np.uint64))

    def signature(self, sh: set[str]) -> np.ndarray:
        """The uint32 MinHash signature of a shingle set."""
        if not sh:
            return np.full(self.num_perm, 0xFFFFFFFF, dtype=np.uint32)
        hv = np.fromiter(map(zlib.crc32, map(str.encode, sh)), dtype=np.uint64, count=len(sh))
        with np.errstate(over="ignore"):
            return (_mod_mersenne(hv[:, None] * self.a + self.b) & _MAX32).min(axis=0).astype(np.uint32)

    def signatures(self, sets: list[set[str]], chunk: int = 2000) -> np.ndarray:
        """The signatures (n × num_perm, uint32) of many shingle sets; equal to `signature` row by row.

        One numpy pass per chunk of sets (a segmented minimum) instead of one per set, for bulk loads.
        """
        out = np.full((len(sets), self.num_perm), 0xFFFFFFFF, dtype=np.uint32)
        for start in range(0, len(sets), chunk):
            part = sets[start : start + chunk]
            sizes = np.fromiter((len(x) for x in part), dtype=np.int64, count=len(part))
            rows = np.flatnonzero(sizes)
            if not len(rows):
                continue
            hv = np.fromiter((zlib.crc32(g.encode()) for x in part for g in x), dtype=np.uint64,
                             count=int(sizes.sum()))
            with np.errstate(over="ignore"):
                ph = _mod_mersenne(hv[:, None] * self.a + self.b) & _MAX32
            offsets = np.concatenate(([0], np.cumsum(sizes[rows])[:-1]))
            out[start + rows] = np.minimum.reduceat(ph, offsets, axis=0).astype(np.uint32)
        return out


def place_seed(place: str) -> int:
    """A 64-bit seed of a place key (band keys are per place, so candidates are from the same place)."""
    return zlib.crc32(place.encode()) * 0x9E3779B1 + len(place)


class LshIndex:
    """Banded LSH over MinHash signatures, keyed by place: one sorted numpy array plus a dict of recent adds.

    Each band key mixes the place seed and the band number in, so a query only meets tickets of the same
    place and the keys of all bands can live in ONE sorted array: a query is two vectorised binary searches
    (all bands at once), not a Python loop over bands. Memory per item is bands × 12 bytes (about 400 bytes
    at 32 bands). A band key shared by very many tickets (common words of a busy place) says little about
    any of them; only its `band_cap` most recent tickets are counted, so a query costs the same in a busy
    place as in a quiet one, and a true repeat, which shares many bands, is still found through the rest.
    """

    def __init__(self, num_perm: int = 64, bands: int = 32, compact_every: int = 50_000, band_cap: int = 64) -> None:
        if num_perm % bands:
            raise ValueError("num_perm must be a multiple of bands")
        if bands > 32:
            raise ValueError("at most 32 bands (the band number takes the top 5 bits of a key)")
        self.bands = bands
        self.rows = num_perm // bands
        self.compact_every = compact_every
        self.band_cap = band_cap
        self._keys = np.empty(0, dtype=np.uint64)
        self._ids = np.empty(0, dtype=np.int32)
        self._recent: dict[int, int | list[int]] = {}
        self._recent_n = 0
        self.size = 0

    @property
    def nbytes(self) -> int:
        """Bytes held by the sorted arrays."""
        return int(self._keys.nbytes + self._ids.nbytes)

    def _keys_of(self, sigs: np.ndarray, seeds: np.ndarray) -> np.ndarray:
        """Band keys (n × bands) of n signatures and their place seeds."""
        rows = sigs.reshape(len(sigs), self.bands, self.rows).astype(np.uint64)
        band_no = np.arange(self.bands, dtype=np.uint64)
        with np.errstate(over="ignore"):
            keys = (seeds.astype(np.uint64)[:, None] * np.uint64(0x100000001B3)) ^ band_no[None, :]
            for r in range(self.rows):
                keys = keys * np.uint64(0x100000001B3) ^ rows[:, :, r]
        # the band number in the top 5 bits: each band owns one ordered range of the sorted array, so a bulk
        # load sorts band by band (cache-friendly) and concatenates (59 bits of hash remain)
        return (keys >> np.uint64(5)) | (band_no[None, :] << np.uint64(59))

    def band_keys(self, sigs: np.ndarray, places: list[str]) -> list[list[int]]:
        """The band keys of n signatures (rows of `sigs`) of these places, as Python ints (one pass for all)."""
        seeds = np.fromiter((place_seed(p) for p in places), dtype=np.uint64, count=len(places))
        return self._keys_of(sigs, seeds).tolist()  # type: ignore[no-any-return]

    def add(self, item_id: int, sig: np.ndarray, place: str) -> None:
        """Index one signature of a place under an integer id."""
        self.add_keys(item_id, self.band_keys(sig[None, :], [place])[0])

    def add_keys(self, item_id: int, keys: list[int]) -> None:
        """Index an item under its band keys (from `band_keys`)."""
        recent = self._recent
        for k in keys:
            got = recent.get(k)
            if got is None:
                # most band keys belong to one ticket: a bare id, not a list (32 lists per ticket kept the
                # garbage collector busy, measured 3x the cost of the adds themselves)
                recent[k] = item_id
            elif isinstance(got, int):
                recent[k] = [got, item_id]
            else:
                got.append(item_id)
        self._recent_n += 1
        self.size += 1
        if self._recent_n >= self.compact_every:
            self.compact()

    def _merge(self, keys: np.ndarray, ids: np.ndarray) -> None:
        """Merge (keys, ids) into the sorted arrays; equal keys keep ids in insertion order (recent last)."""
        order = np.argsort(keys, kind="stable")
        keys, ids = keys[order], ids[order]
        if not len(self._keys):
            self._keys, self._ids = keys, ids
            return
        # insertion after equal keys keeps the older ids first: a linear merge, no re-sort of the stored part
        at = np.searchsorted(self._keys, keys, side="right")
        self._keys = np.insert(self._keys, at, keys)
        self._ids = np.insert(self._ids, at, ids)

    def add_many(self, ids: np.ndarray, sigs: np.ndarray, seeds: np.ndarray) -> None:
        """Bulk-load signatures (rows of `sigs`) with their place seeds under ids, into the sorted array."""
        if len(ids) == 0:
            return
        by_band = self._keys_of(sigs, seeds).T.copy()
        ids32 = np.asarray(ids, dtype=np.int32)
        orders = [np.argsort(k, kind="stable") for k in by_band]
        keys = np.concatenate([k[o] for k, o in zip(by_band, orders, strict=True)])
        band_ids = np.concatenate([ids32[o] for o in orders])
        if len(self._keys):
            self._merge(keys, band_ids)
        else:
            self._keys, self._ids = keys, band_ids
        self.size += len(ids)

    def compact(self) -> None:
        """Move the recent adds into the sorted array."""
        if self._recent:
            pairs = [(k, [v] if isinstance(v, int) else v) for k, v in self._recent.items()]
            ks = np.fromiter((k for k, v in pairs for _ in v), dtype=np.uint64)
            ids = np.fromiter((i for _k, v in pairs for i in v), dtype=np.int32)
            self._merge(ks, ids)
            self._recent = {}
        self._recent_n = 0

    def query(self, sig: np.ndarray, place: str, limit: int = 10) -> list[int]:
        """Ids of the place sharing a band with the signature, most shared bands first (at most `limit`)."""
        return self.query_keys(self.band_keys(sig[None, :], [place])[0], limit)

    def query_keys(self, keys: list[int], limit: int = 10) -> list[int]:
        """Ids sharing a band key with `keys` (from `band_keys`), most shared bands first (at most `limit`)."""
        found: list[int] = []
        if len(self._keys):
            k = np.asarray(keys, dtype=np.uint64)
            lo = np.searchsorted(self._keys, k, side="left")
            hi = np.searchsorted(self._keys, k, side="right")
            # at most band_cap per band, the most recent ones (the end of each run of equal keys)
            lens = np.minimum(hi - lo, self.band_cap)
            total = int(lens.sum())
            if total:
                starts = hi - lens
                # positions start_b .. start_b + len_b - 1 of every band, without a Python loop
                pos = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(total)
                found = self._ids[pos].tolist()
        recent = self._recent
        if recent:
            cap = self.band_cap
            for key in keys:
                got = recent.get(key)
                if got is None:
                    continue
                if isinstance(got, int):
                    found.append(got)
                else:
                    found.extend(got[-cap:])
        if not found:
            return []
        # a few dozen ids at most: counting in Python beats numpy's per-call overhead here
        counts: dict[int, int] = {}
        for i in found:
            counts[i] = counts.get(i, 0) + 1
        # most shared bands first, then the most recent (higher id)
        return sorted(counts, key=lambda i: (-counts[i], -i))[:limit]


class MergeIndex:
    """LSH over the MinHash signatures of recent tickets, with the ticket numbers behind the integer ids.

    Every replica keeps its own index: built from the database at start and refreshed from it in the
    background, so tickets other replicas registered become candidates within `refresh_s`. Until then, on
    PostgreSQL, the registrar reads a place's tickets received since `unseen_since` under the merge lock.
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
        known = self.ticket_nos
        return [known[i] for i in self.lsh.query_keys(keys, limit)]

    async def refresh(self, session: AsyncSession, index_days: int, overlap_s: float = REFRESH_OVERLAP_S) -> int:
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

    def unseen_since(self, index_days: int, now: datetime) -> datetime:
        """Tickets received from this instant on may be missing here (other replicas registered them after the
        last refresh read, or during the overlap a late commit may fall in)."""
        if self.watermark is None:
            return now - timedelta(days=index_days)
        return self.watermark - timedelta(seconds=REFRESH_OVERLAP_S)

    def note_registered(self, ticket_no: str, at: datetime) -> None:
        """Remember a ticket this replica registered and indexed (so a refresh need not read it again)."""
        self._recent_nos[ticket_no] = at

    def _forget_recent(self, since: datetime) -> None:
        for no in [no for no, at in self._recent_nos.items() if at < since]:
            del self._recent_nos[no]
