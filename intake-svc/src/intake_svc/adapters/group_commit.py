"""Group commit: requests that arrive while a transaction is being written wait for the next one and are written
together (one read of the candidates, one multi-row insert per table, one commit). A request that arrives alone
is written at once (no added wait)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """A queue of requests written a group at a time by one writer task.

    `write` writes a group in order and answers each request (an exception answers that request alone); a
    request sharing a key (`keys_of`) with one earlier in the group waits for the next group.
    """

    def __init__(self, write: Callable[[list[T]], Awaitable[list[R | Exception]]],
                 keys_of: Callable[[T], Iterable[Hashable]], max_group: int = 64) -> None:
        self.write = write
        self.keys_of = keys_of
        self.max_group = max_group
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.groups = 0
        self.registered = 0

    async def register(self, item: T) -> R:
        """Queue one request; returns its answer once its group's transaction committed."""
        fut: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, fut))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        # a caller that goes away does not cancel the others' transaction: it only stops waiting
        fut.add_done_callback(_retrieve)
        return await asyncio.shield(fut)

    def _next_group(self) -> list[tuple[T, asyncio.Future[R]]]:
        group: list[tuple[T, asyncio.Future[R]]] = []
        deferred: list[tuple[T, asyncio.Future[R]]] = []
        keys: set[Hashable] = set()
        for waiting in self._waiting[: self.max_group]:
            # a key seen earlier in the group waits for the next one, which then answers it as a replay
            mine = list(self.keys_of(waiting[0]))
            (deferred if keys.intersection(mine) else group).append(waiting)
            keys.update(mine)
        self._waiting = deferred + self._waiting[self.max_group:]
        return group

    async def _drain(self) -> None:
        while self._waiting:
            group = self._next_group()
            try:
                results = await self.write([item for item, _ in group])
                self.groups += 1
                self.registered += len(group)
            except BaseException as exc:
                # the database failed or the service is stopping: every request of the group gets the error
                for _, fut in group:
                    if not fut.done():
                        fut.set_exception(exc if isinstance(exc, Exception) else asyncio.CancelledError())
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, fut), res in zip(group, results, strict=True):
                if fut.done():
                    continue
                if isinstance(res, BaseException):
                    fut.set_exception(res)
                else:
                    fut.set_result(res)


def _retrieve(fut: asyncio.Future[Any]) -> None:
    # the error reached the caller, or the caller went away: either way it is not "never retrieved"
    if not fut.cancelled():
        fut.exception()
