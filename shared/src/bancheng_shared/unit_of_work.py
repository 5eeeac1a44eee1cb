"""The unit of work: one transaction, the events it emits written to the outbox in it, the relay woken after.

A command handler opens its own: `async with uow:` begins the transaction, commits on a clean exit (rolls back on
an error) and, once committed, wakes the relay and runs what was asked with `after_commit`. An event handler gets
one already open on its consumer's batch transaction (`UnitOfWork.bound`): it neither begins nor commits, its
events are written when the handler returns (inside the event's savepoint when the batch is applied event by
event), and the consumer commits the batch.

    async with uow:
        clock = await Clocks(uow.session).get(cmd.ticket_no)
        outcome = rules.decide(clock, ...)
        await Clocks(uow.session).save(outcome.clock)
        uow.emit(outcome.event, ticket_no=cmd.ticket_no)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.contracts.envelope import EventEnvelope, EventPayload
from bancheng_shared.db import insert_statement, insert_together
from bancheng_shared.outbox import add_events, outbox_rows

if TYPE_CHECKING:
    from bancheng_shared.runtime import Runtime


class Clock(Protocol):
    """Where a service reads `now` (real time, or sla's simulated time in tests and training)."""

    def now(self) -> datetime:
        """The current time, UTC and aware."""
        ...


class SystemClock:
    """Real time."""

    def now(self) -> datetime:
        """The current time, UTC and aware."""
        return datetime.now(UTC)


class SimulatedClock:
    """Real time until a simulated time is set (frozen, or running on from it); training and test mode only."""

    simulated_time_allowed = True

    def __init__(self) -> None:
        self._sim: datetime | None = None
        self._running = False
        self._mono = 0.0

    @property
    def simulated(self) -> bool:
        """Whether a simulated time is in force."""
        return self._sim is not None

    def now(self) -> datetime:
        """The current time, UTC and aware."""
        if self._sim is None:
            return datetime.now(UTC)
        if self._running:
            return self._sim + timedelta(seconds=time.monotonic() - self._mono)
        return self._sim

    def set(self, now: datetime | None, running: bool = False) -> None:
        """Adopt a simulated time (None: back to real time)."""
        self._sim = now.astimezone(UTC) if now is not None else None
        self._running = running
        self._mono = time.monotonic()


_UNSET: Any = object()  # "the unit's cause" (None is a cause too: none)


class UnitOfWork:
    """One transaction of one service: its session, the events it emits, what runs after it commits."""

    __slots__ = ("_after", "_bound", "_events", "_pending", "cause", "correlation_id", "rt", "session")

    def __init__(self, rt: Runtime, *, correlation_id: str | None = None, cause: EventEnvelope | None = None) -> None:
        self.rt = rt
        self.cause = cause
        self.correlation_id = correlation_id
        self.session: AsyncSession = None  # type: ignore[assignment]  # set when the unit is entered
        self._pending: list[EventEnvelope] = []
        self._events: list[EventEnvelope] = []
        self._after: list[Callable[[], None]] = []
        self._bound = False

    @classmethod
    def bound(cls, rt: Runtime | None, session: AsyncSession, *, cause: EventEnvelope | None,
              after: list[Callable[[], None]]) -> UnitOfWork:
        """A unit on a transaction someone else owns (a consumer's batch): entering and leaving it commit nothing.

        Without a runtime (a bare consumer, in tests and tools) it reads and writes but cannot emit.
        """
        uow = cls(rt, cause=cause)  # type: ignore[arg-type]
        uow.session = session
        uow._after = after
        uow._bound = True
        return uow

    async def __aenter__(self) -> UnitOfWork:
        if self._bound:
            return self
        if self.session is not None:
            raise RuntimeError("a unit of work is entered once; open a new one for another transaction")
        self.session = self.rt.sm()  # the transaction begins with the first statement
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._bound:
            if exc_type is None:
                await self.flush()
            return
        try:
            if exc_type is None:
                await self.flush()
                await self.session.commit()
            else:
                await self.session.rollback()
        finally:
            await self.session.close()
        if exc_type is None:
            if self._events:  # the relay has new rows to send
                self.rt.relay.wake()
            for fn in self._after:
                fn()

    @property
    def envelope(self) -> EventEnvelope:
        """The event being handled (an event handler's unit); its `ticket_no` is the ticket it is about."""
        if self.cause is None:
            raise RuntimeError("this unit of work handles no event")
        return self.cause

    def now(self) -> datetime:
        """The service's time (simulated where sla's test clock is in force)."""
        return self.rt.clock.now()

    def emit(self, payload: EventPayload, *, ticket_no: str, cause: EventEnvelope | None = _UNSET,
             correlation_id: str | None = None, occurred_at: datetime | None = None) -> EventEnvelope:
        """Record an event of this service about a ticket; it is written to the outbox with the unit's changes.

        Producer, topic and time come from the service; the cause defaults to the unit's (the event handled),
        the correlation id follows the cause, else the unit's (the request's), else a new one.
        """
        cause = self.cause if cause is _UNSET else cause
        corr = (correlation_id or (cause.correlation_id if cause is not None else None) or self.correlation_id
                or str(uuid.uuid4()))
        env = EventEnvelope(
            event_id=uuid.uuid4(),
            type=payload.__event_type__,  # type: ignore[attr-defined]
            version=payload.__event_version__,  # type: ignore[attr-defined]
            occurred_at=occurred_at or self.rt.clock.now(),
            ticket_id=ticket_no,
            correlation_id=corr,
            causation_id=str(cause.event_id) if cause is not None else None,
            producer=self.rt.service,
            payload=payload.model_dump(mode="json"),
        )
        self._pending.append(env)
        self._events.append(env)
        return env

    @property
    def events(self) -> list[EventEnvelope]:
        """Every event this unit emitted (written or not yet)."""
        return self._events

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Run `fn` once the unit's transaction committed (e.g. wake a scheduler); never on a rollback."""
        self._after.append(fn)

    async def write_with_events(self, parts: Sequence[tuple[Any, Sequence[dict[str, Any]]]]) -> None:
        """Write these rows (prebuilt INSERTs and their rows) and the events emitted so far, in the unit's
        transaction: one statement on PostgreSQL (db.insert_together)."""
        pending, self._pending = self._pending, []
        if pending:
            parts = [*parts, (insert_statement(self.rt.plumbing.outbox), outbox_rows(pending, self.rt.topic))]
        await insert_together(self.session, parts)

    async def flush(self) -> None:
        """Write the events emitted so far to the outbox, in the current transaction (or savepoint)."""
        if self._pending:
            pending, self._pending = self._pending, []
            await add_events(self.session, self.rt.plumbing, pending, self.rt.topic)
