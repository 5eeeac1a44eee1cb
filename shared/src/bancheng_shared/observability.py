"""Structured logs with ticket and correlation ids, request metrics, and secret redaction."""

from __future__ import annotations

import logging
import re
import secrets
import sys
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bancheng_shared import metrics

_SAFE_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,100}")
_TRACEPARENT = re.compile(rb"[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")
_HEX32 = re.compile(rb"[0-9a-f]{32}")
_SECRET_WORDS = ("authorization", "secret", "password", "api_key", "apikey", "token", "phone", "id_number")


def _redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for k in list(event):
        if any(w in k.lower() for w in _SECRET_WORDS):
            event[k] = "***"
    return event


def configure_logging(service: str, level: str = "INFO", json: bool = True) -> None:
    """JSON logs to stdout with the service name, merged context (ticket_id, correlation_id) and redaction."""
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=level.upper())
    for noisy in ("aiokafka", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)


class RequestContextMiddleware:
    """Sets the correlation id (X-Correlation-ID in, echoed out), logs and counts every request."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service
        self.log = structlog.get_logger("bancheng.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given: bytes | None = None
        trace: str | None = None
        for k, v in scope.get("headers", []):
            if k == b"x-correlation-id":
                given = v if _SAFE_ID.fullmatch(v) else None  # anything else (non-ASCII, spaces, …) is replaced
            elif k == b"traceparent":
                m = _TRACEPARENT.fullmatch(v)
                trace = m.group(1).decode() if m and m.group(1) != b"0" * 32 else None
        corr = given.decode() if given else (trace or str(uuid.uuid4()))
        scope.setdefault("state", {})["correlation_id"] = corr
        # W3C Trace Context: continue the caller's trace (or start one from the correlation id) with a new span
        trace_id = trace or (corr.replace("-", "") if _HEX32.fullmatch(corr.replace("-", "").encode()) else
                             uuid.uuid4().hex)
        traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01".encode()
        status = 500
        start = time.perf_counter()

        async def send_wrapper(msg: Message) -> None:
            nonlocal status
            if msg["type"] == "http.response.start":
                status = msg["status"]
                msg.setdefault("headers", []).extend(
                    [(b"x-correlation-id", corr.encode()), (b"traceparent", traceparent)])
            await send(msg)

        with structlog.contextvars.bound_contextvars(correlation_id=corr, trace_id=trace_id):
            try:
                await self.app(scope, receive, send_wrapper)
            finally:
                elapsed = time.perf_counter() - start
                route = scope.get("route")
                path = getattr(route, "path", None) or "unmatched"
                metrics.HTTP_REQUESTS.labels(self.service, scope["method"], path, str(status)).inc()
                metrics.HTTP_LATENCY.labels(self.service, path).observe(elapsed)
                if status >= 400 or elapsed > 1.0:
                    ticket = (scope.get("path_params") or {}).get("ticket_no")
                    self.log.info("http_request", method=scope["method"], route=path, status=status,
                                  ms=round(elapsed * 1000, 1), **({"ticket_id": ticket} if ticket else {}))
