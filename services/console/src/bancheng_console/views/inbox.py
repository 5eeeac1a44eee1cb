"""A unit's work: the inbox (light and time left, most urgent first) and a work order with its actions."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from bancheng_console import lights
from bancheng_console.api import ApiError
from bancheng_console.session import Session
from bancheng_console.web import (
    RECLASSIFIERS,
    api_error_page,
    checked_form,
    console_of,
    redirect,
    render,
    screen,
    signed_in,
)

router = APIRouter()
TicketNo = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]
Checked = Annotated[tuple[Session, dict[str, str]], Depends(checked_form)]
DONE = ("sign", "return", "progress", "resolve", "reclassify")
CATEGORIES = ("consult", "complaint", "report", "suggestion", "help", "praise")
ROUTES = ("dispatch", "answer", "petition", "legal", "hotline")
UNIT_ACTIONS = frozenset({"sign", "request_return", "progress", "resolve"})  # the forms this page offers


@router.get("/inbox")
async def inbox(request: Request, session: Annotated[Session, Depends(screen("inbox"))]) -> Response:
    """The signed-in unit's work orders (the APIs scope a unit key to its unit) joined to their clocks."""
    console = console_of(request)
    key = session.identity.credential
    limit = console.settings.inbox_limit
    try:
        orders, clocks = await asyncio.gather(
            console.api.get("triage", "/v1/work-orders", key=key, params={"limit": limit}),
            console.api.get("sla", "/v1/clocks", key=key, params={"limit": min(limit, 500), "state": "running"}))
    except ApiError as exc:
        return api_error_page(request, exc)
    rows = lights.inbox(orders, clocks.get("items", []), datetime.now(UTC))
    return render(request, "inbox.html", session=session, rows=rows)


@router.get("/work-orders/{ticket_no}")
async def work_order(request: Request, ticket_no: TicketNo,
                     session: Annotated[Session, Depends(signed_in)]) -> Response:
    """A work order, its clock and its timeline; the forms its state allows (and the work team's reclassification).
    A ticket with no work order yet (not triaged, or answered on the line) shows as the ticket intake has."""
    console = console_of(request)
    key = session.identity.credential
    try:
        order = await console.api.get("triage", f"/v1/work-orders/{ticket_no}", key=key)
    except ApiError as exc:
        if exc.status != 404:
            return api_error_page(request, exc)
        return await _ticket_only(request, session, ticket_no, exc)
    reclassify = session.identity.role in RECLASSIFIERS
    clock, ticket, catalogue = await asyncio.gather(
        _optional(console.api.get("sla", f"/v1/clocks/{ticket_no}", key=key)),
        _optional(console.api.get("intake", f"/v1/tickets/{ticket_no}", key=key)),
        _optional(console.api.get("triage", "/v1/catalogue", key=key) if reclassify else _nothing()))
    rounds = (clock or {}).get("rounds") or []
    done = request.query_params.get("done")
    allowed = set(order.get("allowed_actions", []))
    return render(request, "work_order.html", session=session, order=order, ticket=ticket,
                  clock=rounds[-1] if rounds else None, allowed=allowed, can_act=bool(allowed & UNIT_ACTIONS),
                  done=done if done in DONE else None, reclassify=reclassify,
                  kinds=department_kinds(catalogue), categories=CATEGORIES, routes=ROUTES)


async def _ticket_only(request: Request, session: Session, ticket_no: str, missing: ApiError) -> Response:
    """The ticket as intake has it, when triage has no work order for it (else triage's 404 page)."""
    try:
        ticket = await console_of(request).api.get("intake", f"/v1/tickets/{ticket_no}",
                                                   key=session.identity.credential)
    except ApiError:
        return api_error_page(request, missing)
    return render(request, "ticket.html", session=session, ticket=ticket)


async def _nothing() -> None:
    return None


def department_kinds(catalogue: dict[str, Any] | None) -> list[str]:
    """The department kinds the routing catalogue knows (its rules' kinds and the fallback), in its order."""
    if not catalogue:
        return []
    doc = catalogue.get("catalogue") or {}
    kinds = [str(r["kind"]) for r in doc.get("rules", []) if isinstance(r, dict) and r.get("kind")]
    if doc.get("fallback_kind"):
        kinds.append(str(doc["fallback_kind"]))
    return list(dict.fromkeys(kinds))


async def _optional(call: Any) -> Any:
    """A read the page can do without (the clock may not be started yet)."""
    try:
        return await call
    except ApiError:
        return None


async def _act(request: Request, session: Session, ticket_no: str, path: str, body: dict[str, Any] | None,
               done: str) -> Response:
    console = console_of(request)
    try:
        await console.api.post("triage", f"/v1/work-orders/{ticket_no}{path}", key=session.identity.credential,
                               json=body)
    except ApiError as exc:
        return api_error_page(request, exc)
    return redirect(f"/work-orders/{ticket_no}?done={done}")


@router.post("/work-orders/{ticket_no}/sign")
async def sign(request: Request, ticket_no: TicketNo, checked: Checked) -> Response:
    """签收."""
    return await _act(request, checked[0], ticket_no, "/sign", None, "sign")


@router.post("/work-orders/{ticket_no}/return")
async def ask_return(request: Request, ticket_no: TicketNo, checked: Checked) -> Response:
    """申请退回, with reason and basis."""
    form = checked[1]
    return await _act(request, checked[0], ticket_no, "/return-requests",
                      {"reason": form.get("reason", ""), "basis": form.get("basis", "")}, "return")


@router.post("/work-orders/{ticket_no}/progress")
async def progress(request: Request, ticket_no: TicketNo, checked: Checked) -> Response:
    """报告进展."""
    return await _act(request, checked[0], ticket_no, "/progress", {"note": checked[1].get("note", "")},
                      "progress")


@router.post("/work-orders/{ticket_no}/reclassify")
async def reclassify(request: Request, ticket_no: TicketNo, checked: Checked) -> Response:
    """纠正分类 (the work team): the department kind, category or route it should have been, with the reason; triage
    keeps the correction and re-routes a work order not yet signed."""
    form = checked[1]
    body: dict[str, Any] = {"reason": form.get("reason", "").strip()}
    for field in ("department_kind", "category", "route"):
        if form.get(field, "").strip():
            body[field] = form[field].strip()
    return await _act(request, checked[0], ticket_no, "/reclassify", body, "reclassify")


@router.post("/work-orders/{ticket_no}/resolve")
async def resolve(request: Request, ticket_no: TicketNo, checked: Checked) -> Response:
    """办结, with the reply to the person."""
    form = checked[1]
    return await _act(request, checked[0], ticket_no, "/resolution",
                      {"outcome": form.get("outcome", ""), "reply": form.get("reply", "")}, "resolve")
