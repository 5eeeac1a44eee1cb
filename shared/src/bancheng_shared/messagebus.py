"""A service's one map of handlers: every command (an API action, a job) and every event it consumes.

Each service's `handlers.py` ends with two maps, as cosmicpython's does:

    COMMANDS = {RequestExtension: request_extension, ...}   # command type -> handler(cmd, uow, ctx)
    EVENTS = {TicketDispatched: on_dispatched, ...}        # payload contract -> handler(event, uow, ctx)

and `main.py` builds `MessageBus(rt, ctx, commands=COMMANDS, events=EVENTS)`. A route turns a request into a
command and calls `bus.handle(cmd)`; the bus gives the handler a new unit of work (the handler enters it with
`async with uow:`). A consumer hands each envelope to `bus.on_envelope`: the payload is parsed into its typed
contract (fields a newer producer added are ignored, so a rolling upgrade does not dead-letter them) and the
handler gets a unit of work bound to the batch's transaction, the envelope as `uow.cause`.

`ctx` is the service's own context object (settings, policy, calendar, caches), built once at start.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import structlog

from bancheng_shared.contracts.envelope import EventEnvelope, EventPayload, parse_payload

if TYPE_CHECKING:
    from bancheng_shared.consumer import Handler, IdempotentConsumer
    from bancheng_shared.runtime import Runtime
    from bancheng_shared.unit_of_work import UnitOfWork

Ctx = TypeVar("Ctx")


@dataclass(frozen=True, kw_only=True)
class Command:
    """Something a caller asks a service to do; subclasses add the fields (and `actor` where a caller asks)."""

    correlation_id: str | None = None


CommandHandler = Callable[[Any, "UnitOfWork", Any], Awaitable[Any]]
EventHandler = Callable[[Any, "UnitOfWork", Any], Awaitable[None]]
BatchEventHandler = Callable[[list[EventEnvelope], "UnitOfWork", Any], Awaitable[None]]


class MessageBus(Generic[Ctx]):
    """Runs a service's commands and consumed events through its handler maps."""

    def __init__(self, rt: Runtime, ctx: Ctx, *, commands: Mapping[type[Command], CommandHandler],
                 events: Mapping[type[EventPayload], EventHandler]) -> None:
        self.rt = rt
        self.ctx = ctx
        self.commands = dict(commands)
        self.events = dict(events)
        self._by_type: dict[str, type[EventPayload]] = {
            model.__event_type__: model for model in self.events}  # type: ignore[attr-defined]

    async def handle(self, cmd: Command) -> Any:
        """Run a command's handler in a new unit of work; returns what the handler answers."""
        handler = self.commands.get(type(cmd))
        if handler is None:
            raise LookupError(f"no handler for command {type(cmd).__name__}")
        return await handler(cmd, self.rt.unit_of_work(cmd.correlation_id), self.ctx)

    async def on_envelope(self, uow: UnitOfWork, env: EventEnvelope) -> None:
        """Parse a consumed envelope into its contract and run the event's handler."""
        model = self._by_type[env.type]
        await self.events[model](parse_payload(env, model), uow, self.ctx)

    def consume(self, name: str, topics: list[str], batch: BatchEventHandler | None = None,
                runs: Mapping[type[EventPayload], BatchEventHandler] | None = None) -> IdempotentConsumer:
        """Register a consumer group over topics for the events in the map.

        `batch`, when given, applies a batch's new events at once (a faster path over the same events; the map's
        per-event handlers remain the path when a batch must be applied event by event). `runs` is the common
        case of it: consecutive events of a type given there are applied together by its handler, every other
        event by its own (see in_runs).
        """
        table: dict[str, Handler] = {t: self.on_envelope for t in self._by_type}
        ctx = self.ctx
        by_type = {model.__event_type__: fn for model, fn in (runs or {}).items()}  # type: ignore[attr-defined]

        async def batch_handler(uow: UnitOfWork, envs: list[EventEnvelope]) -> None:
            if batch is not None:
                await batch(envs, uow, ctx)
            else:
                await self.in_runs(envs, uow, by_type)

        return self.rt.add_consumer(name, topics, table,
                                    batch_handler if batch is not None or runs else None)

    async def in_runs(self, envs: list[EventEnvelope], uow: UnitOfWork,
                      runs: Mapping[str, BatchEventHandler]) -> None:
        """A consumer batch in order: each run of consecutive events whose types `runs` gives the same handler
        through it at once, every other event through its handler in the map (bound to the batch's transaction,
        the event as the cause of what it emits). What a run emits is written to the outbox before the next event
        is handled, so a ticket's events keep their order."""
        from bancheng_shared.unit_of_work import UnitOfWork

        run: list[EventEnvelope] = []
        for env in [*envs, None]:
            if env is not None and env.type in runs and (not run or runs[run[0].type] is runs[env.type]):
                run.append(env)
                continue
            if run:
                await runs[run[0].type](run, uow, self.ctx)
                await uow.flush()
                run = [env] if env is not None and env.type in runs else []  # a run of another handler
                if run:
                    continue
            if env is None:
                break
            after: list[Callable[[], None]] = []
            with structlog.contextvars.bound_contextvars(ticket_id=env.ticket_id, correlation_id=env.correlation_id):
                async with UnitOfWork.bound(uow.rt, uow.session, cause=env, after=after) as one:
                    await self.on_envelope(one, env)
            for fn in after:
                uow.after_commit(fn)
