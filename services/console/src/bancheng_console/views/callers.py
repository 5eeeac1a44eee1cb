"""The call-taking screen's additions: the caller's earlier tickets by phone (an htmx fragment) and, after the call is
registered, its possible repeats (疑似重复) to merge or keep apart (intake decides and records both)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from bancheng_console.api import ApiError
from bancheng_console.session import Session
from bancheng_console.web import api_error_page, checked_form, console_of, redirect, render, screen

router = APIRouter()
TicketNo = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]
Checked = Annotated[tuple[Session, dict[str, str]], Depends(checked_form)]
PHONE_DIGITS_MIN = 7  # shorter than a local number: the operator is still typing, nothing to look up yet


async def open_repeats(request: Request, session: Session, ticket_no: str) -> list[dict[str, Any]]:
    """The possible repeats still to decide of a ticket just registered (none when intake cannot say)."""
    try:
        view = await console_of(request).api.get("intake", f"/v1/tickets/{ticket_no}",
                                                 key=session.identity.credential)
    except ApiError:
        return []
    return [p for p in view.get("possible_repeats") or [] if p.get("state") == "open"]


@router.get("/calls/earlier")
async def earlier(request: Request, session: Annotated[Session, Depends(screen("calls"))]) -> Response:
    """The caller's earlier tickets (intake's search by phone), as a fragment of the call sheet."""
    phone = request.query_params.get("phone", "").strip()
    items: list[dict[str, Any]] = []
    total = 0
    if sum(c.isdigit() for c in phone) >= PHONE_DIGITS_MIN:
        try:
            found = await console_of(request).api.get(
                "intake", "/v1/tickets", key=session.identity.credential,
                params={"phone": phone, "limit": console_of(request).settings.search_page_size})
            items, total = found["items"], found["total"]
        except ApiError:
            pass  # a number intake refuses is one with no tickets to show; the sheet says so when submitted
    return render(request, "_earlier.html", session=session, phone=phone, items=items, total=total,
                  looked=bool(items) or sum(c.isdigit() for c in phone) >= PHONE_DIGITS_MIN)


async def _decided(request: Request, session: Session, ticket_no: str, other: str, path: str, body: dict[str, str],
                   done: str, back: str = "") -> Response:
    try:
        await console_of(request).api.post("intake", path, key=session.identity.credential, json=body)
    except ApiError as exc:
        if request.headers.get("hx-request"):
            return render(request, "_repeat_done.html", status=exc.status, session=session, other=other,
                          error=exc.detail)
        return api_error_page(request, exc)
    if request.headers.get("hx-request"):
        return render(request, "_repeat_done.html", session=session, other=other, done=done, no=ticket_no)
    # without htmx: back to the backlog the form came from, else the ticket in the search
    return redirect("/repeats" if back == "repeats" else f"/search?number={ticket_no}")


@router.post("/calls/{ticket_no}/merge/{other}")
async def merge(request: Request, ticket_no: TicketNo, other: TicketNo, checked: Checked) -> Response:
    """并单: the call just registered becomes a repeat of the earlier ticket."""
    session, form = checked
    return await _decided(request, session, ticket_no, other, f"/v1/tickets/{ticket_no}/merge",
                          {"into": other, "reason": form.get("reason", "")}, "merged", form.get("back", ""))


@router.post("/calls/{ticket_no}/keep-apart/{other}")
async def keep_apart(request: Request, ticket_no: TicketNo, other: TicketNo, checked: Checked) -> Response:
    """Not the same matter: the possible repeat is rejected."""
    session, form = checked
    return await _decided(request, session, ticket_no, other,
                          f"/v1/tickets/{ticket_no}/possible-repeats/{other}/reject",
                          {"reason": form.get("reason", "")}, "apart", form.get("back", ""))
