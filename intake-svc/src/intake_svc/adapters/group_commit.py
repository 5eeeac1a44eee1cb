"""Group commit: requests that arrive while a transaction is being written wait for the next one and are written
together (one read of the candidates, one multi-row insert per table, one commit). A request that arrives alone
is written after one turn of the event loop (no timer: requests already read from their sockets join it).

Several groups may be written at once (`writers`): on PostgreSQL a group spends most of its time waiting for round
trips, and a second group's decisions use that time (they are serialised where they must be by the merge locks,
as two replicas' are). SQLite has one writer at a time: one group."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """A queue of requests written a group at a time by up to `writers` writer tasks.

    `write` writes a group in order and answers each request (an exception answers that request alone); a
    request sharing a key (`keys_of`) with one earlier in the group, or with a group being written, waits for a
    later group (which then answers it as a replay).
    """

    def __init__(self, write: Callable[[list[T]], Awaitable[list[R | Exception]]],
                 keys_of: Callable[[T], Iterable[Hashable]], max_group: int = 64, writers: int = 1) -> None:
        self.write = write
        self.keys_of = keys_of
        self.max_group = max_group
        self.writers = max(1, writers)
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._busy_keys: set[Hashable] = set()  # the keys of the groups being written
        self.groups = 0
        self.registered = 0
        self._writing = 0
        self.most_at_once = 0  # the most groups written at the same time

    async def register(self, item: T) -> R:
        """Queue one request; returns its answer once its group's transaction committed."""
        fut: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, fut))
        # a finished writer leaves the set only in a later callback: count the running ones
        if sum(not t.done() for t in self._tasks) < self.writers:
            task = asyncio.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        # a caller that goes away does not cancel the others' transaction: it only stops waiting
        fut.add_done_callback(_retrieve)
        return await asyncio.shield(fut)

    def _next_group(self) -> tuple[list[tuple[T, asyncio.Future[R]]], set[Hashable]]:
        group: list[tuple[T, asyncio.Future[R]]] = []
        deferred: list[tuple[T, asyncio.Future[R]]] = []
        keys: set[Hashable] = set()
        seen = set(self._busy_keys)
        for waiting in self._waiting[: self.max_group]:
            # a key seen earlier in the group (or being written) waits for a later group, which answers it as a replay
            mine = list(self.keys_of(waiting[0]))
            if seen.intersection(mine):
                deferred.append(waiting)
            else:
                group.append(waiting)
                keys.update(mine)
            seen.update(mine)
        self._waiting = deferred + self._waiting[self.max_group:]
        return group, keys

    async def _drain(self) -> None:
        while self._waiting:
            # one turn of the loop first: requests already read from the sockets join this group instead of the
            # next (on PostgreSQL the loop otherwise takes them one at a time between round trips)
            await asyncio.sleep(0)
            group, keys = self._next_group()
            if not group:
                return  # all of them wait for keys being written: the writer of those takes them next
            self._busy_keys |= keys
            self._writing += 1
            self.most_at_once = max(self.most_at_once, self._writing)
            try:
                results = await self.write([item for item, _ in group])
                self.groups += 1
                self.registered += len(group)
            except BaseException as exc:
                self._busy_keys -= keys
                self._writing -= 1
                # the database failed or the service is stopping: every request of the group gets the error
                for _, fut in group:
                    if not fut.done():
                        fut.set_exception(exc if isinstance(exc, Exception) else asyncio.CancelledError())
                if not isinstance(exc, Exception):
                    raise
                continue
            self._busy_keys -= keys
            self._writing -= 1
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
