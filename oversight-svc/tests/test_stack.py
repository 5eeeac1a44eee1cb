"""Across services: a complaint about officials' inaction comes in at intake, triage makes it red and
dispatches it, and oversight opens a supervision case naming the unit and counts the dispatch."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from bancheng_services.demo import seed_directory
from bancheng_services.testing import Databases, auth, eventually, run_service


async def test_red_complaint_opens_case(databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> None:
    urls = {s: await databases.new(s) for s in ("intake", "triage", "oversight")}
    await seed_directory(urls["triage"])
    async with AsyncExitStack() as stack:
        svc = {s: await stack.enter_async_context(run_service(
            s, database_url=u, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix)) for s, u in urls.items()}
        r = await svc["intake"].client.post("/v1/tickets", headers=auth("operator"), json={
            "channel": "hotline", "content": "东湖区城关街道一家超市卖过期食品，市场监管所工作人员不作为，推诿扯皮",
            "location": {"region_code": "339901001"}})
        assert r.status_code == 201, r.text
        no = r.json()["ticket_no"]

        async def case() -> Any:
            rows = (await svc["oversight"].client.get("/v1/cases", params={"ticket_no": no},
                                                      headers=auth("inspector"))).json()
            return rows if rows and rows[0]["units"] else None

        c = (await eventually(case, timeout_s=30))[0]
        assert c["red"] is True and c["state"] == "opened" and "red_ticket" in c["sources"]
        unit = c["units"][0]
        stats = (await svc["oversight"].client.get("/v1/stats/units", params={
            "from": "2000-01-01", "to": "2100-01-01", "unit": unit}, headers=auth("leader"))).json()
        assert stats[0]["dispatched"] == 1 and stats[0]["supervised"] == 1
