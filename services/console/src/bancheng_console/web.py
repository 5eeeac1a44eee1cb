"""What every page shares: the language, the signed-in session, CSRF checks, rendering and the error pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from bancheng_console import lights, timefmt
from bancheng_console.api import Api, ApiError
from bancheng_console.i18n import LANGS, pick_lang, translator
from bancheng_console.session import PRE_CSRF_COOKIE, SESSION_COOKIE, Authenticator, Session, Sessions, same_token
from bancheng_console.settings import ConsoleSettings

LANG_COOKIE = "bc_lang"
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

# the screens each role works in (navigation by role; the APIs check every call again). A role is offered only the
# screens its key may use: an admin's key passes every check, so it has them all
SCREENS: dict[str, list[str]] = {
    "unit": ["inbox", "letters", "search"],
    "work_team": ["team", "repeats", "inbox", "search"],
    "operator": ["calls", "repeats", "search", "track"],
    "admin": ["inbox", "calls", "repeats", "search", "team", "track", "board", "cases", "letters"],
    "supervision_office": ["cases", "search"],
    "leader": ["board"],
    "inspector": ["cases"],
    "business_environment": ["cases"],
}
SCREEN_URLS = {"inbox": "/inbox", "calls": "/calls/new", "track": "/track", "search": "/search", "team": "/team",
               "board": "/board", "cases": "/cases", "letters": "/letters", "repeats": "/repeats"}
# who may open a work order's page (triage's readers; the admin too): a link to one is shown to these roles only
WORK_ORDER_READERS = frozenset({"work_team", "unit", "inspector", "supervision_office", "operator",
                                "business_environment", "admin"})
# who may reclassify (triage's work team; the admin too)
RECLASSIFIERS = frozenset({"work_team", "admin"})


class SignInNeeded(Exception):
    """The page needs a signed-in user."""


class NotYourScreen(Exception):
    """The signed-in role does not work in this screen."""


class CsrfRefused(Exception):
    """A form came without this session's CSRF token."""


@dataclass
class Console:
    """The console's state for its pages: settings, API clients, authenticator and sessions."""

    settings: ConsoleSettings
    api: Api
    authenticator: Authenticator
    sessions: Sessions

    @property
    def tz(self) -> ZoneInfo:
        """The local time zone of dates shown."""
        return ZoneInfo(self.settings.timezone)


def console_of(request: Request) -> Console:
    """The console state (a FastAPI dependency)."""
    c: Console = request.app.state.console
    return c


def lang_of(request: Request) -> str:
    """The language of this request."""
    return pick_lang(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))


def session_of(request: Request) -> Session | None:
    """The signed-in session, if any (read from the sessions' table once per request, before the page)."""
    s: Session | None = getattr(request.state, "session", None)
    return s


def signed_in(request: Request) -> Session:
    """The signed-in session (a dependency: otherwise the sign-in page)."""
    s = session_of(request)
    if s is None:
        raise SignInNeeded()
    return s


def screen(name: str) -> Any:
    """A dependency: the signed-in user's role works in this screen (others get a 403 page; the APIs check again)."""

    def dependency(request: Request) -> Session:
        s = signed_in(request)
        if name not in SCREENS.get(s.identity.role, []):
            raise NotYourScreen()
        return s

    return dependency


async def checked_form(request: Request) -> tuple[Session, dict[str, str]]:
    """A POSTed form of a signed-in session carrying that session's CSRF token (synchronizer token)."""
    s = signed_in(request)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    if not same_token(form.get("csrf") or request.headers.get("x-csrf-token"), s.csrf):
        raise CsrfRefused()
    return s, form


def secure_cookies(request: Request) -> bool:
    """Cookies are Secure behind https (or when the settings force it)."""
    forwarded = request.headers.get("x-forwarded-proto", "")
    return console_of(request).settings.cookie_secure or request.url.scheme == "https" or forwarded == "https"


