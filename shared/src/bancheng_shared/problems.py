"""RFC 9457 problem details for every HTTP error, with validation errors naming the field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bancheng_shared.errors import TITLES, Problem
from bancheng_shared.problem_types import BY_STATUS, COMMON, ProblemType

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("bancheng.http")

__all__ = ["PROBLEM_JSON", "Problem", "install_problem_handlers", "problem_response"]


def problem_response(status: int, detail: str, *, instance: str | None = None, type_: str | None = None,
                     title: str | None = None, headers: dict[str, str] | None = None,
                     types: Mapping[str, ProblemType] | None = None, **extra: Any) -> JSONResponse:
    """Build a problem+json response: `type` resolves on this service (/problems/<slug>), `title` is the type's."""
    slug = type_ or BY_STATUS.get(status, "internal" if status >= 500 else "bad-request")
    known = (types or COMMON).get(slug) or COMMON.get(slug)
    if known is None:
        log.warning("problem_type_unregistered", type=slug)
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title or (known.title if known else TITLES.get(status, "Error")),
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    headers = dict(headers or {})
    if status == 401:
        # RFC 9110: a 401 names the scheme to use (RFC 6750 for bearer tokens)
        headers.setdefault("WWW-Authenticate", 'Bearer realm="bancheng"'
                           + (', error="invalid_token"' if "revoked" in detail or "unknown" in detail else ""))
    retry = extra.get("retry_after")
    if retry is not None and status in (429, 503):
        headers.setdefault("Retry-After", str(max(1, int(retry))))
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers or None)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) if parts else "body"


def _types(request: Request) -> Mapping[str, ProblemType]:
    types: Mapping[str, ProblemType] = getattr(request.app.state, "problem_types", COMMON)
    return types


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error raised in the app as problem+json."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.detail, instance=request.url.path, type_=exc.type_,
                                title=exc.title, types=_types(request), **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for err in exc.errors():
            if err.get("type") == "json_invalid":
                ctx = err.get("ctx") or {}
                return problem_response(400, f"malformed JSON body: {ctx.get('error', 'invalid JSON')}",
                                        instance=request.url.path, type_="malformed-json", types=_types(request))
            errors.append({"field": _field(tuple(err.get("loc", ()))), "message": err.get("msg", "invalid")})
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
        return problem_response(422, detail, instance=request.url.path, type_="validation", errors=errors,
                                types=_types(request))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return problem_response(exc.status_code, detail, instance=request.url.path,
                                headers=getattr(exc, "headers", None), types=_types(request))

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", path=request.url.path)
        return problem_response(500, "internal error; it has been logged", instance=request.url.path,
                                types=_types(request))


class BodyLimitMiddleware:
    """Refuse request bodies over a size limit (413) and unexpected content types (415)."""

    ALLOWED = ("application/json", "application/x-www-form-urlencoded", "multipart/form-data", "text/csv",
               "application/xml", "text/xml")

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        length: str | None = None
        ctype = ""
        for k, v in scope.get("headers", []):  # ASGI header names are lower case already
            if k == b"content-length":
                length = v.decode("latin-1")
            elif k == b"content-type":
                ctype = v.decode("latin-1")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._reject(scope, send, 413, f"request body over {self.max_bytes} bytes")
            return
        ctype = ctype.split(";")[0].strip().lower()
        if (length not in (None, "0")) and ctype and not (
            ctype in self.ALLOWED or ctype.endswith("+json")
        ):
            await self._reject(scope, send, 415, f"content type {ctype!r} is not accepted; send application/json")
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return msg

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._reject(scope, send, 413, f"request body over {self.max_bytes} bytes")

    @staticmethod
    async def _reject(scope: Scope, send: Send, status: int, detail: str) -> None:
        resp = problem_response(status, detail, instance=scope.get("path"))
        await resp(scope, _noop_receive, send)


class _TooLarge(StarletteHTTPException):
    """A streamed (chunked) body went over the limit: an HTTP error, so body parsing passes it on as a 413."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body over {max_bytes} bytes")


async def _noop_receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}
