"""The console app: pages, static files (vendored htmx, the stylesheet), security headers, error pages."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from bancheng_console.api import Api
from bancheng_console.i18n import translator
from bancheng_console.session import (
    SESSION_COOKIE,
    ApiKeyAuthenticator,
    Authenticator,
    Sessions,
    engine_for,
    secret_for,
)
from bancheng_console.settings import ConsoleSettings
from bancheng_console.views import (
    callers,
    calls,
    cases,
    inbox,
    leader,
    letters,
    repeats,
    search,
    signin,
    team,
    track,
)
from bancheng_console.web import Console, CsrfRefused, NotYourScreen, SignInNeeded, error_page, lang_of, redirect

# nothing is loaded from elsewhere: scripts, styles and images come from this server only
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def create_app(settings: ConsoleSettings | None = None, *,
               transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
               authenticator: Authenticator | None = None) -> FastAPI:
    """The console; `transports` reach in-process services in tests, `authenticator` replaces API keys (SSO)."""
    settings = settings or ConsoleSettings()
    api = Api.from_settings(settings, transports)
    sessions = Sessions(engine_for(settings.database_url), secret_for(settings.database_url, settings.session_secret),
                        settings.session_idle_minutes * 60, settings.session_max_hours * 3600)
    console = Console(settings=settings, api=api, authenticator=authenticator or ApiKeyAuthenticator(api),
                      sessions=sessions)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await sessions.create_table()
        try:
            yield
        finally:
            await api.close()
            await sessions.engine.dispose()

    app = FastAPI(title="Bancheng console 办成工作台", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.console = console
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    for r in (signin.router, track.router, inbox.router, callers.router, calls.router, search.router,
              team.router, leader.router, cases.router, letters.router, repeats.router):
        app.include_router(r)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        # the session is read once per page from the shared table (static files need none)
        request.state.session = None
        if not request.url.path.startswith("/static/"):
            request.state.session = await sessions.find(request.cookies.get(SESSION_COOKIE))
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @app.exception_handler(SignInNeeded)
    async def sign_in_needed(_request: Request, _exc: SignInNeeded) -> Response:
        return redirect("/signin")

    @app.exception_handler(NotYourScreen)
    async def not_your_screen(request: Request, _exc: NotYourScreen) -> Response:
        return error_page(request, 403, translator(lang_of(request))("err.403"))

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, _exc: CsrfRefused) -> Response:
        return error_page(request, 403, translator(lang_of(request))("err.csrf"))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = "; ".join(".".join(str(p) for p in e.get("loc", ())[1:]) for e in exc.errors())
        return error_page(request, 422, translator(lang_of(request))("err.422", detail=fields))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok", "service": "console"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        return JSONResponse({"status": "ready"})

    return app


def main() -> None:
    """Serve the console (`python -m bancheng_console`)."""
    import uvicorn

    settings = ConsoleSettings()
    logging.basicConfig(level=settings.log_level)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, access_log=False)
