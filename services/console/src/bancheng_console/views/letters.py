"""A unit's supervision letters (督办函): those addressed to the signed-in unit with their due dates, unanswered first,
and the form to reply (oversight scopes a unit key to the cases naming it and the letters addressed to it)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from bancheng_console.api import ApiError, bounded
from bancheng_console.session import Session
from bancheng_console.web import api_error_page, checked_form, console_of, page_offset, redirect, render, screen

router = APIRouter()
Id = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
Checked = Annotated[tuple[Session, dict[str, str]], Depends(checked_form)]
# the cases' states in which letters have been sent (before them there are none to read)
WITH_LETTERS = frozenset({"letter_sent", "replied", "visited", "redo", "concluded"})
MEASURES_MAX = 100


def unit_letters(cases: list[dict[str, Any]], unit: str | None) -> list[dict[str, Any]]:
    """The letters of the cases (to `unit` when given), each with its case; unanswered first by due date, then the
    answered ones, latest reply first."""
    out = [{**x, "case_id": c["case_id"], "case_title": c.get("title", ""), "case_state": c.get("state")}
           for c in cases for x in c.get("letters") or [] if unit is None or x.get("unit") == unit]
    waiting = sorted((x for x in out if not x.get("replied_at")), key=lambda x: str(x.get("due_at")))
    answered = sorted((x for x in out if x.get("replied_at")), key=lambda x: str(x.get("replied_at")), reverse=True)
    return waiting + answered


def reply_measures(text: str) -> list[str]:
    """The measures taken, one a line (blank lines dropped)."""
    return [line.strip() for line in text.splitlines() if line.strip()][:MEASURES_MAX]


@router.get("/letters")
async def letters(request: Request, session: Annotated[Session, Depends(screen("letters"))]) -> Response:
    """The letters addressed to this unit (a page of its cases with letters, read a few at a time)."""
    console = console_of(request)
    key = session.identity.credential
    size, offset = console.settings.detail_page_size, page_offset(request)
    try:
        cases = await console.api.get("oversight", "/v1/cases", key=key,
                                      params={"limit": min(console.settings.inbox_limit, 500)})
        cases = [c for c in cases if c.get("state") in WITH_LETTERS]
        page = cases[offset:offset + size]
        details = await bounded((console.api.get("oversight", f"/v1/cases/{c['case_id']}", key=key) for c in page),
                                console.settings.api_concurrency)
    except ApiError as exc:
        return api_error_page(request, exc)
    done = request.query_params.get("done")
    return render(request, "letters.html", session=session, letters=unit_letters(details, session.identity.unit),
                  done=done == "replied", offset=offset,
                  next_offset=offset + size if len(cases) > offset + size else None,
                  can_reply=session.identity.role == "unit")


@router.post("/letters/{case_id}/{letter_id}/reply")
async def reply(request: Request, case_id: Id, letter_id: Id, checked: Checked) -> Response:
    """督办回复函: the unit's reply and the measures it took (oversight records whether it came late)."""
    session, form = checked
    body = {"content": form.get("content", "").strip(), "measures": reply_measures(form.get("measures", ""))}
    try:
        await console_of(request).api.post("oversight", f"/v1/cases/{case_id}/letters/{letter_id}/reply",
                                           key=session.identity.credential, json=body)
    except ApiError as exc:
        return api_error_page(request, exc)
    return redirect("/letters?done=replied")
