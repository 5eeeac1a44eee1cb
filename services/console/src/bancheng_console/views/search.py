"""Search (检索) over intake's `GET /v1/tickets`: the form, a page of results with excerpt, light and status, the total
and the cursor to the next page (the API scopes a unit key to its unit's tickets)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from bancheng_console.api import ApiError
from bancheng_console.session import Session
from bancheng_console.web import api_error_page, console_of, render, screen

router = APIRouter()
# the form's fields passed through to intake as they are (the period is turned into times first)
TEXT_FIELDS = ("q", "number", "phone", "name", "address", "unit", "status", "tier")
STATUSES = ("received", "triaged", "dispatched", "transferred", "answered", "signed", "return_requested",
            "resolved", "reopened", "closed", "merged")
TIERS = ("red", "yellow", "green")


def search_params(form: dict[str, str], tz: ZoneInfo) -> tuple[dict[str, str], str | None]:
    """Intake's query from the form (empty fields left out; the period's days as local times), or the field in error."""
    params = {k: form[k].strip() for k in TEXT_FIELDS if form.get(k, "").strip()}
    for field, shift in (("from", 0), ("to", 1)):
        value = form.get(field, "").strip()
        if not value:
            continue
        try:
            day = date.fromisoformat(value) + timedelta(days=shift)
        except ValueError:
            return params, field
        # `to` is the day's end: the next midnight less a microsecond, so the day itself is included
        at = datetime.combine(day, time.min, tzinfo=tz) - timedelta(microseconds=shift)
        params[field] = at.isoformat()
    return params, None


@router.get("/search")
async def search(request: Request, session: Annotated[Session, Depends(screen("search"))]) -> Response:
    """The search form and, when anything was asked, a page of intake's answer."""
    console = console_of(request)
    form = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
    params, bad = search_params(form, console.tz)
    ctx: dict[str, Any] = {"session": session, "form": form, "statuses": STATUSES, "tiers": TIERS,
                           "asked": bool(params), "result": None, "error": None, "next_url": None}
    if bad:
        ctx["error"] = bad
        return render(request, "search.html", status=422, **ctx)
    if params:
        query = {**params, "limit": str(console.settings.search_page_size)}
        if form.get("cursor"):
            query["cursor"] = form["cursor"]
        try:
            result = await console.api.get("intake", "/v1/tickets", key=session.identity.credential, params=query)
        except ApiError as exc:
            if exc.status in (400, 403, 422):
                ctx["error"] = exc.detail
                return render(request, "search.html", status=exc.status, **ctx)
            return api_error_page(request, exc)
        page = int(form["page"]) if form.get("page", "").isdigit() else 1
        ctx.update(result=result, page=page)
        if result.get("next_cursor"):
            kept = {k: v for k, v in form.items() if k not in ("cursor", "page", "lang") and v}
            ctx["next_url"] = "/search?" + urlencode({**kept, "cursor": result["next_cursor"], "page": page + 1})
    return render(request, "search.html", **ctx)
