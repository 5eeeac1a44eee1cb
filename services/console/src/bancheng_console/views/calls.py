"""The operator's call-taking screen: channel, content, person, place → intake → the number to read out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from bancheng_console.api import ApiError
from bancheng_console.session import Session
from bancheng_console.web import api_error_page, checked_form, console_of, render, screen

router = APIRouter()
CHANNELS = ("hotline", "window", "mailbox", "web", "app")


@router.get("/calls/new")
async def call_form(request: Request, session: Annotated[Session, Depends(screen("calls"))]) -> Response:
    """An empty call sheet."""
    return render(request, "calls.html", session=session, channels=CHANNELS, form={})


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
    if form.get("address", "").strip():
        body["location"] = {"address": form["address"].strip()}
    try:
        created = await console_of(request).api.post("intake", "/v1/tickets", key=session.identity.credential,
                                                     json=body)
    except ApiError as exc:
        if exc.status == 422:
            page = render(request, "calls.html", status=422, session=session, channels=CHANNELS, form=form,
                          error=exc.detail)
            return page
        return api_error_page(request, exc)
    return render(request, "call_done.html", session=session, created=created)
