"""The proof counters in the database (table proof_attempts): read under a row lock, decided by domain.throttle,
written back in the same transaction, so that concurrent tries on every replica are counted one after another."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.db import insert_for, update_statement
from bancheng_shared.runtime import Runtime
from intake_svc.adapters.tables import proof_attempts
from intake_svc.domain import throttle
from intake_svc.domain.throttle import Counter, ThrottlePolicy

_T = proof_attempts
_LOCK = (select(_T).where(tuple_(_T.c.kind, _T.c.subject).in_(bindparam("subjects", expanding=True)))
         .order_by(_T.c.kind, _T.c.subject).with_for_update())
_WRITE = update_statement(_T, ["failures", "window_start", "blocked_until", "strikes", "updated_at"],
                          ["kind", "subject"])
PURGE_EVERY = 1000  # tries between two sweeps of counters nobody touched for a long time


@dataclass(frozen=True)
class Held:
    """A try let through: what to give back if the proof holds."""

    source: str
    ticket_no: str | None
    source_held: int
    ticket_held: int


def _counter(row: Any) -> Counter:
    return Counter(row.failures, row.window_start, row.blocked_until, row.strikes)


def _row(kind: str, subject: str, c: Counter, now: datetime) -> dict[str, Any]:
    return {"k_kind": kind, "k_subject": subject, "failures": c.failures, "window_start": c.window_start or now,
            "blocked_until": c.blocked_until, "strikes": c.strikes, "updated_at": now}


class ProofThrottle:
    """Counts tries of a ticket proof per source and per ticket (see domain.throttle)."""

    def __init__(self, rt: Runtime, policy: ThrottlePolicy) -> None:
        self.rt = rt
        self.policy = policy
        self._tries = 0

    async def _locked(self, session: AsyncSession, subjects: list[tuple[str, str]],
                      now: datetime) -> dict[tuple[str, str], Counter]:
        # the rows exist first (a concurrent first try inserts nothing twice), then they are locked in one order
        await session.execute(insert_for(session, _T).on_conflict_do_nothing(index_elements=["kind", "subject"]),
                              [{"kind": k, "subject": s, "failures": 0, "window_start": now, "strikes": 0,
                                "updated_at": now} for k, s in subjects])
        rows = (await session.execute(_LOCK, {"subjects": subjects})).all()
        return {(r.kind, r.subject): _counter(r) for r in rows}

    async def reserve(self, *, source: str, ticket_no: str | None, by_last4: bool) -> Held:
        """Count one try as a failure before its proof is checked (committed), or refuse it (Problem 429)."""
        subjects = [(throttle.SOURCE, source), *([(throttle.TICKET, ticket_no)] if ticket_no else [])]
        async with self.rt.unit_of_work() as uow:
            now = uow.now()
            found = await self._locked(uow.session, subjects, now)
            src = found.get(subjects[0], Counter())
            tck = found.get(subjects[1], Counter()) if ticket_no else None
            verdict = throttle.reserve(src, tck, now=now, policy=self.policy, by_last4=by_last4)
            rows = [_row(throttle.SOURCE, source, verdict.source, now)]
            if ticket_no and verdict.ticket is not None:
                rows.append(_row(throttle.TICKET, ticket_no, verdict.ticket, now))
            await uow.session.execute(_WRITE, rows)
            self._tries += 1
            if self._tries % PURGE_EVERY == 0:
                await self.purge(uow.session, now)
        if verdict.refused is not None:
            raise verdict.refused
        return Held(source, ticket_no, verdict.source_held, verdict.ticket_held)

    async def release(self, session: AsyncSession, held: Held, now: datetime) -> None:
        """The proof held: give back what the try held (in the caller's transaction)."""
        subjects = [(throttle.SOURCE, held.source), *([(throttle.TICKET, held.ticket_no)] if held.ticket_no else [])]
        found = await self._locked(session, subjects, now)
        rows = []
        for (kind, subject), amount in zip(subjects, (held.source_held, held.ticket_held), strict=False):
            if amount and (kind, subject) in found:
                rows.append(_row(kind, subject, throttle.release(found[(kind, subject)], amount), now))
        if rows:
            await session.execute(_WRITE, rows)

    async def release_now(self, held: Held) -> None:
        """`release` in a transaction of its own."""
        async with self.rt.unit_of_work() as uow:
            await self.release(uow.session, held, uow.now())

    async def purge(self, session: AsyncSession, now: datetime) -> None:
        """Forget counters untouched for longer than any window or block lasts."""
        p = self.policy
        keep_s = max(p.window_s, p.ticket_window_s) + p.backoff_max_s
        await session.execute(delete(_T).where(_T.c.updated_at < now - timedelta(seconds=keep_s)))
