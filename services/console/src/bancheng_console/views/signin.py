"""Sign in with an API key (verified by the services' GET /v1/me), sign out, and the home page by role."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from bancheng_console.api import ApiError
from bancheng_console.i18n import translator
from bancheng_console.session import PRE_CSRF_COOKIE, Identity, Session, same_token
from bancheng_console.web import (
    SCREEN_URLS,
    SCREENS,
    checked_form,
    clear_session_cookie,
    console_of,
    lang_of,
    pre_csrf,
    redirect,
    render,
    secure_cookies,
    session_of,
    set_session_cookie,
    signed_in,
)

router = APIRouter()


def _signin_page(request: Request, status: int = 200, error: str = "", notice: str = "") -> Response:
    token = pre_csrf(request) or secrets.token_urlsafe(32)
    page = render(request, "signin.html", status=status, pre_csrf=token, error=error, notice=notice)
    page.set_cookie(PRE_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure_cookies(request))
    return page


@router.get("/signin")
async def signin_form(request: Request) -> Response:
    """The sign-in form (a signed-in user goes to their first screen)."""
    if session_of(request) is not None:
        return redirect("/")
    return _signin_page(request, notice=translator(lang_of(request))("signout.done")
                        if request.query_params.get("out") else "")


@router.post("/signin")
async def signin(request: Request, api_key: Annotated[str, Form(max_length=200)] = "",
                 csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Verify the key, start a server-side session, set the cookie that names it."""
    t = translator(lang_of(request))
    if not same_token(csrf, pre_csrf(request)):
        return render(request, "error.html", status=403, message=t("err.csrf"), code=403)
    console = console_of(request)
    try:
        identity = await console.authenticator.authenticate(api_key.strip()) if api_key.strip() else None
    except ApiError:
        return _signin_page(request, 503, error=t("signin.unavailable"))
    if identity is None:
        return _signin_page(request, 401, error=t("signin.failed"))
    if identity.unit:
        identity = replace(identity, unit_name=await _unit_name(request, identity))
    earlier = session_of(request)
    if earlier is not None:  # signing in again replaces the session (a fresh id, the old one forgotten)
        await console.sessions.end(earlier)
    _session, cookie = await console.sessions.start(identity)
    response = redirect("/")
    set_session_cookie(request, response, cookie)
    response.delete_cookie(PRE_CSRF_COOKIE)
    return response


async def _unit_name(request: Request, identity: Identity) -> str | None:
    """The unit's name from triage's directory (the header shows it; the code stands in when it cannot be read)."""
    try:
        unit = await console_of(request).api.get("triage", f"/v1/units/{identity.unit}", key=identity.credential)
    except ApiError:
        return None
    return str(unit.get("name") or "") or None


@router.post("/signout")
async def signout(request: Request, checked: Annotated[tuple[Session, dict[str, str]], Depends(checked_form)]
                  ) -> Response:
    """End the session (the key is forgotten with it)."""
    await console_of(request).sessions.end(checked[0])
    response = redirect("/signin?out=1")
    clear_session_cookie(response)
    return response


@router.get("/")
async def home(request: Request, session: Annotated[Session, Depends(signed_in)]) -> Response:
    """A user's first screen by role; roles without one see who they are."""
    screens = SCREENS.get(session.identity.role, [])
    if screens:
        return redirect(SCREEN_URLS[screens[0]])
    return render(request, "home.html", session=session)
