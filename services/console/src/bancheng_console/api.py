"""The console's only way to the data: the four services' public HTTP APIs, with the signed-in user's key."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from bancheng_console.settings import ConsoleSettings

SERVICES = ("intake", "triage", "sla", "oversight")
T = TypeVar("T")


class ApiError(Exception):
    """A service answered with a problem (or could not be reached: status 503)."""

    def __init__(self, status: int, detail: str, retry_after: str | None = None) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


@dataclass
class Api:
    """One httpx client per service; every call names the service and carries the caller's key."""

    clients: Mapping[str, httpx.AsyncClient]

    @classmethod
    def from_settings(cls, settings: ConsoleSettings,
                      transports: Mapping[str, httpx.AsyncBaseTransport] | None = None) -> Api:
        """Clients for the services' base URLs (`transports` lets tests reach in-process apps)."""
        urls = {s: getattr(settings, f"{s}_url") for s in SERVICES}
        return cls({s: httpx.AsyncClient(base_url=urls[s], timeout=settings.api_timeout_s,
                                         transport=(transports or {}).get(s)) for s in SERVICES})

    async def close(self) -> None:
        """Close every client."""
        for c in self.clients.values():
            await c.aclose()

    async def call(self, service: str, method: str, path: str, *, key: str | None = None,
                   params: Mapping[str, Any] | None = None, json: Any = None,
                   headers: Mapping[str, str] | None = None) -> Any:
        """The JSON answer of a call, or ApiError with the service's status and detail."""
        h = dict(headers or {})
        if key is not None:
            h["Authorization"] = f"Bearer {key}"
        try:
            r = await self.clients[service].request(method, path, params=params, json=json, headers=h)
        except httpx.HTTPError as exc:
            raise ApiError(503, f"{service} unreachable: {type(exc).__name__}") from exc
        if r.status_code >= 400:
            raise ApiError(r.status_code, _detail(r), r.headers.get("retry-after"))
        return r.json() if r.content else None

    async def get(self, service: str, path: str, **kw: Any) -> Any:
        """GET."""
        return await self.call(service, "GET", path, **kw)

    async def post(self, service: str, path: str, **kw: Any) -> Any:
        """POST."""
        return await self.call(service, "POST", path, **kw)


async def bounded(calls: Iterable[Awaitable[T]], limit: int) -> list[T]:
    """The calls' answers in order, at most `limit` in flight at once (a page's reads never flood a service)."""
    gate = asyncio.Semaphore(limit)

    async def one(call: Awaitable[T]) -> T:
        async with gate:
            return await call

    return list(await asyncio.gather(*(one(c) for c in calls)))


def _detail(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return r.text[:300]
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            return "; ".join(f"{e.get('field', '')}: {e.get('message', '')}".strip(": ") for e in errors
                             if isinstance(e, dict))
        return str(body.get("detail") or body.get("title") or "")
    return str(body)[:300]
