"""The possible-repeats backlog (疑似重复待核实): tickets intake flagged as possibly the same matter as an earlier one,
with the similarity, to merge or keep apart (the call sheet's forms; intake decides and records both)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from bancheng_console.api import ApiError, bounded
from bancheng_console.session import Session
from bancheng_console.web import api_error_page, console_of, render, screen

router = APIRouter()


@router.get("/repeats")
async def backlog(request: Request, session: Annotated[Session, Depends(screen("repeats"))]) -> Response:
    """A page of tickets with an open possible repeat (newest first, intake's cursor), each with its candidates."""
    console = console_of(request)
    key = session.identity.credential
    params: dict[str, Any] = {"possible_repeat": "true", "limit": console.settings.detail_page_size}
    cursor = request.query_params.get("cursor", "")
    if cursor:
        params["cursor"] = cursor
    try:
        found = await console.api.get("intake", "/v1/tickets", key=key, params=params)
        # the list's items carry no candidates: each ticket's open possible repeats are on the ticket, read for this
        # page only and a few at a time
        views = await bounded((console.api.get("intake", f"/v1/tickets/{r['ticket_no']}", key=key)
                               for r in found["items"]), console.settings.api_concurrency)
    except ApiError as exc:
        return api_error_page(request, exc)
    rows = [{"item": item, "open": [p for p in view.get("possible_repeats") or [] if p.get("state") == "open"]}
            for item, view in zip(found["items"], views, strict=True)]
    next_url = ("/repeats?" + urlencode({"cursor": found["next_cursor"]})) if found.get("next_cursor") else None
    return render(request, "repeats.html", session=session, rows=[r for r in rows if r["open"]],
                  total=found["total"], next_url=next_url, first=not cursor)
