"""The operator's call-taking screen: channel, content, person, place → intake → the number to read out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from bancheng_console.api import ApiError
from bancheng_console.session import Session
from bancheng_console.views import callers
from bancheng_console.web import api_error_page, checked_form, console_of, render, screen

router = APIRouter()
CHANNELS = ("hotline", "window", "mailbox", "web", "app")
# the places a call is about: the jurisdictions of the district governments (level 2) and street offices (level 3)
PLACE_LEVELS = (2, 3)
OFFICE_SUFFIXES = ("人民政府", "办事处")


def place_name(unit: dict[str, Any]) -> str:
    """A jurisdiction's name from its government's or office's name (东湖区城关街道办事处 → 东湖区城关街道)."""
    name = str(unit.get("name", ""))
    for suffix in OFFICE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


async def places(request: Request, session: Session) -> list[tuple[str, str]]:
    """(region code, name) of the directory's places, in code order; empty when the directory cannot be read."""
    api = console_of(request).api
    found: list[tuple[str, str]] = []
    for level in PLACE_LEVELS:
        try:
            units = await api.get("triage", "/v1/units", key=session.identity.credential,
                                  params={"kind": "local_government", "level": level, "active": "true",
                                          "limit": 5000})
        except ApiError:
            return []
        found += [(str(u["region_code"]), place_name(u)) for u in units]
    return sorted(found)


@router.get("/calls/new")
async def call_form(request: Request, session: Annotated[Session, Depends(screen("calls"))]) -> Response:
    """An empty call sheet."""
    return render(request, "calls.html", session=session, channels=CHANNELS, form={},
                  places=await places(request, session))


@router.post("/calls")
async def take_call(request: Request, checked: Annotated[tuple[Session, dict[str, str]], Depends(checked_form)]
                    ) -> Response:
    """Register the call with intake (the operator's key) and show what to read out."""
    session, form = checked
    body: dict[str, Any] = {"channel": form.get("channel", "hotline"), "content": form.get("content", "").strip()}
    anonymous = form.get("anonymous") == "on"
    person = {k: form[k].strip() for k in ("name", "phone") if form.get(k, "").strip()}
    if anonymous or person:
        body["complainant"] = {"anonymous": anonymous, **({} if anonymous else person)}
    location = {k: form[f].strip() for k, f in (("address", "address"), ("region_code", "region"))
                if form.get(f, "").strip()}
    if location:
        body["location"] = location
    try:
        created = await console_of(request).api.post("intake", "/v1/tickets", key=session.identity.credential,
                                                     json=body)
    except ApiError as exc:
        if exc.status == 422:
            return render(request, "calls.html", status=422, session=session, channels=CHANNELS, form=form,
                          error=exc.detail, places=await places(request, session))
        return api_error_page(request, exc)
    repeats = [] if created.get("merged") else await callers.open_repeats(request, session, created["ticket_no"])
    return render(request, "call_done.html", session=session, created=created, repeats=repeats)