def render(request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    """A page in the request's language, with the session's navigation and CSRF token."""
    console = console_of(request)
    lang = lang_of(request)
    t = translator(lang)
    session = ctx.pop("session", None) or session_of(request)
    now = datetime.now(UTC)
    tz = console.tz
    role = session.identity.role if session else None
    screens = [(name, SCREEN_URLS[name]) for name in SCREENS.get(role or "", [])]
    can = {name for name, _ in screens} | ({"work_orders"} if role in WORK_ORDER_READERS else set())
    other = "en" if lang == "zh" else "zh"
    response = TEMPLATES.TemplateResponse(request, template, status_code=status, context={
        "t": t, "lang": lang, "session": session, "user": session.identity if session else None,
        "csrf": session.csrf if session else "", "screens": screens, "can": can,
        "switch_url": _relative(request, lang=other),
        "dt": lambda v: timefmt.local_datetime(v, tz, lang, now),
        "date": lambda v: timefmt.local_date(v, tz, lang),
        "full": lambda v: timefmt.full_datetime(v, tz, lang),
        "humanize": lambda v: timefmt.humanize(v or "", tz, lang, now),
        "left": lambda due: timefmt.time_left(due, now, t),
        "shape": lambda tier: lights.SHAPES.get(str(tier), "○"),
        "now": now, **ctx,
    })
    asked = request.query_params.get("lang")
    if asked in LANGS:
        response.set_cookie(LANG_COOKIE, str(asked), max_age=365 * 86400, samesite="lax",
                            secure=secure_cookies(request))
    response.headers["Cache-Control"] = "no-store"
    return response


def _relative(request: Request, **params: str) -> str:
    """This page's path and query with some parameters set (a link that stays on this host)."""
    url = request.url.include_query_params(**params)
    return f"{url.path}?{url.query}"


def page_offset(request: Request) -> int:
    """The `offset` of a paged list (0 when absent or not a number; bounded like the services' offsets)."""
    value = request.query_params.get("offset", "")
    return min(int(value), 10_000_000) if value.isdigit() else 0


def redirect(url: str) -> RedirectResponse:
    """303 See Other (a POST answered with the page to GET)."""
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, status: int, message: str) -> Response:
    """A plain error page with the status the API gave."""
    return render(request, "error.html", status=status, message=message, code=status)


def api_error_page(request: Request, exc: ApiError, *, tracking: bool = False) -> Response:
    """The API's answer as a friendly page (403, 404, 409, 422, 429 keep their status)."""
    t = translator(lang_of(request))
    if exc.status == 401:
        return redirect("/signin")
    if exc.status == 404:
        return error_page(request, 404, t("err.404.track" if tracking else "err.404"))
    if exc.status == 429:
        wait = _wait_text(exc.retry_after, t)
        page = error_page(request, 429, t("err.429", wait=wait) if wait else t("err.429.soon"))
        if exc.retry_after:
            page.headers["Retry-After"] = exc.retry_after
        return page
    if exc.status in (403, 409, 422):
        key = {403: "err.403", 409: "err.409", 422: "err.422"}[exc.status]
        return error_page(request, exc.status, t(key, detail=exc.detail))
    return error_page(request, 503 if exc.status >= 500 else exc.status, t("err.503"))


def _wait_text(retry_after: str | None, t: Any) -> str:
    if not retry_after or not retry_after.isdigit():
        return ""
    return timefmt.duration(timedelta(seconds=int(retry_after)), t)


def pre_csrf(request: Request) -> str | None:
    """The sign-in form's double-submit token from its cookie."""
    return request.cookies.get(PRE_CSRF_COOKIE)


def set_session_cookie(request: Request, response: Response, value: str) -> None:
    """The session cookie: HttpOnly, SameSite=Lax (forms carry a CSRF token too), Secure behind https; it names the
    session, nothing else."""
    response.set_cookie(SESSION_COOKIE, value, httponly=True, samesite="lax", secure=secure_cookies(request),
                        path="/")


def clear_session_cookie(response: Response) -> None:
    """Forget the session cookie."""
    response.delete_cookie(SESSION_COOKIE, path="/")
