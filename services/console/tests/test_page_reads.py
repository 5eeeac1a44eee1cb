"""How many reads a page makes with hundreds of items behind it: the work team's page reads the details of one page
of return requests, a few at a time (the services answer from httpx's mock transport here, each detail slowly)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from bancheng_console.main import create_app
from bancheng_console.session import SESSION_COOKIE, Identity
from bancheng_console.settings import ConsoleSettings

WAITING = 300  # return requests waiting for a ruling
DETAIL_S = 0.01  # how long one work order's read takes


async def test_the_team_page_reads_one_page_of_details_a_few_at_a_time(tmp_path: Path) -> None:
    seen = {"details": 0, "in_flight": 0, "most": 0}

    async def triage(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/work-orders":
            offset, limit = int(request.url.params.get("offset", 0)), int(request.url.params["limit"])
            return httpx.Response(200, json=[{"ticket_no": f"T{i:04d}", "state": "return_requested", "tier": "green"}
                                             for i in range(offset, min(offset + limit, WAITING))])
        seen["details"] += 1
        seen["in_flight"] += 1
        seen["most"] = max(seen["most"], seen["in_flight"])
        await asyncio.sleep(DETAIL_S)
        seen["in_flight"] -= 1
        no = request.url.path.rsplit("/", 1)[-1]
        return httpx.Response(200, json={"ticket_no": no, "tier": "green", "content": "…", "lead_unit": "U",
                                         "return_request": {"reason": f"reason of {no}", "basis": "basis"}})

    def empty(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": []} if request.url.path.startswith("/v1/extension") else [])

    transports: dict[str, httpx.AsyncBaseTransport] = {
        "triage": httpx.MockTransport(triage), "sla": httpx.MockTransport(empty),
        "oversight": httpx.MockTransport(empty), "intake": httpx.MockTransport(empty)}
    settings = ConsoleSettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'console.db'}", session_secret="s")
    app = create_app(settings, transports=transports)
    sessions = app.state.console.sessions
    await sessions.create_table()
    _s, cookie = await sessions.start(Identity(role="work_team", unit=None, name="专班", credential="k"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console") as client:
        client.cookies.set(SESSION_COOKIE, cookie)
        began = time.perf_counter()
        page = await client.get("/team")
        took = time.perf_counter() - began
        assert page.status_code == 200, page.text
        assert seen["details"] == settings.detail_page_size  # one page's worth, not all 300
        assert seen["most"] <= settings.api_concurrency
        assert "reason of T0000" in page.text and "reason of T0025" not in page.text
        assert f'href="/team?offset={settings.detail_page_size}"' in page.text
        # 25 reads of 10 ms, 8 at a time: about 4 rounds, far from 300 × 10 ms one after another
        assert took < WAITING * DETAIL_S / 2, took
        first = dict(seen)
        nxt = await client.get(f"/team?offset={settings.detail_page_size}")
        assert "reason of T0025" in nxt.text
    await sessions.engine.dispose()
    await app.state.console.api.close()
    print(f"team page: {first['details']} detail reads, at most {first['most']} at once, {took * 1000:.0f} ms")
