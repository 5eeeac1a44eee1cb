"""A lean HTTP/1.1 load generator for the benchmarks: keep-alive connections, prebuilt requests.

The benchmark's clients share the two cores with the services they measure. httpx costs about a millisecond
of CPU per request here, as much as the request it measures; this client sends prebuilt bytes and parses the
answer with httptools (uvicorn's C parser), some tens of microseconds per request, so the figures are the
services' and not the load generator's.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit

import httptools
import orjson


@dataclass
class Answer:
    """One response: status and body."""

    status: int
    body: bytes


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request in flight at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[Answer] | None = None
        self.body: list[bytes] = []
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionError("connection closed by the server"))
        if not self.closed.done():
            self.closed.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(Answer(self.parser.get_status_code(), b"".join(self.body)))
        self.body = []

    async def send(self, raw: bytes) -> Answer:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return await self.waiter


class LoadClient:
    """A pool of keep-alive connections to one server; `request` borrows one per request."""

    def __init__(self, base_url: str, connections: int, headers: dict[str, str] | None = None) -> None:
        u = urlsplit(base_url)
        self.host = u.hostname or "127.0.0.1"
        self.port = u.port or 80
        self.size = connections
        self.headers = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._idle: asyncio.Queue[_Connection] = asyncio.Queue()
        self._all: list[_Connection] = []

    async def __aenter__(self) -> LoadClient:
        loop = asyncio.get_running_loop()
        for _ in range(self.size):
            _, conn = await loop.create_connection(_Connection, self.host, self.port)
            self._all.append(conn)
            self._idle.put_nowait(conn)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for conn in self._all:
            if conn.transport is not None:
                conn.transport.close()
        await asyncio.gather(*(c.closed for c in self._all), return_exceptions=True)

    def build(self, method: str, path: str, body: object | None = None) -> bytes:
        """The request's bytes, built once (JSON body)."""
        payload = orjson.dumps(body) if body is not None else b""
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self.headers}"
                f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n")
        return head.encode() + payload

    async def request(self, raw: bytes) -> Answer:
        """Send prebuilt request bytes on an idle connection; a broken connection is replaced."""
        conn = await self._idle.get()
        if conn.closed.done():  # the server closed it while idle (keep-alive timeout): open a new one
            self._all.remove(conn)
            _, conn = await asyncio.get_running_loop().create_connection(_Connection, self.host, self.port)
            self._all.append(conn)
        try:
            answer = await conn.send(raw)
        except BaseException:
            if conn.transport is not None:
                conn.transport.close()
            self._all.remove(conn)
            _, conn = await asyncio.get_running_loop().create_connection(_Connection, self.host, self.port)
            self._all.append(conn)
            self._idle.put_nowait(conn)
            raise
        self._idle.put_nowait(conn)
        return answer
