"""The citizen's page: the tracking link (or number + last four phone digits) → status, steps and the reply.

The answers are intake's public lookup's, passed on as they are (the same 404 for a wrong proof and an unknown
number; 429 with Retry-After), with the person's address forwarded so the throttle counts each person."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from bancheng_console.api import ApiError
from bancheng_console.web import api_error_page, console_of, render

router = APIRouter()
TicketNo = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]


@router.get("/track")
async def track_form(request: Request,
                     ticket_no: Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z0-9-]*$")] = None,
                     phone_last4: Annotated[str | None, Query(max_length=4)] = None) -> Response:
    """The lookup form; with a number and four digits, the answer."""
    if ticket_no and phone_last4:
        return await _lookup(request, ticket_no.strip(), {"phone_last4": phone_last4})
    return render(request, "track_form.html", ticket_no=ticket_no or "")


@router.get("/track/{ticket_no}")
async def track(request: Request, ticket_no: TicketNo,
                token: Annotated[str, Query(min_length=1, max_length=100)]) -> Response:
    """The tracking link a person is given."""
    return await _lookup(request, ticket_no, {"token": token})


async def _lookup(request: Request, ticket_no: str, proof: dict[str, str]) -> Response:
    console = console_of(request)
    client = request.client.host if request.client else ""
    try:
        found = await console.api.get("intake", f"/v1/public/tickets/{ticket_no}", params=proof,
                                      headers={"X-Forwarded-For": client} if client else None)
    except ApiError as exc:
        return api_error_page(request, exc, tracking=True)
    response = render(request, "track.html", ticket=found, public=True)
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in this page's address
    return response
