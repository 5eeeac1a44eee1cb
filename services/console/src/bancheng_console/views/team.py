"""The work team's screens (工作专班): the return and extension requests to rule on, and the return-visit queue
with the call script and the person's answers (triage and sla rule; oversight records the visit; triage closes the
ticket on it)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from bancheng_console.api import ApiError, bounded
from bancheng_console.session import Session
from bancheng_console.web import api_error_page, checked_form, console_of, page_offset, redirect, render, screen

router = APIRouter()
TicketNo = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]
RequestId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
Checked = Annotated[tuple[Session, dict[str, str]], Depends(checked_form)]
DONE = ("approved", "rejected", "extended", "not_extended", "visited")
RESOLVED = ("yes", "partly", "no")
SATISFACTION = ("satisfied", "basically_satisfied", "unsatisfied", "unreachable")
CAUSES = ("subjective", "objective")


def team_screen() -> Any:
    """The work team's screen dependency (admins too)."""
    return Depends(screen("team"))


@router.get("/team")
async def rulings(request: Request, session: Annotated[Session, team_screen()]) -> Response:
    """The return requests waiting for a ruling (a page of them), the extension requests, how many visits are due."""
    console = console_of(request)
    key = session.identity.credential
    size, offset = console.settings.detail_page_size, page_offset(request)
    try:
        asking, extensions, due = await asyncio.gather(
            console.api.get("triage", "/v1/work-orders", key=key,
                            params={"state": "return_requested", "limit": size + 1, "offset": offset}),
            console.api.get("sla", "/v1/extension-requests", key=key,
                            params={"state": "pending", "limit": min(console.settings.inbox_limit, 500)}),
            console.api.get("oversight", "/v1/return-visits/due", key=key,
                            params={"limit": console.settings.inbox_limit}))
        # the list's items are summaries: each request's reason and basis are on the work order itself, read for
        # this page only and a few at a time (hundreds waiting stay one page's worth of reads)
        more = len(asking) > size
        asking = await bounded((console.api.get("triage", f"/v1/work-orders/{o['ticket_no']}", key=key)
                                for o in asking[:size]), console.settings.api_concurrency)
    except ApiError as exc:
        return api_error_page(request, exc)
    done = request.query_params.get("done")
    return render(request, "team.html", session=session, asking=asking, extensions=extensions["items"], due=due,
                  done=done if done in DONE else None, no=request.query_params.get("no", ""), offset=offset,
                  next_offset=offset + size if more else None)


@router.post("/team/returns/{ticket_no}")
async def rule_on_return(request: Request, ticket_no: TicketNo, checked: Checked) -> Response:
    """Approve (re-dispatch, to the unit named or as triage decides) or reject a return request, with the reason."""
    session, form = checked
    approved = form.get("decision") == "approve"
    body: dict[str, Any] = {"approved": approved, "reason": form.get("reason", "").strip()}
    if approved and form.get("new_unit", "").strip():
        body["new_unit"] = form["new_unit"].strip()
    try:
        await console_of(request).api.post("triage", f"/v1/work-orders/{ticket_no}/return-requests/decision",
                                           key=session.identity.credential, json=body)
    except ApiError as exc:
        return api_error_page(request, exc)
    return redirect(f"/team?done={'approved' if approved else 'rejected'}&no={ticket_no}")


@router.post("/team/extensions/{ticket_no}/{request_id}")
async def rule_on_extension(request: Request, ticket_no: TicketNo, request_id: RequestId, checked: Checked
                            ) -> Response:
    """Approve (the deadline moves by the days asked) or reject an extension request, with the reason."""
    session, form = checked
    approved = form.get("decision") == "approve"
    try:
        await console_of(request).api.post(
            "sla", f"/v1/clocks/{ticket_no}/extension-requests/{request_id}/decision",
            key=session.identity.credential, json={"approved": approved, "reason": form.get("reason", "").strip()})
    except ApiError as exc:
        return api_error_page(request, exc)
    return redirect(f"/team?done={'extended' if approved else 'not_extended'}&no={ticket_no}")


@router.get("/team/visits")
async def visits(request: Request, session: Annotated[Session, team_screen()]) -> Response:
    """The return-visit queue, earliest due first."""
    console = console_of(request)
    try:
        due = await console.api.get("oversight", "/v1/return-visits/due", key=session.identity.credential,
                                    params={"limit": console.settings.inbox_limit})
    except ApiError as exc:
        return api_error_page(request, exc)
    done = request.query_params.get("done")
    return render(request, "team_visits.html", session=session, due=due,
                  done=done if done in DONE else None, no=request.query_params.get("no", ""))


@router.get("/team/visits/{ticket_no}")
async def visit_sheet(request: Request, ticket_no: TicketNo, session: Annotated[Session, team_screen()]) -> Response:
    """The call script: the request, the unit's reply, the questions; the form for the person's answers."""
    console = console_of(request)
    key = session.identity.credential
    try:
        order, ticket = await asyncio.gather(
            console.api.get("triage", f"/v1/work-orders/{ticket_no}", key=key),
            console.api.get("intake", f"/v1/tickets/{ticket_no}", key=key))
    except ApiError as exc:
        return api_error_page(request, exc)
    return render(request, "team_visit.html", session=session, order=order, ticket=ticket, resolved=RESOLVED,
                  satisfaction=SATISFACTION, causes=CAUSES)


@router.post("/team/visits/{ticket_no}")
async def record_visit(request: Request, ticket_no: TicketNo, checked: Checked) -> Response:
    """The person's answers to oversight (which publishes them; triage closes or sends it back)."""
    session, form = checked
    body: dict[str, Any] = {"satisfaction": form.get("satisfaction", "")}
    for field in ("resolved", "cause", "notes"):
        if form.get(field, "").strip():
            body[field] = form[field].strip()
    try:
        await console_of(request).api.post("oversight", f"/v1/tickets/{ticket_no}/return-visits",
                                           key=session.identity.credential, json=body)
    except ApiError as exc:
        return api_error_page(request, exc)
    return redirect(f"/team/visits?done=visited&no={ticket_no}")
