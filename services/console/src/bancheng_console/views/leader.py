"""The leader's board: lights of open work orders for the city and each region, the three rates with their
rankings, hotspots, the weekly trend and the reports to download (all read with the leader's own key)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

import httpx
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from bancheng_console import board
from bancheng_console.api import ApiError
from bancheng_console.i18n import translator
from bancheng_console.session import Session
from bancheng_console.views.calls import place_name
from bancheng_console.web import api_error_page, console_of, error_page, lang_of, render, screen

router = APIRouter()
Leader = Annotated[Session, Depends(screen("board"))]


@router.get("/board")
async def leader_board(request: Request, session: Leader) -> Response:
    """The board. Lights: sla's running clocks (open rounds, place, deadline) joined to oversight's tier copies
    (red and yellow tickets); rates and rankings: oversight's overview of this month; trends: one overview a week."""
    console = console_of(request)
    s = console.settings
    key = session.identity.credential
    now = datetime.now(UTC)
    today = now.astimezone(console.tz).date()
    month = today.replace(day=1)
    weeks = board.weeks(today, s.board_weeks)
    api = console.api

    def overview(start: date, end: date) -> Any:
        return api.get("oversight", "/v1/stats/overview", key=key, params={"from": start.isoformat(),
                                                                            "to": end.isoformat()})

    try:
        clocks, red, yellow, current, hotspots, districts, *trend = await asyncio.gather(
            api.get("sla", "/v1/clocks", key=key, params={"state": "running", "limit": s.board_limit}),
            api.get("oversight", "/v1/copies", key=key, params={"purpose": "supervision", "limit": s.board_limit}),
            api.get("oversight", "/v1/copies", key=key,
                    params={"purpose": "joint_scheduling", "limit": s.board_limit}),
            overview(month, today),
            api.get("oversight", "/v1/hotspots", key=key, params={"from": month.isoformat(), "to": today.isoformat()}),
            api.get("triage", "/v1/units", key=key, params={"kind": "local_government", "level": 2, "limit": 5000}),
            *(overview(a, b) for a, b in weeks))
    except ApiError as exc:
        return api_error_page(request, exc)
    city, regions = board.lights(clocks.get("items", []), red + yellow, now, s.board_region_digits)
    names = {str(u.get("region_code", ""))[:s.board_region_digits]: place_name(u) for u in districts}
    rows = [(a, b, o["totals"]) for (a, b), o in zip(weeks, trend, strict=True)]
    lines = {rate: board.points([t.get(rate) for _, _, t in rows], 320, 100) for rate in board.RATES}
    return render(request, "board.html", session=session, city=city, regions=regions, names=names, overview=current,
                  month=month, today=today, hotspots=hotspots, weeks=rows, lines=lines, rates=board.RATES,
                  pct=board.percent, truncated=clocks.get("total", 0) > len(clocks.get("items", [])),
                  year=today.year - 1)


@router.get("/board/report")
async def report(request: Request, session: Leader,
                 start: Annotated[date, Query()],
                 period: Annotated[Literal["week", "month", "quarter", "year"], Query()] = "month",
                 format: Annotated[Literal["xlsx", "html"], Query()] = "xlsx") -> Response:
    """The period's report from oversight, passed through as the file it is (the key stays on the server)."""
    return await _file(request, session, "/v1/reports", {"period": period, "start": start.isoformat(),
                                                         "format": format})


@router.get("/board/assessment/{year}")
async def assessment(request: Request, session: Leader, year: int,
                     format: Annotated[Literal["xlsx", "csv"], Query()] = "xlsx") -> Response:
    """The yearly assessment table from oversight, passed through."""
    return await _file(request, session, f"/v1/assessment/{year}", {"format": format})


async def _file(request: Request, session: Session, path: str, params: dict[str, str]) -> Response:
    client = console_of(request).api.clients["oversight"]
    try:
        r = await client.get(path, params=params, headers={"Authorization": f"Bearer {session.identity.credential}"})
    except httpx.HTTPError:
        r = None
    if r is None or r.status_code >= 400:
        status = 503 if r is None or r.status_code >= 500 else r.status_code
        return error_page(request, status, translator(lang_of(request))("err.503" if status == 503 else "err.404"))
    keep = {k: v for k, v in r.headers.items() if k.lower() in ("content-type", "content-disposition")}
    return Response(r.content, status_code=200, headers=keep)
