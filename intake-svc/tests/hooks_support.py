"""What the hooks tests share: a local HTTP receiver, the service with a test allow-list that lets callbacks reach
it, and signing helpers."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bancheng_services.testing import Databases, RunningService, run_service

PII_KEY = "test-pii-key-0123456789abcdef"  # the intake tests' passphrase (conftest uses it too)

# the test receivers listen on loopback over http: only this allow-list lets callbacks reach them
ALLOW_LOCAL = {"callback_allow_http": True, "callback_allowed_targets": ["127.0.0.1/32"]}


def service_settings(**extra: Any) -> dict[str, Any]:
    """The intake fixture's settings (conftest) with more."""
    return {"pii_key": PII_KEY, "callback_poll_s": 0.1, "callback_backoff_base_s": 0.2, "callback_max_attempts": 3,
            "merge_refresh_s": 0.2, "platform_secrets": {"gov-duch": "duch-secret-0123456789"}, **extra}


@asynccontextmanager
async def hooks_service(databases: Databases, kafka_bootstrap: str, topic_prefix: str,
                        **extra: Any) -> AsyncIterator[RunningService]:
    """intake-svc whose callbacks may reach the local test receivers (http, 127.0.0.1 allow-listed)."""
    url = await databases.new("intake")
    async with run_service("intake", database_url=url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
                           **service_settings(**{**ALLOW_LOCAL, **extra})) as svc:
        yield svc


class Receiver:
    """A minimal HTTP server on a free port: answers `fail_status` (500) to the first `fail_first` requests, then
    200 (with a body a delivery log must never show)."""

    def __init__(self, fail_first: int, fail_status: bytes = b"500 Internal Server Error",
                 extra_headers: bytes = b"") -> None:
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.extra_headers = extra_headers
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.hits = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> Receiver:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.hits += 1
        ok = self.hits > self.fail_first
        if ok:
            self.received.append((headers, body))
        status = b"200 OK" if ok else self.fail_status
        secret_body = b"internal-banner: ssh-2.0 do not echo"
        writer.write(b"HTTP/1.1 " + status + b"\r\n" + self.extra_headers + b"Content-Length: "
                     + str(len(secret_body)).encode() + b"\r\nConnection: close\r\n\r\n" + secret_body)
        await writer.drain()
        writer.close()


def standard_signatures(secret: bytes, headers: dict[str, str], body: bytes) -> set[str]:
    """What a Standard Webhooks receiver computes, to compare with `webhook-signature` (one of its entries)."""
    signed = headers["webhook-id"].encode() + b"." + headers["webhook-timestamp"].encode() + b"." + body
    return {"v1," + base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).decode()}
