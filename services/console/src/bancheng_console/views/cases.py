"""The inspectors' supervision cases: the list with states and letters due, a case with its documents, and the
forms of exactly the steps the case's state allows (oversight decides; a 409 comes back as a page)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from bancheng_console import board
from bancheng_console.api import ApiError, bounded
from bancheng_console.session import Session
from bancheng_console.web import api_error_page, checked_form, console_of, redirect, render, screen

router = APIRouter()
CaseId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
Inspector = Annotated[Session, Depends(screen("cases"))]
Checked = Annotated[tuple[Session, dict[str, str]], Depends(checked_form)]
ACCOUNTABILITY_DONE = ("accountability", "dismissed")
STATES = ("opened", "registered", "investigating", "letter_sent", "replied", "visited", "redo", "concluded")


@router.get("/cases")
async def case_list(request: Request, session: Inspector) -> Response:
    """Supervision cases, optionally of one state, with their open letters' due dates."""
    console = console_of(request)
    state = request.query_params.get("state")
    params: dict[str, Any] = {"limit": console.settings.inbox_limit}
    if state in STATES:
        params["state"] = state
    key = session.identity.credential
    try:
        items = await console.api.get("oversight", "/v1/cases", key=key, params=params)
        # the list's short form has no letters: read the cases waiting for a reply to show when it is due
        waiting = [c for c in items if c["state"] == "letter_sent"]
        details = await bounded((console.api.get("oversight", f"/v1/cases/{c['case_id']}", key=key)
                                 for c in waiting), console.settings.api_concurrency)
    except ApiError as exc:
        return api_error_page(request, exc)
    due = {d["case_id"]: board.reply_due(d.get("letters", [])) for d in details}
    return render(request, "cases.html", session=session, cases=items, states=STATES, due=due,
                  state=state if state in STATES else None)


@router.get("/cases/{case_id}")
async def case_page(request: Request, case_id: CaseId, session: Inspector) -> Response:
    """A case, its documents and letters (with the unit's replies), the forms of its allowed actions, and who was
    held accountable (with the form to record it, and to decide what an unanswered letter proposed)."""
    console = console_of(request)
    key = session.identity.credential
    try:
        case, records = await asyncio.gather(
            console.api.get("oversight", f"/v1/cases/{case_id}", key=key),
            console.api.get("oversight", "/v1/accountability", key=key, params={"case_id": case_id}))
    except ApiError as exc:
        return api_error_page(request, exc)
    done = request.query_params.get("done")
    return render(request, "case.html", session=session, case=case,
                  actions=board.case_buttons(case.get("allowed_actions", [])),
                  done=done if done in (*board.CASE_ACTIONS, *ACCOUNTABILITY_DONE) else None,
                  records=records, can_hold=board.can_hold_accountable(case), measures=board.MEASURES,
                  reasons=board.REASON_CATEGORIES, reason_codes=board.REASON_CODES)


def _accountability(form: dict[str, str]) -> dict[str, Any]:
    """Who is held accountable and how, from the form (the reason category's code is the API's word for it)."""
    body: dict[str, Any] = {"person": {"name": form.get("person_name", "").strip(),
                                       "post": form.get("person_post", "").strip()},
                            "measure": form.get("measure", ""),
                            "reason_category": board.REASON_CATEGORIES.get(form.get("reason_category", ""), "")}
    if form.get("reason", "").strip():
        body["reason"] = form["reason"].strip()
    return body


@router.post("/cases/{case_id}/accountability")
async def hold_accountable(request: Request, case_id: CaseId, checked: Checked) -> Response:
    """问责: a person of a unit the case names, the measure and the reason category, linked to the case."""
    session, form = checked
    body = {**_accountability(form), "unit": form.get("unit", ""), "case_ids": [case_id],
            "decided_by": session.identity.name or None}
    return await _post(request, session, case_id, "/v1/accountability", body, "accountability")


@router.post("/cases/{case_id}/accountability/{record_id}")
async def decide_proposal(request: Request, case_id: CaseId, record_id: CaseId, checked: Checked) -> Response:
    """Decide what an unanswered letter proposed (the measure for a person), or dismiss it."""
    session, form = checked
    dismiss = form.get("decision") == "dismiss"
    body: dict[str, Any] = {"dismiss": True, "reason": form.get("reason", "").strip() or None} if dismiss else {
        **_accountability(form), "decided_by": session.identity.name or None}
    return await _post(request, session, case_id, f"/v1/accountability/{record_id}/decision", body,
                       "dismissed" if dismiss else "accountability")


async def _post(request: Request, session: Session, case_id: str, path: str, body: dict[str, Any], done: str
                ) -> Response:
    try:
        await console_of(request).api.post("oversight", path, key=session.identity.credential,
                                           json={k: v for k, v in body.items() if v is not None})
    except ApiError as exc:
        return api_error_page(request, exc)
    return redirect(f"/cases/{case_id}?done={done}")


def _body(action: str, form: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """The case API's path and body of a step from its form (empty optional fields are left out)."""
    def opt(name: str) -> str | None:
        return form.get(name, "").strip() or None

    if action == "register":
        return "/register", {"inspector": opt("inspector"), "notes": opt("notes")}
    if action == "investigate":
        return "/investigations", {"notes": form.get("notes", ""), "findings": opt("findings")}
    if action == "send_letter":
        body: dict[str, Any] = {"unit": form.get("unit", ""), "requirements": form.get("requirements", "")}
        if opt("due_date"):
            body["due_date"] = opt("due_date")
        else:
            body["working_days"] = opt("working_days")
        return "/letters", body
    if action == "return_visit":
        return "/return-visits", {"resolved": form.get("resolved"), "satisfaction": form.get("satisfaction"),
                                  "rectification": form.get("rectification"), "method": form.get("method", "phone"),
                                  "notes": opt("notes")}
    if action == "order_redo":
        return "/redo", {"reason": form.get("reason", "")}
    if action == "conclude":
        return "/conclusion", {"result": form.get("result", ""), "solved": form.get("solved") == "yes",
                               "findings": opt("findings")}
    return "/publication", {"title": form.get("title", ""), "summary": form.get("summary", "")}


@router.post("/cases/{case_id}/{action}")
async def act(request: Request, case_id: CaseId, action: str, checked: Checked) -> Response:
    """One step of the case (oversight checks the role and the state again)."""
    session, form = checked
    if action not in board.CASE_ACTIONS:
        return api_error_page(request, ApiError(404, action))
    path, body = _body(action, form)
    return await _post(request, session, case_id, f"/v1/cases/{case_id}{path}", body, action)
